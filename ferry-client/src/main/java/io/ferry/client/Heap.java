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

    Heap(MemorySegment memory) {
        this.memory = memory;
        free.put(0L, memory.byteSize());
    }

    /** Allocates {@code bytes} with the default alignment for that size. */
    public HeapBlock allocate(long bytes) {
        return allocate(bytes, bytes >= LARGE_BLOCK ? LARGE_ALIGNMENT : SMALL_ALIGNMENT);
    }

    /** Allocates {@code bytes} aligned to {@code alignment} (a power of two, at least 64). */
    public synchronized HeapBlock allocate(long bytes, long alignment) {
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
                return new HeapBlock(this, aligned, memory.asSlice(aligned, bytes));
            }
        }
        throw new FerryException(Status.QUOTA_EXCEEDED, "heap exhausted: " + bytes + " bytes requested, "
                + (memory.byteSize() - usedBytes) + " of " + memory.byteSize()
                + " bytes free (fragmented); free heap blocks or provision the guest with a larger region");
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

    /** Whether {@code segment} lies inside the heap; if so returns its heap offset, else -1. */
    long offsetOf(MemorySegment segment) {
        if (segment.isNative() && memory.isNative()) {
            long off = segment.address() - memory.address();
            if (off >= 0 && segment.byteSize() <= memory.byteSize() - off) {
                return off;
            }
        }
        return -1;
    }

    public long capacity() {
        return memory.byteSize();
    }

    public synchronized long usedBytes() {
        return usedBytes;
    }
}
