package io.ferry.spi;

import io.ferry.protocol.Status;

/**
 * A backend session's memory objects beyond plain buffers: sub-buffers and rectangular transfers (the guest calls
 * of opcodes 48–59). Reached through {@link BackendSession#memoryObjects()}; the same rules hold: arguments arrive
 * validated by the host, calls come from one thread at a time, native errors become {@link BackendException}s.
 */
public interface MemoryObjects {

    /**
     * Creates {@code buffer} over {@code [offset, offset + size)} of {@code parent}, sharing its memory. The host
     * checked: {@code parent} is a buffer (not a sub-buffer) of this session, the range lies inside it,
     * {@code offset} is a multiple of the device's {@link DeviceInfo#baseAddressAlignment()}, and
     * {@code accessFlags} is 0 (the parent's), 1 read-only, 2 write-only or 3 read-write. Releasing the parent does
     * not invalidate its sub-buffers: its memory lives until the last of them is released.
     */
    void createSubBuffer(long buffer, long parent, long offset, long size, int accessFlags) throws BackendException;

    /**
     * A rectangle between a buffer (side A of {@code rect}) and the heap (side B, counted from {@code heapOffset}):
     * heap → buffer when {@code write}, else buffer → heap (valid once the queue is finished or the event
     * completes). {@code waits}: events of this session (checked by the host, at most 64) that must complete first.
     * {@code event} is 0 or a new event handle.
     */
    void enqueueRect(long queue, long buffer, boolean write, Rect rect, long heapOffset, long[] waits, long event)
            throws BackendException;

    /** A rectangle from buffer {@code src} (side A) to buffer {@code dst} (side B); as {@link #enqueueRect}. */
    void enqueueCopyRect(long queue, long src, long dst, Rect rect, long[] waits, long event) throws BackendException;

    /**
     * Creates an image of OpenCL's {@code type} ({@code ImageFormats.CL_MEM_OBJECT_IMAGE*}): 2D of
     * {@code width x height} pixels (depth 0), 3D of {@code width x height x depth}, 1D of {@code width} (height 1),
     * a 1D array of {@code height} layers of {@code width}, or a 2D array of {@code depth} layers of
     * {@code width x height}. The host checked the figures (1..65536; depth 2..2048 for 3D, layers 1..2048), the
     * format (a known order and type, {@code ImageFormats}), and {@code accessFlags} (as {@code createBuffer}'s). The
     * transfers address each in that form: a 1D array's layer is origin[1], a 2D array's origin[2], as in OpenCL. A
     * device without image support answers {@link Status#UNSUPPORTED} naming the device.
     */
    void createImage(long image, long context, int type, long width, long height, long depth, int channelOrder,
                     int channelType, int accessFlags) throws BackendException;

    /**
     * Heap → image ({@code write}) or image → heap, for the pixels {@code [origin, origin + region)}; the heap side
     * starts at {@code heapOffset} with the given pitches (resolved, never 0), and all of it lies in the heap (the
     * host checked both sides as for {@link #enqueueRect}).
     */
    void enqueueImage(long queue, long image, boolean write, long[] origin, long[] region, long rowPitch,
                      long slicePitch, long heapOffset, long[] waits, long event) throws BackendException;

    /** Creates a sampler; addressing and filter are OpenCL's values, checked by the host. */
    void createSampler(long sampler, long context, boolean normalized, int addressing, int filter)
            throws BackendException;

    /** Binds {@code sampler} to the kernel's {@code sampler_t} argument {@code index}. */
    void setKernelArgSampler(long kernel, int index, long sampler) throws BackendException;

    /** Memory objects of a backend that has none: every call answers {@link Status#UNSUPPORTED} naming {@code who}. */
    static MemoryObjects unsupported(String who) {
        return new MemoryObjects() {
            @Override
            public void createSubBuffer(long buffer, long parent, long offset, long size, int accessFlags)
                    throws BackendException {
                throw fail("sub-buffers", "use offsets into the parent buffer");
            }

            @Override
            public void enqueueRect(long queue, long buffer, boolean write, Rect rect, long heapOffset, long[] waits,
                                    long event) throws BackendException {
                throw fail("rectangular transfers", "transfer the rows one by one");
            }

            @Override
            public void enqueueCopyRect(long queue, long src, long dst, Rect rect, long[] waits, long event)
                    throws BackendException {
                throw fail("rectangular copies", "copy the rows one by one");
            }

            @Override
            public void createImage(long image, long context, int type, long width, long height, long depth,
                                    int channelOrder, int channelType, int accessFlags) throws BackendException {
                throw fail("images", "use buffers");
            }

            @Override
            public void enqueueImage(long queue, long image, boolean write, long[] origin, long[] region,
                                     long rowPitch, long slicePitch, long heapOffset, long[] waits, long event)
                    throws BackendException {
                throw fail("images", "use buffers");
            }

            @Override
            public void createSampler(long sampler, long context, boolean normalized, int addressing, int filter)
                    throws BackendException {
                throw fail("samplers", "use buffers");
            }

            @Override
            public void setKernelArgSampler(long kernel, int index, long sampler) throws BackendException {
                throw fail("samplers", "use buffers");
            }

            private BackendException fail(String what, String instead) {
                return new BackendException(Status.UNSUPPORTED, who + " has no " + what + " yet; " + instead
                        + ", or choose a device of another backend");
            }
        };
    }
}
