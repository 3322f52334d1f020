package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The path between device buffers and memory outside the region heap (Java arrays, {@code ByteBuffer}s, ordinary
 * native memory): through heap blocks, in pipelined chunks, so a transfer of any size works with a heap of any
 * size. One per {@link CommandQueue}; thread-safe.
 *
 * <p><b>Why it is shaped this way.</b> The host moves data only between the heap and the device (a transfer names
 * a heap offset), and the heap is fixed when the guest is provisioned (16 to 64 MiB is usual), so a transfer
 * larger than the free heap must be cut into chunks. A transfer takes up to {@link #MAX_BLOCKS} blocks of one chunk
 * size, chosen from the free heap at the call: at most {@link #MAX_CHUNK}, and all blocks together at most half
 * of what is free, so the application's own allocations still find room. Chunk {@code i} goes through block
 * {@code i mod k}; before a block is used again the call waits for the event of the chunk that used it last, so
 * the guest copies chunk {@code i+1} while the device consumes chunk {@code i}. Only a chunk whose block will be
 * reused carries an event: a transfer of at most {@code k} chunks is plain one-way calls and never waits.
 *
 * <p><b>Finish.</b> The blocks of a transfer's last chunks stay in use until the queue's next finish; a read's last
 * chunks are copied to their destination there, before {@link CommandQueue#finish()} returns, so a read means one
 * thing whatever its destination: the data is valid after finish. What a finish settles is taken ({@link #take})
 * before the FINISH is sent, so a transfer another thread enqueues meanwhile waits for the next finish. A transfer
 * finishes the queue itself every {@link #FINISH_EVERY} chunks (the host counts each chunk against the session's
 * commands-in-flight quota until a finish), and once when the heap is too full for a block while this queue holds
 * staging blocks of its own.
 *
 * <p><b>Debug mode</b> ({@link Ferry#debug}): every read's destination is recorded until the finish that completes
 * it, and the queue's own calls that read or fill memory ({@code write}, {@code read}, {@code fill}) refuse memory
 * that overlaps one ({@link #checkNotPending}). Plain accesses of a segment cannot be trapped in Java.
 */
final class Staging {
    /** The largest chunk. */
    static final long MAX_CHUNK = 8L << 20;
    /** The smallest chunk a transfer accepts before it reports the heap full. */
    static final long MIN_CHUNK = 64L << 10;
    /** Blocks (chunks in flight) of one transfer. */
    static final int MAX_BLOCKS = 4;
    /** Chunks of one transfer between two finishes of the queue. */
    static final int FINISH_EVERY = 256;

    private final Heap heap;
    // guarded by this
    private List<HeapBlock> blocks = new ArrayList<>();
    private List<CopyOut> copyOuts = new ArrayList<>();
    private List<PendingRead> pending = new ArrayList<>();

    /**
     * The staging state of one queue. It never references the queue (each call is given it): the queue's cleaner
     * holds this state to free the blocks of a queue that died unclosed (see {@link Lifetimes}).
     */
    Staging(Heap heap) {
        this.heap = heap;
    }

    /** What one finish settles: the staging blocks to free and the staged reads to copy out. */
    record Batch(List<HeapBlock> blocks, List<CopyOut> copyOuts) {
        static final Batch EMPTY = new Batch(List.of(), List.of());

        /** After the FINISH: copies the staged reads out if it succeeded, then frees the blocks. */
        void settle(boolean finished) {
            try {
                if (finished) {
                    for (CopyOut c : copyOuts) {
                        c.to.copyFrom(c.from);
                    }
                }
            } finally {
                for (HeapBlock b : blocks) {
                    b.close();
                }
            }
        }
    }

    private record CopyOut(MemorySegment from, MemorySegment to) {
    }

    private record PendingRead(MemorySegment target, long buffer, long offset) {
    }

    /** Takes what the next FINISH settles; call before sending it. */
    synchronized Batch take() {
        if (blocks.isEmpty() && copyOuts.isEmpty() && pending.isEmpty()) {
            return Batch.EMPTY;
        }
        Batch b = new Batch(blocks, copyOuts);
        blocks = new ArrayList<>();
        copyOuts = new ArrayList<>();
        pending = new ArrayList<>();
        return b;
    }

    /**
     * The heap offset of {@code src} for a one-way command: in place where it is heap memory (pinned in
     * {@code pins}), else a staging block's, with {@code src} copied in and the block kept until the next finish.
     */
    long stage(MemorySegment src, Pins pins) {
        long heapOffset = heap.offsetOf(src);
        if (heapOffset >= 0) {
            pins.pin(heapOffset);
            return heapOffset;
        }
        HeapBlock block = heap.allocateStaging(src.byteSize());
        block.segment().copyFrom(src);
        keepUntilFinish(block);
        return block.offset();
    }

    /** Keeps {@code block} (a one-block staging of a {@code ...WithEvent} write) until the next finish frees it. */
    synchronized void keepUntilFinish(HeapBlock block) {
        blocks.add(block);
    }

    /** Keeps {@code block} until the next finish, which first copies its bytes into {@code to} (a staged read). */
    synchronized void copyOutAtFinish(HeapBlock block, MemorySegment to) {
        blocks.add(block);
        copyOuts.add(new CopyOut(block.segment(), to));
    }

    /** Whether a finish has staging blocks to free. */
    synchronized boolean holdsAny() {
        return !blocks.isEmpty();
    }

    /** Writes {@code src} (not heap memory) into {@code buffer} at byte {@code offset}, through staging blocks. */
    void write(CommandQueue queue, DeviceBuffer buffer, long offset, MemorySegment src) {
        long n = src.byteSize();
        checkRange("write", buffer, offset, n);
        checkNotPending(queue, src, "write from");
        List<HeapBlock> ring = allocate(queue, n, "write");
        int k = ring.size();
        long chunk = ring.getFirst().size();
        long count = (n + chunk - 1) / chunk;
        Event[] events = new Event[k];
        long sent = 0;
        try {
            for (long i = 0; i < count; i++, sent++) {
                int slot = (int) (i % k);
                reuse(queue, i, events, slot);
                HeapBlock b = ring.get(slot);
                long at = i * chunk;
                long len = Math.min(chunk, n - at);
                MemorySegment.copy(src, at, b.segment(), 0, len);
                events[slot] = send(queue, new Calls.BufferWrite(), buffer, offset + at, len, b.offset(),
                        i + k < count);
            }
        } finally {
            release(events);
            keep(ring, sent, List.of());
        }
    }

    /**
     * Reads {@code dst.byteSize()} bytes of {@code buffer} from byte {@code offset} into {@code dst} (not heap
     * memory), through staging blocks: chunks whose block is reused are copied out here, the last ones at finish.
     */
    void read(CommandQueue queue, DeviceBuffer buffer, long offset, MemorySegment dst) {
        long n = dst.byteSize();
        checkRange("read", buffer, offset, n);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read of " + n + " bytes from buffer " + buffer.handle
                    + ": the destination is read-only memory; pass writable memory");
        }
        checkNotPending(queue, dst, "read into");
        List<HeapBlock> ring = allocate(queue, n, "read");
        int k = ring.size();
        long chunk = ring.getFirst().size();
        long count = (n + chunk - 1) / chunk;
        Event[] events = new Event[k];
        List<CopyOut> tail = new ArrayList<>(k);
        long sent = 0;
        try {
            for (long i = 0; i < count; i++, sent++) {
                int slot = (int) (i % k);
                HeapBlock b = ring.get(slot);
                if (reuse(queue, i, events, slot)) {
                    // the chunk that used this block last, a full one
                    MemorySegment.copy(b.segment(), 0, dst, (i - k) * chunk, chunk);
                }
                long at = i * chunk;
                events[slot] = send(queue, new Calls.BufferRead(), buffer, offset + at, Math.min(chunk, n - at),
                        b.offset(), i + k < count);
            }
            for (long i = Math.max(0, count - k); i < count; i++) {
                long len = Math.min(chunk, n - i * chunk);
                tail.add(new CopyOut(ring.get((int) (i % k)).segment().asSlice(0, len), dst.asSlice(i * chunk, len)));
            }
        } finally {
            release(events);
            keep(ring, sent, tail);
        }
        pendingRead(queue, dst, buffer, offset);
    }

    /**
     * Before chunk {@code i} uses the block in {@code slot}: waits for the chunk that used it last, if any, and
     * finishes the queue every {@link #FINISH_EVERY} chunks. True if the block held an earlier chunk.
     */
    private static boolean reuse(CommandQueue queue, long i, Event[] events, int slot) {
        if (i > 0 && i % FINISH_EVERY == 0) {
            queue.finish();
        }
        Event e = events[slot];
        if (e == null) {
            return false;
        }
        events[slot] = null;
        try {
            e.await();
        } catch (FerryException failed) {
            // A chunk the host refused made no event: the queue's own error names the call that failed.
            queue.finish();
            throw failed;
        } finally {
            e.close();
        }
        return true;
    }

    private static <V extends Calls.Transfer<V>> Event send(CommandQueue queue, V call, DeviceBuffer buffer,
                                                             long offset, long size, long heapOffset,
                                                             boolean withEvent) {
        Ferry ferry = queue.ferry;
        long event = withEvent ? ferry.newHandle() : 0;
        queue.channel().oneWay(call, false, c -> c.queue(queue.handle).buffer(buffer.handle).offset(offset)
                .size(size).heapOffset(heapOffset).event(event));
        return withEvent ? new Event(ferry, event) : null;
    }

    /**
     * After a transfer: its blocks wait for the next finish, with the copies its read still owes; a transfer that
     * failed before sending anything gives them back at once.
     */
    private void keep(List<HeapBlock> ring, long sent, List<CopyOut> tail) {
        if (sent == 0) {
            for (HeapBlock b : ring) {
                b.close();
            }
            return;
        }
        synchronized (this) {
            blocks.addAll(ring);
            copyOuts.addAll(tail);
        }
    }

    private static void release(Event[] events) {
        for (Event e : events) {
            if (e != null) {
                e.close();
            }
        }
    }

    /**
     * The blocks of one transfer of {@code n} bytes: one of {@code n} bytes if that is a chunk, else up to
     * {@link #MAX_BLOCKS} of one chunk size (fewer, or smaller, where the heap is fragmented).
     */
    private List<HeapBlock> allocate(CommandQueue queue, long n, String call) {
        boolean reclaimed = false;
        while (true) {
            long free = heap.capacity() - heap.usedBytes();
            long smallest = Math.min(n, MIN_CHUNK);
            long size = Math.min(n, Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, free / (2 * MAX_BLOCKS))
                    & -Heap.LARGE_ALIGNMENT));
            HeapBlock first = tryAllocate(heap, size);
            while (first == null && size > smallest) {
                size = Math.max(smallest, (size / 2 + Heap.SMALL_ALIGNMENT - 1) & -Heap.SMALL_ALIGNMENT);
                first = tryAllocate(heap, size);
            }
            if (first == null) {
                boolean holding;
                synchronized (this) {
                    holding = !blocks.isEmpty();
                }
                if (holding && !reclaimed) {
                    reclaimed = true;
                    queue.finish(); // frees this queue's staging blocks
                    continue;
                }
                throw new FerryException(Status.QUOTA_EXCEEDED, call + " of " + HeapFigures.bytes(n) + " from memory "
                        + "outside the heap: no room in the heap for a staging block of " + HeapFigures.bytes(smallest)
                        + " (" + HeapFigures.bytes(heap.capacity() - heap.usedBytes()) + " of "
                        + HeapFigures.bytes(heap.capacity()) + " free); close heap blocks you no longer need, finish "
                        + "queues that hold staged transfers, or provision the guest with a larger region");
            }
            List<HeapBlock> ring = new ArrayList<>(MAX_BLOCKS);
            ring.add(first);
            long count = (n + size - 1) / size;
            while (ring.size() < Math.min(MAX_BLOCKS, count)) {
                HeapBlock b = tryAllocate(heap, size);
                if (b == null) {
                    break;
                }
                ring.add(b);
            }
            return ring;
        }
    }

    private static HeapBlock tryAllocate(Heap heap, long size) {
        try {
            return heap.allocateStaging(size);
        } catch (FerryException full) {
            if (full.status() != Status.QUOTA_EXCEEDED) {
                throw full;
            }
            return null;
        }
    }

    private static void checkRange(String call, DeviceBuffer buffer, long offset, long n) {
        if (offset < 0 || n <= 0 || n > buffer.size() - offset) {
            throw new FerryException(Status.OUT_OF_RANGE, call + " of " + n + " bytes at offset " + offset
                    + " of buffer " + buffer.handle + " (" + buffer.size() + " bytes): the range must be non-empty "
                    + "and inside the buffer");
        }
    }

    /** In debug mode: records that {@code target} is valid only after the next finish. */
    void pendingRead(CommandQueue queue, MemorySegment target, DeviceBuffer buffer, long offset) {
        if (queue.ferry.debugging()) {
            synchronized (this) {
                pending.add(new PendingRead(target, buffer.handle, offset));
            }
        }
    }

    /**
     * In debug mode: throws {@link IllegalStateException} if {@code memory} overlaps the destination of a read of
     * this queue that no finish has completed yet ({@code use} says what the caller was about to do).
     */
    void checkNotPending(CommandQueue queue, MemorySegment memory, String use) {
        if (!queue.ferry.debugging()) {
            return;
        }
        synchronized (this) {
            for (PendingRead p : pending) {
                if (overlaps(p.target, memory)) {
                    throw new IllegalStateException("debug: " + use + " " + describe(memory) + " overlaps the "
                            + "destination of an unfinished read (BUFFER_READ of " + p.target.byteSize()
                            + " bytes from buffer " + p.buffer + " at offset " + p.offset + " on queue "
                            + queue.handle + "): that memory is valid only after finish(); call finish() first");
                }
            }
        }
    }

    private static boolean overlaps(MemorySegment a, MemorySegment b) {
        if (a.isNative() != b.isNative()) {
            return false;
        }
        // A heap segment's address is its offset in its array: compare arrays first (a read-only view hides its
        // array, so it cannot be matched).
        if (!a.isNative() && (a.heapBase().isEmpty() || a.heapBase().get() != b.heapBase().orElse(null))) {
            return false;
        }
        return a.address() < b.address() + b.byteSize() && b.address() < a.address() + a.byteSize();
    }

    private static String describe(MemorySegment m) {
        return m.isNative() ? "memory [0x" + Long.toHexString(m.address()) + ", " + m.byteSize() + " bytes)"
                : "array " + m.heapBase().map(Object::getClass).map(Class::getSimpleName).orElse("(read-only)")
                + " at byte " + m.address() + ", " + m.byteSize() + " bytes";
    }

    /** {@code count} elements of {@code elementBytes} from index {@code from} of an array's segment. */
    static MemorySegment elements(MemorySegment array, int from, int count, int elementBytes) {
        Objects.checkFromIndexSize(from, count, (int) (array.byteSize() / elementBytes));
        return array.asSlice((long) from * elementBytes, (long) count * elementBytes);
    }
}
