package io.ferry.client;

import io.ferry.client.tee.TeeTransport;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;

/**
 * {@link TeeTransport} over one connection: its channel and its heap. One per connection
 * ({@link Ferry#teeTransport()}), so what the TEE client remembers of a transport (a host that refuses direct lanes)
 * it remembers per connection.
 */
final class ConnectionTeeTransport implements TeeTransport {
    private final Ferry ferry;
    /** The channel itself, for {@link #checkAlive} ({@link Ferry#channel()} also sends pending releases). */
    private final Channel channel;

    /** What the host said it speaks in HELLO ({@link Wire#CAP_TEE_DIRECT}: it knows TEE_DIRECT). */
    private final long hostCapabilities;

    ConnectionTeeTransport(Ferry ferry, Channel channel, long hostCapabilities) {
        this.ferry = ferry;
        this.channel = channel;
        this.hostCapabilities = hostCapabilities;
    }

    @Override
    public Reply call(Op op, byte[] blob, long... args) {
        checkArgs(op, args);
        Channel.Completion c = ferry.channel().call(CallRecord.of(op), blob, r -> putArgs(op, r, args));
        return new Reply(c.r0(), c.r1(), c.r2(), c.r3(), c.blob());
    }

    @Override
    public void send(Op op, long... args) {
        checkArgs(op, args);
        ferry.channel().oneWay(CallRecord.of(op), false, r -> putArgs(op, r, args));
    }

    @Override
    public HeapMemory allocate(long bytes) {
        return heapMemory(ferry.heap().allocate(bytes));
    }

    @Override
    public HeapMemory allocateStaging(long bytes) {
        return heapMemory(ferry.heap().allocateStaging(bytes));
    }

    @Override
    public boolean isOpen() {
        return !ferry.isClosed();
    }

    /**
     * A process guest's own mapping of its region (not a stream's mirror, not a VM's BAR: the host refuses those), on
     * a host that knows TEE_DIRECT (an older one would take the unknown call for a protocol violation).
     */
    @Override
    public boolean sharesHeap() {
        return ferry.stream() == null && ferry.vmInterrupts() == null
                && (hostCapabilities & Wire.CAP_TEE_DIRECT) != 0;
    }

    @Override
    public void checkAlive() {
        channel.checkAlive();
    }

    @Override
    public long heapOffset(MemorySegment s) {
        return ferry.heap().offsetOf(s);
    }

    private static HeapMemory heapMemory(HeapBlock b) {
        return new HeapMemory() {
            @Override
            public long offset() {
                return b.offset();
            }

            @Override
            public MemorySegment segment() {
                return b.segment();
            }

            @Override
            public void close() {
                b.close();
            }
        };
    }

    private static void checkArgs(Op op, long[] args) {
        if (args.length != op.argCount()) {
            throw new IllegalArgumentException(op + " takes " + op.argCount() + " arguments, got " + args.length);
        }
    }

    /** Writes {@code args} by index: for the calls without a named view (the TEE's, whose layout is TeeWire's). */
    private static void putArgs(Op op, CallRecord r, long[] args) {
        for (int i = 0; i < op.argCount(); i++) {
            r.arg(i, args[i]);
        }
    }
}
