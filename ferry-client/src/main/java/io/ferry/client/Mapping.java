package io.ferry.client;

import java.lang.foreign.MemorySegment;

/**
 * A range of a {@link DeviceBuffer} mapped into the guest heap ({@code clEnqueueMapBuffer}), from
 * {@link CommandQueue#map}. Its {@link #segment()} holds the buffer's data once the queue is finished (as a
 * {@code read} into heap memory does); {@link #close()} ({@code clEnqueueUnmapMemObject}) writes the segment back
 * when the mapping was made for writing, on the same queue, and ends the mapping.
 *
 * <p><b>Zero copy only for heap-backed buffers.</b> For a buffer made over a heap block
 * ({@link Context#createBuffer(HeapBlock, DeviceBuffer.Access)}) the segment is the block's own memory: no staging
 * block, and the device's read and write-back name that same memory (on a CPU device, where the buffer uses the
 * block in place, nothing moves). For any other buffer, mapping reads the range into a heap block and closing
 * writes it back: one copy each way.
 */
public final class Mapping implements AutoCloseable {
    private final CommandQueue queue;
    private final DeviceBuffer buffer;
    private final long offset;
    private final MapAccess access;
    private final MemorySegment segment;
    /** The staging block of a buffer that is not heap-backed; null when the mapping is the buffer's own block. */
    private final HeapBlock staging;
    private boolean closed;

    Mapping(CommandQueue queue, DeviceBuffer buffer, long offset, MapAccess access, MemorySegment segment,
            HeapBlock staging) {
        this.queue = queue;
        this.buffer = buffer;
        this.offset = offset;
        this.access = access;
        this.segment = segment;
        this.staging = staging;
    }

    /** The mapped bytes, in the guest heap: valid after the queue's next finish; not to be used after close. */
    public MemorySegment segment() {
        return segment;
    }

    /** Whether the segment is the buffer's own heap memory (a heap-backed buffer): no copy was made. */
    public boolean zeroCopy() {
        return staging == null;
    }

    /** The mapped buffer. */
    public DeviceBuffer buffer() {
        return buffer;
    }

    /** Where the mapped range starts in the buffer, in bytes. */
    public long offset() {
        return offset;
    }

    /** What the mapping is for. */
    public MapAccess access() {
        return access;
    }

    /**
     * Unmaps: enqueues the write-back when mapped for writing (one-way, as {@code write} is), and gives the staging
     * block back once the queue has finished with it. Closing twice does nothing.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (access.writes()) {
            queue.write(buffer, offset, segment);
        }
        if (staging != null) {
            queue.keepUntilFinish(staging);
        }
    }
}
