package io.ferry.client;

import io.ferry.client.tee.TeeTransport;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;

/** {@link TeeTransport} over one connection: its channel and its heap. */
final class ConnectionTeeTransport implements TeeTransport {
    private final Ferry ferry;

    ConnectionTeeTransport(Ferry ferry) {
        this.ferry = ferry;
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
