package io.ferry.client;

import java.lang.foreign.MemorySegment;

/**
 * A block of the region heap: memory both the guest and the host map, so data moves to and from the device without
 * passing through a ring. Close it to give the space back.
 */
public final class HeapBlock implements AutoCloseable {
    private final Heap heap;
    private final long offset;
    private final MemorySegment segment;
    private boolean freed;

    HeapBlock(Heap heap, long offset, MemorySegment segment) {
        this.heap = heap;
        this.offset = offset;
        this.segment = segment;
    }

    /** The block's memory. Do not use it after {@link #close()}. */
    public MemorySegment segment() {
        return segment;
    }

    /** Offset of the block within the heap (what travels on the wire). */
    public long offset() {
        return offset;
    }

    public long size() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (freed) {
                return;
            }
            freed = true;
        }
        heap.free(offset);
    }
}
