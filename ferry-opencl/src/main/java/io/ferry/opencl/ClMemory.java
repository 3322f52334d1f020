package io.ferry.opencl;

import io.ferry.protocol.ImageFormats;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.Rect;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The FFM downcalls of OpenCL's memory objects beyond plain buffers: sub-buffers and rectangular transfers. Kept
 * apart from {@link OpenCL} (the core calls) so each stays one screenful per concern.
 *
 * <p>Every call takes its array arguments ({@code size_t[3]} origins and regions, the wait list) in one scratch
 * segment laid out by {@link #SCRATCH_BYTES}: nothing is allocated per call.
 */
final class ClMemory {
    static final int CL_DEVICE_MEM_BASE_ADDR_ALIGN = 0x1019;
    static final int CL_BUFFER_CREATE_TYPE_REGION = 0x1220;
    static final int CL_DEVICE_IMAGE_SUPPORT = 0x1016;

    /**
     * Scratch layout: origin A (24), origin B (24), region (24), sub-buffer region info (16), image format (8), a
     * cl_sampler argument (8), image descriptor (72, from 128). The wait list is the session's (its native events,
     * or NULL for none), as for every other enqueue.
     */
    static final long ORIGIN_A = 0, ORIGIN_B = 24, REGION = 48, SUB_REGION = 72, FORMAT = 88, SAMPLER_ARG = 96,
            DESC = 128;
    static final long SCRATCH_BYTES = 256;

    private static final MemoryLayout H = JAVA_LONG;
    private static final MethodHandle CREATE_SUB_BUFFER = OpenCL.bind("clCreateSubBuffer",
            FunctionDescriptor.of(H, H, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final FunctionDescriptor RECT = FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, H, H, H, H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle ENQUEUE_READ_RECT = OpenCL.bind("clEnqueueReadBufferRect", RECT);
    private static final MethodHandle ENQUEUE_WRITE_RECT = OpenCL.bind("clEnqueueWriteBufferRect", RECT);
    private static final MethodHandle ENQUEUE_COPY_RECT = OpenCL.bind("clEnqueueCopyBufferRect",
            FunctionDescriptor.of(JAVA_INT, H, H, H, ADDRESS, ADDRESS, ADDRESS, H, H, H, H, JAVA_INT, ADDRESS, ADDRESS));

    private static final MethodHandle CREATE_IMAGE = OpenCL.bind("clCreateImage",
            FunctionDescriptor.of(H, H, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final FunctionDescriptor IMAGE = FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, ADDRESS, ADDRESS,
            H, H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle ENQUEUE_READ_IMAGE = OpenCL.bind("clEnqueueReadImage", IMAGE);
    private static final MethodHandle ENQUEUE_WRITE_IMAGE = OpenCL.bind("clEnqueueWriteImage", IMAGE);
    private static final MethodHandle CREATE_SAMPLER = OpenCL.bind("clCreateSampler",
            FunctionDescriptor.of(H, H, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));

    private ClMemory() {
    }

    /** Whether the OpenCL library has the calls (OpenCL 1.1 and later). */
    static boolean available() {
        return CREATE_SUB_BUFFER != null && ENQUEUE_READ_RECT != null && ENQUEUE_WRITE_RECT != null
                && ENQUEUE_COPY_RECT != null;
    }

    /** {@code clCreateSubBuffer} over {@code [offset, offset + size)} of {@code parent}. */
    static long createSubBuffer(long parent, long flags, long offset, long size, MemorySegment scratch,
                                MemorySegment errcode) {
        MemorySegment region = scratch.asSlice(SUB_REGION, 16);
        region.set(JAVA_LONG, 0, offset);
        region.set(JAVA_LONG, 8, size);
        try {
            return (long) CREATE_SUB_BUFFER.invokeExact(parent, flags, CL_BUFFER_CREATE_TYPE_REGION, region, errcode);
        } catch (Throwable t) {
            throw fail("clCreateSubBuffer", t);
        }
    }

    /**
     * {@code clEnqueueWriteBufferRect} (heap → buffer) or {@code clEnqueueReadBufferRect}: side A of {@code r} is
     * the buffer, side B the host memory at {@code host}. {@code waitList} holds {@code waits} native events.
     */
    static int enqueueRect(boolean write, long queue, long buffer, Rect r, MemorySegment host, MemorySegment scratch,
                           int waits, MemorySegment waitList, MemorySegment event) {
        put(scratch, r);
        MethodHandle mh = write ? ENQUEUE_WRITE_RECT : ENQUEUE_READ_RECT;
        try {
            return (int) mh.invokeExact(queue, buffer, 0, scratch.asSlice(ORIGIN_A, 24), scratch.asSlice(ORIGIN_B, 24),
                    scratch.asSlice(REGION, 24), r.rowPitchA(), r.slicePitchA(), r.rowPitchB(), r.slicePitchB(), host,
                    waits, waitList, event);
        } catch (Throwable t) {
            throw fail(write ? "clEnqueueWriteBufferRect" : "clEnqueueReadBufferRect", t);
        }
    }

    /** {@code clEnqueueCopyBufferRect} from {@code src} (side A) to {@code dst} (side B). */
    static int enqueueCopyRect(long queue, long src, long dst, Rect r, MemorySegment scratch, int waits,
                               MemorySegment waitList, MemorySegment event) {
        put(scratch, r);
        try {
            return (int) ENQUEUE_COPY_RECT.invokeExact(queue, src, dst, scratch.asSlice(ORIGIN_A, 24),
                    scratch.asSlice(ORIGIN_B, 24), scratch.asSlice(REGION, 24), r.rowPitchA(), r.slicePitchA(),
                    r.rowPitchB(), r.slicePitchB(), waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueCopyBufferRect", t);
        }
    }

    /** Whether the library has clCreateImage, the image transfers and clCreateSampler (OpenCL 1.2). */
    static boolean imagesAvailable() {
        return CREATE_IMAGE != null && ENQUEUE_READ_IMAGE != null && ENQUEUE_WRITE_IMAGE != null
                && CREATE_SAMPLER != null;
    }

    /**
     * {@code clCreateImage} of OpenCL's {@code imageType}, no host memory: 2D and 3D as they are, a 1D array of
     * {@code height} layers, a 2D array of {@code depth} layers (MemoryObjects.createImage's forms).
     */
    static long createImage(long context, long flags, int imageType, long width, long height, long depth, int order,
                            int type, MemorySegment scratch, MemorySegment errcode) {
        MemorySegment format = scratch.asSlice(FORMAT, 8);
        format.set(JAVA_INT, 0, order);
        format.set(JAVA_INT, 4, type);
        MemorySegment desc = scratch.asSlice(DESC, 72).fill((byte) 0);
        // cl_image_desc: type (u32, padded), width, height, depth, array size, row pitch, slice pitch, ...
        boolean oneD = imageType == ImageFormats.CL_MEM_OBJECT_IMAGE1D
                || imageType == ImageFormats.CL_MEM_OBJECT_IMAGE1D_ARRAY;
        desc.set(JAVA_INT, 0, imageType);
        desc.set(JAVA_LONG, 8, width);
        desc.set(JAVA_LONG, 16, oneD ? 1 : height); // the figures a type does not use: 1, as for a 2D image before
        desc.set(JAVA_LONG, 24, imageType == ImageFormats.CL_MEM_OBJECT_IMAGE3D ? depth : 1);
        desc.set(JAVA_LONG, 32, imageType == ImageFormats.CL_MEM_OBJECT_IMAGE1D_ARRAY ? height
                : imageType == ImageFormats.CL_MEM_OBJECT_IMAGE2D_ARRAY ? depth : 0);
        try {
            return (long) CREATE_IMAGE.invokeExact(context, flags, format, desc, MemorySegment.NULL, errcode);
        } catch (Throwable t) {
            throw fail("clCreateImage", t);
        }
    }

    /** {@code clEnqueueWriteImage} or {@code clEnqueueReadImage} of the pixels at origin, region, host at ptr. */
    static int enqueueImage(boolean write, long queue, long image, long[] origin, long[] region, long rowPitch,
                            long slicePitch, MemorySegment host, MemorySegment scratch, int waits,
                            MemorySegment waitList, MemorySegment event) {
        for (int i = 0; i < 3; i++) {
            scratch.set(JAVA_LONG, ORIGIN_A + 8L * i, origin[i]);
            scratch.set(JAVA_LONG, REGION + 8L * i, region[i]);
        }
        MethodHandle mh = write ? ENQUEUE_WRITE_IMAGE : ENQUEUE_READ_IMAGE;
        try {
            return (int) mh.invokeExact(queue, image, 0, scratch.asSlice(ORIGIN_A, 24), scratch.asSlice(REGION, 24),
                    rowPitch, slicePitch, host, waits, waitList, event);
        } catch (Throwable t) {
            throw fail(write ? "clEnqueueWriteImage" : "clEnqueueReadImage", t);
        }
    }

    static long createSampler(long context, boolean normalized, int addressing, int filter, MemorySegment errcode) {
        try {
            return (long) CREATE_SAMPLER.invokeExact(context, normalized ? 1 : 0, addressing, filter, errcode);
        } catch (Throwable t) {
            throw fail("clCreateSampler", t);
        }
    }

    private static void put(MemorySegment scratch, Rect r) {
        for (int i = 0; i < 3; i++) {
            scratch.set(JAVA_LONG, ORIGIN_A + 8L * i, r.originA()[i]);
            scratch.set(JAVA_LONG, ORIGIN_B + 8L * i, r.originB()[i]);
            scratch.set(JAVA_LONG, REGION + 8L * i, r.region()[i]);
        }
    }

    private static IllegalStateException fail(String function, Throwable t) {
        return new IllegalStateException("native call " + function + " failed: " + t, t);
    }
}
