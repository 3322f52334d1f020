package io.ferry.opencl;

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

    /** Scratch layout: origin A (24), origin B (24), region (24), sub-buffer region info (16), wait list. */
    static final long ORIGIN_A = 0, ORIGIN_B = 24, REGION = 48, SUB_REGION = 72, WAIT_LIST = 128;
    /** Most events a wait list holds (the host's limit). */
    static final int MAX_WAITS = 64;
    static final long SCRATCH_BYTES = WAIT_LIST + 8L * MAX_WAITS;

    private static final MemoryLayout H = JAVA_LONG;
    private static final MethodHandle CREATE_SUB_BUFFER = OpenCL.bind("clCreateSubBuffer",
            FunctionDescriptor.of(H, H, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final FunctionDescriptor RECT = FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, H, H, H, H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle ENQUEUE_READ_RECT = OpenCL.bind("clEnqueueReadBufferRect", RECT);
    private static final MethodHandle ENQUEUE_WRITE_RECT = OpenCL.bind("clEnqueueWriteBufferRect", RECT);
    private static final MethodHandle ENQUEUE_COPY_RECT = OpenCL.bind("clEnqueueCopyBufferRect",
            FunctionDescriptor.of(JAVA_INT, H, H, H, ADDRESS, ADDRESS, ADDRESS, H, H, H, H, JAVA_INT, ADDRESS, ADDRESS));

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
     * the buffer, side B the host memory at {@code host}. {@code waitList} holds {@code waits} native events at
     * {@link #WAIT_LIST} of {@code scratch}.
     */
    static int enqueueRect(boolean write, long queue, long buffer, Rect r, MemorySegment host, MemorySegment scratch,
                           int waits, MemorySegment event) {
        put(scratch, r);
        MethodHandle mh = write ? ENQUEUE_WRITE_RECT : ENQUEUE_READ_RECT;
        try {
            return (int) mh.invokeExact(queue, buffer, 0, scratch.asSlice(ORIGIN_A, 24), scratch.asSlice(ORIGIN_B, 24),
                    scratch.asSlice(REGION, 24), r.rowPitchA(), r.slicePitchA(), r.rowPitchB(), r.slicePitchB(), host,
                    waits, waitList(scratch, waits), event);
        } catch (Throwable t) {
            throw fail(write ? "clEnqueueWriteBufferRect" : "clEnqueueReadBufferRect", t);
        }
    }

    /** {@code clEnqueueCopyBufferRect} from {@code src} (side A) to {@code dst} (side B). */
    static int enqueueCopyRect(long queue, long src, long dst, Rect r, MemorySegment scratch, int waits,
                               MemorySegment event) {
        put(scratch, r);
        try {
            return (int) ENQUEUE_COPY_RECT.invokeExact(queue, src, dst, scratch.asSlice(ORIGIN_A, 24),
                    scratch.asSlice(ORIGIN_B, 24), scratch.asSlice(REGION, 24), r.rowPitchA(), r.slicePitchA(),
                    r.rowPitchB(), r.slicePitchB(), waits, waitList(scratch, waits), event);
        } catch (Throwable t) {
            throw fail("clEnqueueCopyBufferRect", t);
        }
    }

    private static void put(MemorySegment scratch, Rect r) {
        for (int i = 0; i < 3; i++) {
            scratch.set(JAVA_LONG, ORIGIN_A + 8L * i, r.originA()[i]);
            scratch.set(JAVA_LONG, ORIGIN_B + 8L * i, r.originB()[i]);
            scratch.set(JAVA_LONG, REGION + 8L * i, r.region()[i]);
        }
    }

    private static MemorySegment waitList(MemorySegment scratch, int waits) {
        return waits == 0 ? MemorySegment.NULL : scratch.asSlice(WAIT_LIST, 8L * waits);
    }

    private static IllegalStateException fail(String function, Throwable t) {
        return new IllegalStateException("native call " + function + " failed: " + t, t);
    }
}
