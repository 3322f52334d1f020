package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.MemoryObjects;
import io.ferry.spi.Rect;
import java.lang.foreign.MemorySegment;

/**
 * The memory objects of one {@link OpenClSession}: sub-buffers ({@code clCreateSubBuffer}), rectangular transfers
 * ({@code cl*BufferRect}), images and samplers, over {@link ClMemory}'s bindings. Objects, events and wait lists are
 * the session's (its handle table, its native wait list); the origins, regions and image descriptors go through a
 * scratch slice of its own. One thread at a time, as the session.
 */
final class OpenClMemoryObjects implements MemoryObjects {
    private final OpenClSession session;
    private final MemorySegment scratch;
    private final MemorySegment errcode;

    OpenClMemoryObjects(OpenClSession session, MemorySegment scratch, MemorySegment errcode) {
        this.session = session;
        this.scratch = scratch;
        this.errcode = errcode;
    }

    @Override
    public void createSubBuffer(long buffer, long parent, long offset, long size, int accessFlags)
            throws BackendException {
        ClObject.Buffer p = session.object(parent, ClObject.Buffer.class);
        checkMemoryCalls();
        long flags = switch (accessFlags) {
            case 1 -> OpenCL.CL_MEM_READ_ONLY;
            case 2 -> OpenCL.CL_MEM_WRITE_ONLY;
            case 3 -> OpenCL.CL_MEM_READ_WRITE;
            default -> 0; // the parent's
        };
        long ptr = ClMemory.createSubBuffer(p.ptr, flags, offset, size, scratch, errcode);
        session.checkCreate("clCreateSubBuffer", "[offset " + offset + ", size " + size + ") of a buffer of " + p.size
                + " bytes" + (flags == 0 ? "" : " (an access the parent's flags may not allow)"));
        session.keep(buffer, new ClObject.Buffer(ptr, p.context, size, p.heapBacked, p));
        p.subBuffers++;
    }

    @Override
    public void enqueueRect(long queue, long buffer, boolean write, Rect rect, long heapOffset,
                            long[] waits, long event) throws BackendException {
        ClObject.Queue q = session.object(queue, ClObject.Queue.class);
        ClObject.Buffer b = OpenClSession.sameContext(q, session.object(buffer, ClObject.Buffer.class));
        checkMemoryCalls();
        MemorySegment host = session.heapRange(heapOffset, rect.endB());
        int rc = ClMemory.enqueueRect(write, q.ptr, b.ptr, rect, host, scratch, waits.length, session.waitList(waits),
                session.eventOut(event));
        ClErrors.check(write ? "clEnqueueWriteBufferRect" : "clEnqueueReadBufferRect", rc, null);
        session.keepEvent(event, q);
    }

    @Override
    public void enqueueCopyRect(long queue, long src, long dst, Rect rect, long[] waits, long event)
            throws BackendException {
        ClObject.Queue q = session.object(queue, ClObject.Queue.class);
        ClObject.Buffer s = OpenClSession.sameContext(q, session.object(src, ClObject.Buffer.class));
        ClObject.Buffer d = OpenClSession.sameContext(q, session.object(dst, ClObject.Buffer.class));
        checkMemoryCalls();
        int rc = ClMemory.enqueueCopyRect(q.ptr, s.ptr, d.ptr, rect, scratch, waits.length, session.waitList(waits),
                session.eventOut(event));
        ClErrors.check("clEnqueueCopyBufferRect", rc, null);
        session.keepEvent(event, q);
    }

    @Override
    public void createImage(long image, long context, int type, long width, long height, long depth,
                            int channelOrder, int channelType, int accessFlags) throws BackendException {
        ClObject.Context ctx = session.object(context, ClObject.Context.class);
        ClImages.checkSupport(ctx.device, "images");
        int pixel = io.ferry.protocol.ImageFormats.pixelBytes(channelOrder, channelType);
        long bytes = width * height * Math.max(depth, 1) * pixel;
        long ptr = ClMemory.createImage(ctx.ptr, ClImages.flags(accessFlags), type, width, height, depth,
                channelOrder, channelType, scratch, errcode);
        session.checkCreate("clCreateImage", io.ferry.protocol.ImageFormats.typeName(type) + " image, "
                + ClImages.describe(width, height, depth, channelOrder, channelType));
        session.keep(image, new ClObject.Image(ptr, ctx, bytes, pixel, type));
        session.allocatedBytes(bytes);
    }

    @Override
    public void enqueueImage(long queue, long image, boolean write, long[] origin, long[] region, long rowPitch,
                             long slicePitch, long heapOffset, long[] waits, long event) throws BackendException {
        ClObject.Queue q = session.object(queue, ClObject.Queue.class);
        ClObject.Image im = session.object(image, ClObject.Image.class);
        if (im.context != q.context) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the image and the queue belong to different contexts");
        }
        // the bytes the host checked: every row region[0] pixels wide
        long bytes = (region[2] - 1) * slicePitch + (region[1] - 1) * rowPitch + region[0] * im.pixel;
        MemorySegment host = session.heapRange(heapOffset, bytes);
        int rc = ClMemory.enqueueImage(write, q.ptr, im.ptr, origin, region, rowPitch,
                im.slicePitch(rowPitch, slicePitch), host,
                scratch, waits.length, session.waitList(waits), session.eventOut(event));
        ClErrors.check(write ? "clEnqueueWriteImage" : "clEnqueueReadImage", rc, null);
        session.keepEvent(event, q);
    }

    @Override
    public void createSampler(long sampler, long context, boolean normalized, int addressing, int filter)
            throws BackendException {
        ClObject.Context ctx = session.object(context, ClObject.Context.class);
        ClImages.checkSupport(ctx.device, "samplers");
        long ptr = ClMemory.createSampler(ctx.ptr, normalized, addressing, filter, errcode);
        session.checkCreate("clCreateSampler", (normalized ? "normalized" : "unnormalized") + " coordinates, addressing 0x"
                + Integer.toHexString(addressing) + ", filter 0x" + Integer.toHexString(filter));
        session.keep(sampler, new ClObject.Sampler(ptr, ctx));
    }

    @Override
    public void setKernelArgSampler(long kernel, int index, long sampler) throws BackendException {
        ClObject.Kernel k = session.object(kernel, ClObject.Kernel.class);
        ClObject.Sampler s = session.object(sampler, ClObject.Sampler.class);
        k.args.checkValue(index, 8);
        if (s.context != k.context) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, k.args.context(index)
                    + ": the sampler belongs to another context");
        }
        MemorySegment slot = scratch.asSlice(ClMemory.SAMPLER_ARG, 8);
        slot.set(JAVA_LONG, 0, s.ptr);
        int rc = OpenCL.setKernelArg(k.ptr, index, 8, slot);
        if (rc != 0) {
            throw ClErrors.exception("clSetKernelArg", rc, k.args.context(index) + " given a sampler");
        }
        k.args.markSet(index, s);
    }

    private void checkMemoryCalls() throws BackendException {
        if (!ClMemory.available()) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clCreateSubBuffer or the "
                    + "rectangular transfers (OpenCL 1.1); use plain buffers and transfers");
        }
    }
}
