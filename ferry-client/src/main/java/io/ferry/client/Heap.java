package io.ferry.client;

import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guest's allocator over the region heap. Thread-safe. First fit over an address-ordered free list; freed
 * blocks coalesce with their neighbours so space is reused. Blocks are 64-byte aligned (a cache line), and blocks
 * of 64 KiB or more are 4 KiB aligned (pages, what DMA registration likes).
 */
public final class Heap {
    public static final long SMALL_ALIGNMENT = 64;
    public static final long LARGE_ALIGNMENT = 4096;
    public static final long LARGE_BLOCK = 64 * 1024;

    private final MemorySegment memory;
    /** Free ranges: offset → size. */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    /** Allocated blocks: offset → size actually taken (for free and accounting). */
    private final TreeMap<Long, Long> used = new TreeMap<>();
    /**
     * Blocks that one-way transfers still use (offset → count): closing such a block defers the free until every
     * queue that used it has finished, so a closed block is never handed out while the device may still touch it.
     */
    private final Map<Long, Integer> pins = new HashMap<>();
    private final java.util.Set<Long> freeWhenUnpinned = new java.util.HashSet<>();
    private long usedBytes;
    /** Kinds warned about already (see {@link Lifetimes#warnOnce}). */
    private final java.util.Set<String> warned = java.util.concurrent.ConcurrentHashMap.newKeySet();

    Heap(MemorySegment memory) {
        this.memory = memory;
        free.put(0L, memory.byteSize());
    }

    /** Allocates {@code bytes} with the default alignment for that size. */
    public HeapBlock allocate(long bytes) {
        return allocate(bytes, bytes >= LARGE_BLOCK ? LARGE_ALIGNMENT : SMALL_ALIGNMENT);
    }

    /**
     * Allocates {@code bytes} aligned to {@code alignment} (a power of two, at least 64). The block's segment is
     * scoped: after {@link HeapBlock#close()} any use of it throws {@link IllegalStateException}.
     *
     * @throws FerryException QUOTA_EXCEEDED when no free range fits; the message says whether the block can never fit
     *                        the heap, the heap is full, or its free space is fragmented
     */
    public HeapBlock allocate(long bytes, long alignment) {
        return allocate(bytes, alignment, true);
    }

    /**
     * A block for Ferry's own staging, which never leaves this library: its segment is not scoped, so freeing it costs
     * no arena close (see {@link HeapBlock#HeapBlock}). Same allocation and close semantics otherwise.
     */
    HeapBlock allocateStaging(long bytes) {
        return allocate(bytes, bytes >= LARGE_BLOCK ? LARGE_ALIGNMENT : SMALL_ALIGNMENT, false);
    }

