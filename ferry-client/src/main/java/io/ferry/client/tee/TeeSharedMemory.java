package io.ferry.client.tee;

import java.lang.foreign.MemorySegment;

/**
 * Shared memory (TEEC_SharedMemory): allocated in the region heap, or registered. Registered memory that lies in
 * the region heap travels without a copy; other memory is shadowed by a heap block and copied around each call (as
 * libteec shadows unaligned buffers). Flags: {@link #INPUT}, {@link #OUTPUT} or both. Close it to release it.
 */
public final class TeeSharedMemory implements AutoCloseable {
    public static final int INPUT = 0x1;
    public static final int OUTPUT = 0x2;

    private final TeeContext context;
    private final long handle;
    private final int flags;
    private final long size;
    private final MemorySegment segment;
    private final TeeTransport.HeapMemory block;
    private final long heapOffset;
    private final boolean shadowed;
    private boolean released;

    TeeSharedMemory(TeeContext context, long handle, int flags, long size, MemorySegment segment,
                    TeeTransport.HeapMemory block, long heapOffset, boolean shadowed) {
        this.context = context;
        this.handle = handle;
        this.flags = flags;
        this.size = size;
        this.segment = segment;
        this.block = block;
        this.heapOffset = heapOffset;
        this.shadowed = shadowed;
    }

    /** The memory the application reads and writes. */
    public MemorySegment segment() {
        return segment;
    }

    public long size() {
        return size;
    }

    public int flags() {
        return flags;
    }

    /** Whether calls copy this memory through a heap shadow (registered memory outside the region heap). */
    public boolean shadowed() {
        return shadowed;
    }

    long handle() {
        return handle;
    }

    TeeContext context() {
        return context;
    }

    long heapOffset() {
        return heapOffset;
    }

    /** The heap copy calls use for shadowed memory. */
    MemorySegment shadow() {
        return block.segment();
    }

    synchronized boolean released() {
        return released;
    }

    /** TEEC_ReleaseSharedMemory. Never throws; a second call does nothing. */
    @Override
    public void close() {
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
        }
        context.release(this);
        TeeContext.closeQuietly(block);
    }
}
