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

    /**
     * IMAGE_CREATE: image, context, width, height, depth (0 for a 2D image), channel order, channel type (OpenCL's
     * {@code CL_*} values, {@link ImageFormats}), access (as BUFFER_CREATE's).
     */
    public static final class ImageCreate extends CallRecord {
        public static final int IMAGE = 0, CONTEXT = 1, WIDTH = 2, HEIGHT = 3, DEPTH = 4, CHANNEL_ORDER = 5,
                CHANNEL_TYPE = 6, ACCESS = 7;
        public ImageCreate() { super(Op.IMAGE_CREATE); }
        @Override public ImageCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long image() { return arg(IMAGE); }
        public ImageCreate image(long v) { return set(IMAGE, v); }
        public long context() { return arg(CONTEXT); }
        public ImageCreate context(long v) { return set(CONTEXT, v); }
        public long width() { return arg(WIDTH); }
        public ImageCreate width(long v) { return set(WIDTH, v); }
        public long height() { return arg(HEIGHT); }
        public ImageCreate height(long v) { return set(HEIGHT, v); }
        public long depth() { return arg(DEPTH); }
        public ImageCreate depth(long v) { return set(DEPTH, v); }
        public long channelOrder() { return arg(CHANNEL_ORDER); }
        public ImageCreate channelOrder(long v) { return set(CHANNEL_ORDER, v); }
        public long channelType() { return arg(CHANNEL_TYPE); }
        public ImageCreate channelType(long v) { return set(CHANNEL_TYPE, v); }
        public long access() { return arg(ACCESS); }
        public ImageCreate access(long v) { return set(ACCESS, v); }
    }

    /**
     * IMAGE_WRITE and IMAGE_READ share this shape: queue, image, heap offset, heap size, event, waits; blob: the
     * wait list, then the {@link RectLayout} with the region in pixels, side A the image's origin in pixels (its
     * pitches 0) and side B the heap range's (origin and pitches in bytes).
     */
    public abstract static sealed class ImageTransfer<V extends ImageTransfer<V>> extends CallRecord
            permits ImageWrite, ImageRead {
        public static final int QUEUE = 0, IMAGE = 1, HEAP_OFFSET = 2, HEAP_SIZE = 3, EVENT = 4, WAITS = 5;
        ImageTransfer(Op op) { super(op); }
        public long queue() { return arg(QUEUE); }
        public V queue(long v) { return set(QUEUE, v); }
        public long image() { return arg(IMAGE); }
        public V image(long v) { return set(IMAGE, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public V heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long heapSize() { return arg(HEAP_SIZE); }
        public V heapSize(long v) { return set(HEAP_SIZE, v); }
        public long event() { return arg(EVENT); }
        public V event(long v) { return set(EVENT, v); }
        public long waits() { return arg(WAITS); }
        public V waits(long v) { return set(WAITS, v); }
    }

    /** IMAGE_WRITE: heap → image. */
    public static final class ImageWrite extends ImageTransfer<ImageWrite> {
        public ImageWrite() { super(Op.IMAGE_WRITE); }
        @Override public ImageWrite wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** IMAGE_READ: image → heap. */
    public static final class ImageRead extends ImageTransfer<ImageRead> {
        public ImageRead() { super(Op.IMAGE_READ); }
        @Override public ImageRead wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** SAMPLER_CREATE: sampler, context, normalized (0 or 1), addressing, filter (OpenCL's {@code CL_*} values). */
    public static final class SamplerCreate extends CallRecord {
        public static final int SAMPLER = 0, CONTEXT = 1, NORMALIZED = 2, ADDRESSING = 3, FILTER = 4;
        public SamplerCreate() { super(Op.SAMPLER_CREATE); }
        @Override public SamplerCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long sampler() { return arg(SAMPLER); }
        public SamplerCreate sampler(long v) { return set(SAMPLER, v); }
        public long context() { return arg(CONTEXT); }
        public SamplerCreate context(long v) { return set(CONTEXT, v); }
        public long normalized() { return arg(NORMALIZED); }
        public SamplerCreate normalized(long v) { return set(NORMALIZED, v); }
        public long addressing() { return arg(ADDRESSING); }
        public SamplerCreate addressing(long v) { return set(ADDRESSING, v); }
        public long filter() { return arg(FILTER); }
        public SamplerCreate filter(long v) { return set(FILTER, v); }
    }

    /** KERNEL_ARG_SAMPLER: kernel, index, sampler. */
    public static final class KernelArgSampler extends CallRecord {
        public static final int KERNEL = 0, INDEX = 1, SAMPLER = 2;
        public KernelArgSampler() { super(Op.KERNEL_ARG_SAMPLER); }
        @Override public KernelArgSampler wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelArgSampler kernel(long v) { return set(KERNEL, v); }
        public long index() { return arg(INDEX); }
        public KernelArgSampler index(long v) { return set(INDEX, v); }
        public long sampler() { return arg(SAMPLER); }
        public KernelArgSampler sampler(long v) { return set(SAMPLER, v); }
    }
}
