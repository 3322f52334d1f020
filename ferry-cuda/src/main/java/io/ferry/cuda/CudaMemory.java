package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static io.ferry.cuda.Cuda.H;
import static io.ferry.cuda.Cuda.fail;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** FFM bindings of the CUDA driver's memory functions (allocation, copies, fills, host registration); see {@link Cuda}. */
final class CudaMemory {
    static final MethodHandle MEM_ALLOC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuMemAlloc_v2");
    static final MethodHandle MEM_FREE = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemFree_v2");
    static final MethodHandle MEM_ALLOC_HOST = Cuda.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuMemAllocHost_v2");
    static final MethodHandle MEM_FREE_HOST = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemFreeHost");
    static final MethodHandle MEMCPY_HTOD_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyHtoDAsync_v2");
    static final MethodHandle MEMCPY_DTOH_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyDtoHAsync_v2");
    static final MethodHandle MEMCPY_DTOD_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyDtoDAsync_v2");
    static final MethodHandle MEMSET_D8_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_BYTE, H, H), "cuMemsetD8Async");
    static final MethodHandle MEMSET_D16_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_SHORT, H, H), "cuMemsetD16Async");
    static final MethodHandle MEMSET_D32_ASYNC = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, H, H), "cuMemsetD32Async");
    static final MethodHandle MEM_HOST_REGISTER = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT), "cuMemHostRegister_v2", "cuMemHostRegister");
    static final MethodHandle MEM_HOST_UNREGISTER = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemHostUnregister");

    private CudaMemory() {
    }

    static int memAlloc(MemorySegment dptr, long bytes) {
        try {
            return (int) MEM_ALLOC.invokeExact(dptr, bytes);
        } catch (Throwable t) {
            throw fail("cuMemAlloc_v2", t);
        }
    }

    static int memFree(long dptr) {
        try {
            return (int) MEM_FREE.invokeExact(dptr);
        } catch (Throwable t) {
            throw fail("cuMemFree_v2", t);
        }
    }

    static int memAllocHost(MemorySegment pp, long bytes) {
        try {
            return (int) MEM_ALLOC_HOST.invokeExact(pp, bytes);
        } catch (Throwable t) {
            throw fail("cuMemAllocHost_v2", t);
        }
    }

    static int memFreeHost(long p) {
        try {
            return (int) MEM_FREE_HOST.invokeExact(p);
        } catch (Throwable t) {
            throw fail("cuMemFreeHost", t);
        }
    }

    static int memcpyHtoDAsync(long dst, long srcHost, long bytes, long stream) {
        try {
            return (int) MEMCPY_HTOD_ASYNC.invokeExact(dst, srcHost, bytes, stream);
        } catch (Throwable t) {
            throw fail("cuMemcpyHtoDAsync_v2", t);
        }
    }

    static int memcpyDtoHAsync(long dstHost, long src, long bytes, long stream) {
        try {
            return (int) MEMCPY_DTOH_ASYNC.invokeExact(dstHost, src, bytes, stream);
        } catch (Throwable t) {
            throw fail("cuMemcpyDtoHAsync_v2", t);
        }
    }

    static int memcpyDtoDAsync(long dst, long src, long bytes, long stream) {
        try {
            return (int) MEMCPY_DTOD_ASYNC.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw fail("cuMemcpyDtoDAsync_v2", t);
        }
    }

    static int memsetD8Async(long dst, byte value, long count, long stream) {
        try {
            return (int) MEMSET_D8_ASYNC.invokeExact(dst, value, count, stream);
        } catch (Throwable t) {
            throw fail("cuMemsetD8Async", t);
        }
    }

    static int memsetD16Async(long dst, short value, long count, long stream) {
        try {
            return (int) MEMSET_D16_ASYNC.invokeExact(dst, value, count, stream);
        } catch (Throwable t) {
            throw fail("cuMemsetD16Async", t);
        }
    }

    static int memsetD32Async(long dst, int value, long count, long stream) {
        try {
            return (int) MEMSET_D32_ASYNC.invokeExact(dst, value, count, stream);
        } catch (Throwable t) {
            throw fail("cuMemsetD32Async", t);
        }
    }

    /** {@code cuMemHostRegister_v2(p, bytes, flags)}: pins and maps host memory for the current context. */
    static int memHostRegister(long address, long bytes, int flags) {
        try {
            return (int) MEM_HOST_REGISTER.invokeExact(address, bytes, flags);
        } catch (Throwable t) {
            throw fail("cuMemHostRegister_v2", t);
        }
    }

    static int memHostUnregister(long address) {
        try {
            return (int) MEM_HOST_UNREGISTER.invokeExact(address);
        } catch (Throwable t) {
            throw fail("cuMemHostUnregister", t);
        }
    }
}