    private synchronized HeapBlock allocate(long bytes, long alignment, boolean scoped) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("heap allocation of " + bytes + " bytes: size must be positive");
        }
        if (Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        alignment = Math.max(alignment, SMALL_ALIGNMENT);
        long size = (bytes + SMALL_ALIGNMENT - 1) & -SMALL_ALIGNMENT;
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long start = e.getKey();
            long len = e.getValue();
            long aligned = (start + alignment - 1) & -alignment;
            if (aligned - start + size <= len) {
                free.remove(start);
                if (aligned > start) {
                    free.put(start, aligned - start);
                }
                long end = aligned + size;
                if (start + len > end) {
                    free.put(end, start + len - end);
                }
                used.put(aligned, size);
                usedBytes += size;
                return new HeapBlock(this, aligned, memory.asSlice(aligned, bytes), scoped);
            }
        }
        throw new FerryException(Status.QUOTA_EXCEEDED, exhausted(bytes, size, alignment));
    }

    /** Why {@code bytes} (taking {@code size} with alignment) did not fit: never, not now, or not in one piece. */
    private String exhausted(long bytes, long size, long alignment) {
        long capacity = memory.byteSize();
        String asked = "heap allocation of " + HeapFigures.bytes(bytes) + ": ";
        if (size > capacity) {
            return asked + "the heap is " + HeapFigures.bytes(capacity) + ", so a block of " + HeapFigures.bytes(bytes)
                    + " can never fit; use non-heap memory (CommandQueue.write and read stage it through the heap in "
                    + "chunks) or provision the guest with a larger region (./ferry guest add NAME --region-size "
                    + HeapFigures.suggestedRegion(size) + "; the heap is the region less its header and rings)";
        }
        long freeBytes = capacity - usedBytes;
        String figures = HeapFigures.bytes(usedBytes) + " of the " + HeapFigures.bytes(capacity) + " heap in use in "
                + used.size() + " blocks (" + pins.size() + " held by unfinished transfers), "
                + HeapFigures.bytes(freeBytes) + " free";
        if (size > freeBytes) {
            return asked + "the heap is exhausted: " + figures + "; close heap blocks you no longer need (try-with-resources), finish queues "
                    + "whose transfers hold closed blocks, or provision the guest with a larger region "
                    + "(./ferry guest add NAME --region-size ...)";
        }
        long largest = 0;
        for (long len : free.values()) {
            largest = Math.max(largest, len);
        }
        return asked + figures + " but fragmented: the largest free range is " + HeapFigures.bytes(largest)
                + " (a " + alignment + "-byte aligned block of " + HeapFigures.bytes(size) + " does not fit in any); "
                + "close long-lived blocks or allocate them first, or use smaller blocks";
    }

    synchronized void free(long offset) {
        if (pins.containsKey(offset)) {
            freeWhenUnpinned.add(offset);
            return;
        }
        release(offset);
    }

    /** Marks the block holding heap offset {@code at} as in use by an unfinished transfer; returns its key or -1. */
    synchronized long pin(long at) {
        Map.Entry<Long, Long> e = used.floorEntry(at);
        if (e == null || at >= e.getKey() + e.getValue()) {
            return -1;
        }
        pins.merge(e.getKey(), 1, Integer::sum);
        return e.getKey();
    }

    /** Undoes one {@link #pin}; frees the block if it was closed meanwhile. */
    synchronized void unpin(long block) {
        Integer n = pins.get(block);
        if (n == null) {
            return;
        }
        if (n > 1) {
            pins.put(block, n - 1);
            return;
        }
        pins.remove(block);
        if (freeWhenUnpinned.remove(block)) {
            release(block);
        }
    }

    private void release(long offset) {
        Long size = used.remove(offset);
        if (size == null) {
            throw new IllegalStateException("heap block at " + offset + " is not allocated");
        }
        usedBytes -= size;
        long start = offset;
        long end = offset + size;
        Map.Entry<Long, Long> before = free.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            start = before.getKey();
            free.remove(start);
        }
        Long after = free.get(end);
        if (after != null) {
            free.remove(end);
            end += after;
        }
        free.put(start, end - start);
    }

    /**
     * Whether {@code segment} lies inside the heap; if so returns its heap offset, else -1. Compares addresses, so a
     * heap block's scoped segment and its slices are found.
     *
     * @throws IllegalStateException if the segment is in the heap but its block was closed
     */
    long offsetOf(MemorySegment segment) {
        if (segment.isNative() && memory.isNative()) {
            long off = segment.address() - memory.address();
            if (off >= 0 && segment.byteSize() <= memory.byteSize() - off) {
                if (!segment.scope().isAlive()) {
                    throw new IllegalStateException("the segment at heap offset " + off + " belongs to a closed heap "
                            + "block: its space may already hold another block; keep the block open while you use it");
                }
                return off;
            }
        }
        return -1;
    }

    /** Called by the cleaner thread: the block at {@code offset} became unreachable unclosed. */
    void unreachable(long offset) {
        Lifetimes.warnOnce(warned, "HeapBlock", "(heap offset " + offset + ")");
        free(offset);
    }

    /** Size of the heap in bytes. */
    public long capacity() {
        return memory.byteSize();
    }

    /** Bytes held by blocks, including closed blocks that unfinished transfers still use. */
    public synchronized long usedBytes() {
        return usedBytes;
    }
}
