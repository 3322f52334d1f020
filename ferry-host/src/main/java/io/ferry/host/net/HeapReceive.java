package io.ferry.host.net;

import io.ferry.protocol.StreamFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import java.lang.foreign.MemorySegment;

/**
 * A stream connection's HEAP payloads on their way into the lane's heap (event loop only). Once a HEAP frame's header
 * and offset are in and checked ({@link #start}), its payload goes to its place in the heap as it arrives
 * ({@link #take}) instead of waiting whole in the connection's buffer. As the channel's receive-buffer allocator
 * (plain sockets only: a TLS connection reads ciphertext), it also hands the socket a buffer over that place
 * ({@link #alias}), so the bytes are copied once, by the kernel; otherwise Netty's adaptive buffers, as by default.
 *
 * <p>The place is the one the frame's checked offset and length name, inside this connection's lane, and the bytes
 * land exactly where copying them would have put them. The mapping stays mapped until the channel has closed
 * ({@link StreamConnection#departed}), so no read of this channel can reach memory the host has unmapped.
 */
final class HeapReceive implements RecvByteBufAllocator {
    private final RecvByteBufAllocator normal = new AdaptiveRecvByteBufAllocator();
    /** The rest of the payload being received (null: none). */
    private MemorySegment rest;
    /** The buffer {@link #alias} last handed out over {@link #rest}. */
    private ByteBuf alias;

    /** Whether a payload is being received: every byte that comes next is its, until it is whole. */
    boolean active() {
        return rest != null;
    }

    /** A whole HEAP frame's payload {@code p} (the heap offset, then the bytes): checked, then written. */
    static void whole(LaneMirror lane, MemorySegment p) {
        long offset = StreamFrame.heapOffset(p);
        MemorySegment.copy(p, 8, target(lane, offset, p.byteSize() - 8), 0, p.byteSize() - 8);
    }

    /** Where a HEAP frame's {@code n} bytes for heap offset {@code offset} go, once both are checked. */
    private static MemorySegment target(LaneMirror lane, long offset, long n) {
        if (n < 1 || n > StreamFrame.MAX_CHUNK) {
            throw new StreamFrame.Malformed("HEAP of " + n + " bytes (1 to " + StreamFrame.MAX_CHUNK + ")");
        }
        if (!lane.inHeap(offset, n)) {
            throw new StreamFrame.Malformed("HEAP of " + n + " bytes at " + offset + " is outside the lane's heap "
                    + "slice (" + lane.heap.byteSize() + " bytes)");
        }
        return lane.heap.asSlice(offset, n);
    }

    /**
     * A HEAP frame of {@code length} bytes at the start of {@code buffered} that has not all arrived (so nothing
     * follows it there): once its heap offset is in, the frame is checked, and its payload goes to the heap from
     * now on, starting with what is buffered, which this takes (and releases). False when the offset is not in yet.
     */
    boolean start(LaneMirror lane, ByteBuf buffered, int length) {
        if (buffered.readableBytes() < StreamFrame.HEADER_LENGTH + 8) {
            return false;
        }
        long offset = buffered.getLongLE(buffered.readerIndex() + StreamFrame.HEADER_LENGTH);
        rest = target(lane, offset, length - StreamFrame.HEADER_LENGTH - 8L);
        buffered.skipBytes(StreamFrame.HEADER_LENGTH + 8);
        take(buffered);
        return true;
    }

    /**
     * Puts the start of {@code in} into the payload being received; returns what follows the payload, or null when
     * {@code in} is used up (and released).
     */
    ByteBuf take(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), rest.byteSize());
        if (in != alias) {
            MemorySegment.copy(MemorySegment.ofBuffer(in.nioBuffer(in.readerIndex(), n)), 0, rest, 0, n);
        } // else the socket read it into its place
        alias = null;
        in.skipBytes(n);
        rest = n == rest.byteSize() ? null : rest.asSlice(n);
        if (!in.isReadable()) {
            in.release();
            return null;
        }
        return in;
    }

    /** The connection has ended: nothing more goes to the heap. */
    void end() {
        rest = null;
        alias = null;
    }

    /** A buffer over the rest of the payload, for the socket to read into; null when none is being received. */
    private ByteBuf alias() {
        if (rest == null) {
            return null;
        }
        alias = Unpooled.wrappedBuffer(rest.asByteBuffer()).clear();
        return alias;
    }

    @Override
    public Handle newHandle() {
        ExtendedHandle d = (ExtendedHandle) normal.newHandle();
        return new ExtendedHandle() {
            @Override
            public ByteBuf allocate(ByteBufAllocator alloc) {
                ByteBuf heap = alias();
                return heap != null ? heap : d.allocate(alloc);
            }

            @Override
            public int guess() {
                return d.guess();
            }

            @Override
            public void reset(ChannelConfig config) {
                d.reset(config);
            }

            @Override
            public void incMessagesRead(int n) {
                d.incMessagesRead(n);
            }

            @Override
            public void lastBytesRead(int n) {
                d.lastBytesRead(n);
            }

            @Override
            public int lastBytesRead() {
                return d.lastBytesRead();
            }

            @Override
            public void attemptedBytesRead(int n) {
                d.attemptedBytesRead(n);
            }

            @Override
            public int attemptedBytesRead() {
                return d.attemptedBytesRead();
            }

            @Override
            public boolean continueReading() {
                return d.continueReading();
            }

            @Override
            public boolean continueReading(UncheckedBooleanSupplier more) {
                return d.continueReading(more);
            }

            @Override
            public void readComplete() {
                d.readComplete();
            }
        };
    }
}
