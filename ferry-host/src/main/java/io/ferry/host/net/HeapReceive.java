package io.ferry.host.net;

import io.ferry.protocol.StreamFrame;
import io.netty.buffer.ByteBuf;
import java.lang.foreign.MemorySegment;

/**
 * A stream connection's HEAP payloads on their way into the lane's heap (event loop only). Once a HEAP frame's header
 * and offset are in and checked ({@link #start}), its payload goes to its place in the heap as it arrives
 * ({@link #take}) instead of waiting whole in the connection's buffer and being copied from there.
 *
 * <p>Reading the socket straight into the heap (a Netty receive-buffer allocator that handed the socket a buffer
 * over that place, so the kernel's copy was the only one) was built and measured: in three alternating quick runs
 * of {@code ./ferry bench net} the plain 64 MiB write came out at 2.52 GB/s median with it and 2.72 without, so it
 * was left out (docs/benchmarks.md, "net").
 */
final class HeapReceive {
    /** The rest of the payload being received (null: none). */
    private MemorySegment rest;

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
        MemorySegment.copy(MemorySegment.ofBuffer(in.nioBuffer(in.readerIndex(), n)), 0, rest, 0, n);
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
    }
}
