package io.ferry.protocol;

import java.lang.foreign.MemorySegment;

/**
 * Named views of the memory-object calls (opcodes 48–59): sub-buffers and rectangular transfers. They are kept
 * apart from {@link Calls} only for size; {@code CallsTest} checks them against the {@link Op} catalogue the same
 * way.
 *
 * <p>A call that enqueues a device command has an {@code event} (0 or a new event handle) and {@code waits} (the
 * count of events it waits for); its blob starts with {@code waits} event handles (u64 each, little endian), and
 * then any payload of the call (from byte {@link #waitListBytes}).
 */
public final class MemoryCalls {
    private MemoryCalls() {
    }

    /** Bytes of the wait list at the start of an enqueue call's blob. */
    public static long waitListBytes(long waits) {
        return 8 * waits;
    }

    /** SUB_BUFFER_CREATE: buffer (the new sub-buffer), parent, offset, size, access (as BUFFER_CREATE's). */
    public static final class SubBufferCreate extends CallRecord {
        public static final int BUFFER = 0, PARENT = 1, OFFSET = 2, SIZE = 3, ACCESS = 4;
        public SubBufferCreate() { super(Op.SUB_BUFFER_CREATE); }
        @Override public SubBufferCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long buffer() { return arg(BUFFER); }
        public SubBufferCreate buffer(long v) { return set(BUFFER, v); }
        public long parent() { return arg(PARENT); }
        public SubBufferCreate parent(long v) { return set(PARENT, v); }
        public long offset() { return arg(OFFSET); }
        public SubBufferCreate offset(long v) { return set(OFFSET, v); }
        public long size() { return arg(SIZE); }
        public SubBufferCreate size(long v) { return set(SIZE, v); }
        public long access() { return arg(ACCESS); }
        public SubBufferCreate access(long v) { return set(ACCESS, v); }
    }

    /**
     * BUFFER_WRITE_RECT and BUFFER_READ_RECT share this shape: queue, buffer, heap offset, heap size, event, waits;
     * blob: the wait list, then the {@link RectLayout} (side A the buffer, side B the heap range
     * {@code [heap offset, heap offset + heap size)}).
     */
    public abstract static sealed class RectTransfer<V extends RectTransfer<V>> extends CallRecord
            permits BufferWriteRect, BufferReadRect {
        public static final int QUEUE = 0, BUFFER = 1, HEAP_OFFSET = 2, HEAP_SIZE = 3, EVENT = 4, WAITS = 5;
        RectTransfer(Op op) { super(op); }
        public long queue() { return arg(QUEUE); }
        public V queue(long v) { return set(QUEUE, v); }
        public long buffer() { return arg(BUFFER); }
        public V buffer(long v) { return set(BUFFER, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public V heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long heapSize() { return arg(HEAP_SIZE); }
        public V heapSize(long v) { return set(HEAP_SIZE, v); }
        public long event() { return arg(EVENT); }
        public V event(long v) { return set(EVENT, v); }
        public long waits() { return arg(WAITS); }
        public V waits(long v) { return set(WAITS, v); }
    }

    /** BUFFER_WRITE_RECT: heap → buffer. */
    public static final class BufferWriteRect extends RectTransfer<BufferWriteRect> {
        public BufferWriteRect() { super(Op.BUFFER_WRITE_RECT); }
        @Override public BufferWriteRect wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** BUFFER_READ_RECT: buffer → heap. */
    public static final class BufferReadRect extends RectTransfer<BufferReadRect> {
        public BufferReadRect() { super(Op.BUFFER_READ_RECT); }
        @Override public BufferReadRect wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** BUFFER_COPY_RECT: queue, source, destination, event, waits; blob: the wait list, then the rectangle. */
    public static final class BufferCopyRect extends CallRecord {
        public static final int QUEUE = 0, SOURCE = 1, DESTINATION = 2, EVENT = 3, WAITS = 4;
        public BufferCopyRect() { super(Op.BUFFER_COPY_RECT); }
        @Override public BufferCopyRect wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public BufferCopyRect queue(long v) { return set(QUEUE, v); }
        public long source() { return arg(SOURCE); }
        public BufferCopyRect source(long v) { return set(SOURCE, v); }
        public long destination() { return arg(DESTINATION); }
        public BufferCopyRect destination(long v) { return set(DESTINATION, v); }
        public long event() { return arg(EVENT); }
        public BufferCopyRect event(long v) { return set(EVENT, v); }
        public long waits() { return arg(WAITS); }
        public BufferCopyRect waits(long v) { return set(WAITS, v); }
    }
}
