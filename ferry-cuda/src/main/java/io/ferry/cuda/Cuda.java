package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * FFM bindings of the CUDA driver API functions Ferry uses, from {@code libcuda.so.1} (found by
 * {@link LibraryPaths#driverCandidates}).
 *
 * <p>Symbols are bound by the names the CUDA 13.0 headers map the API names to ({@code cuCtxCreate} →
 * {@code cuCtxCreate_v4}, {@code cuMemAlloc} → {@code cuMemAlloc_v2}, {@code cuMemcpyHtoDAsync} →
 * {@code cuMemcpyHtoDAsync_v2}, {@code cuCtxDestroy} → {@code cuCtxDestroy_v2}, {@code cuMemHostRegister} →
 * {@code cuMemHostRegister_v2}, {@code cuEventElapsedTime} → {@code cuEventElapsedTime_v2} ...), with the older
 * exported version as a fallback where a driver lacks the newer one ({@code cuCtxCreate_v2} for drivers before 12.5).
 *
 * <p>Opaque handles ({@code CUcontext}, {@code CUstream}, {@code CUmodule}, {@code CUfunction}, {@code CUevent}),
 * {@code CUdeviceptr} and {@code size_t} are bound as {@code long}; host pointers that the hot paths pass (heap
 * addresses for copies) are bound as {@code long} addresses too (LP64: same register class), which saves a
 * {@link MemorySegment} per call. {@code CUdevice} is an {@code int}. Each wrapper returns the raw {@code CUresult};
 * {@link CudaErrors} turns it into an exception. When the library is missing, {@link #AVAILABLE} is false and no
 * wrapper may be called.
 */
final class Cuda {
    // ---- constants (cuda.h, CUDA 13.0) ----
    static final int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
    static final int CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y = 3,
            CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z = 4;
    static final int CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6,
            CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z = 7;
    static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING = 41;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS = 88;
    static final int CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM = 91;
    static final int CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES = 100;
    static final int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
    static final int CU_CTX_SCHED_AUTO = 0;
    static final int CU_STREAM_DEFAULT = 0;
    static final int CU_EVENT_DEFAULT = 0, CU_EVENT_BLOCKING_SYNC = 1, CU_EVENT_DISABLE_TIMING = 2;
    static final int CU_JIT_INFO_LOG_BUFFER = 3, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    static final int CU_JIT_ERROR_LOG_BUFFER = 5, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    private static final MemoryLayout H = JAVA_LONG; // handle, CUdeviceptr, size_t, host address
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP;
    /** The file or name the driver was loaded from; null when it was not found. */
    static final String LOADED_FROM;
    /** Why the library could not be loaded; null when it was. */
    static final String LOAD_ERROR;
    static final boolean AVAILABLE;

    static {
        SymbolLookup lookup = null;
        String from = null;
        List<String> errors = new ArrayList<>();
        for (String candidate : LibraryPaths.driverCandidates(Path.of("/"))) {
            try {
                lookup = load(candidate);
                from = candidate;
                break;
            } catch (RuntimeException | Error e) {
                errors.add(candidate + ": " + e.getMessage());
            }
        }
        LOOKUP = lookup;
        LOADED_FROM = from;
        LOAD_ERROR = lookup == null ? String.join("; ", errors) : null;
        AVAILABLE = lookup != null;
    }

    @SuppressWarnings("restricted")
    private static SymbolLookup load(String nameOrPath) {
        return nameOrPath.indexOf('/') >= 0 ? SymbolLookup.libraryLookup(Path.of(nameOrPath), Arena.global())
                : SymbolLookup.libraryLookup(nameOrPath, Arena.global());
    }

    private static final MethodHandle INIT = bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT), "cuInit");
    private static final MethodHandle DRIVER_GET_VERSION = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuDriverGetVersion");
    private static final MethodHandle DEVICE_GET_COUNT = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuDeviceGetCount");
    private static final MethodHandle DEVICE_GET = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceGet");
    private static final MethodHandle DEVICE_GET_NAME = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetName");
    private static final MethodHandle DEVICE_GET_ATTRIBUTE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetAttribute");
    private static final MethodHandle DEVICE_TOTAL_MEM = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceTotalMem_v2");
    /** {@code cuCtxCreate_v4(CUcontext*, CUctxCreateParams*, unsigned flags, CUdevice)} (CUDA ≥ 12.5). */
    private static final MethodHandle CTX_CREATE_V4 = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT), "cuCtxCreate_v4");
    /** {@code cuCtxCreate_v2(CUcontext*, unsigned flags, CUdevice)}. */
    private static final MethodHandle CTX_CREATE_V2 = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuCtxCreate_v2");
    private static final MethodHandle CTX_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuCtxDestroy_v2");
    private static final MethodHandle CTX_SET_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, H), "cuCtxSetCurrent");
    private static final MethodHandle CTX_GET_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuCtxGetCurrent");
    private static final MethodHandle CTX_PUSH_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, H), "cuCtxPushCurrent_v2");
    private static final MethodHandle CTX_POP_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuCtxPopCurrent_v2");
    private static final MethodHandle CTX_SYNCHRONIZE = bind(FunctionDescriptor.of(JAVA_INT), "cuCtxSynchronize");
    private static final MethodHandle CTX_GET_STREAM_PRIORITY_RANGE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "cuCtxGetStreamPriorityRange");
    private static final MethodHandle STREAM_CREATE_WITH_PRIORITY = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuStreamCreateWithPriority");
    private static final MethodHandle STREAM_SYNCHRONIZE = bind(FunctionDescriptor.of(JAVA_INT, H), "cuStreamSynchronize");
    private static final MethodHandle STREAM_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuStreamDestroy_v2");
    private static final MethodHandle MEM_ALLOC = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuMemAlloc_v2");
    private static final MethodHandle MEM_FREE = bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemFree_v2");
    private static final MethodHandle MEM_ALLOC_HOST = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuMemAllocHost_v2");
    private static final MethodHandle MEM_FREE_HOST = bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemFreeHost");
    private static final MethodHandle MEMCPY_HTOD_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyHtoDAsync_v2");
    private static final MethodHandle MEMCPY_DTOH_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyDtoHAsync_v2");
    private static final MethodHandle MEMCPY_DTOD_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, H, H, H), "cuMemcpyDtoDAsync_v2");
    private static final MethodHandle MEMSET_D8_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_BYTE, H, H), "cuMemsetD8Async");
    private static final MethodHandle MEMSET_D16_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_SHORT, H, H), "cuMemsetD16Async");
    private static final MethodHandle MEMSET_D32_ASYNC = bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, H, H), "cuMemsetD32Async");
    private static final MethodHandle MEM_HOST_REGISTER = bind(FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT), "cuMemHostRegister_v2", "cuMemHostRegister");
    private static final MethodHandle MEM_HOST_UNREGISTER = bind(FunctionDescriptor.of(JAVA_INT, H), "cuMemHostUnregister");
    private static final MethodHandle MODULE_LOAD_DATA = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "cuModuleLoadData");
    private static final MethodHandle MODULE_LOAD_DATA_EX = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), "cuModuleLoadDataEx");
    private static final MethodHandle MODULE_GET_FUNCTION = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H, ADDRESS), "cuModuleGetFunction");
    private static final MethodHandle MODULE_UNLOAD = bind(FunctionDescriptor.of(JAVA_INT, H), "cuModuleUnload");
    /** {@code cuFuncGetParamInfo(CUfunction, size_t index, size_t* offset, size_t* size)}: CUDA ≥ 12.4; may be null. */
    private static final MethodHandle FUNC_GET_PARAM_INFO = bind(FunctionDescriptor.of(JAVA_INT, H, H, ADDRESS, ADDRESS), "cuFuncGetParamInfo");
    private static final MethodHandle FUNC_GET_ATTRIBUTE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, H), "cuFuncGetAttribute");
    private static final MethodHandle LAUNCH_KERNEL = bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, H, ADDRESS, ADDRESS), "cuLaunchKernel");
    private static final MethodHandle EVENT_CREATE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuEventCreate");
    private static final MethodHandle EVENT_RECORD = bind(FunctionDescriptor.of(JAVA_INT, H, H), "cuEventRecord");
    private static final MethodHandle EVENT_SYNCHRONIZE = bind(FunctionDescriptor.of(JAVA_INT, H), "cuEventSynchronize");
    private static final MethodHandle EVENT_ELAPSED_TIME = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H, H), "cuEventElapsedTime_v2", "cuEventElapsedTime");
    private static final MethodHandle EVENT_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuEventDestroy_v2");
    private static final MethodHandle GET_ERROR_NAME = bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorName");
    private static final MethodHandle GET_ERROR_STRING = bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorString");

    private Cuda() {
    }

    /** Binds the first of {@code names} the library exports; null when none is (or the library is missing). */
    @SuppressWarnings("restricted")
    private static MethodHandle bind(FunctionDescriptor descriptor, String... names) {
        if (LOOKUP == null) {
            return null;
        }
        for (String name : names) {
            Optional<MemorySegment> symbol = LOOKUP.find(name);
            if (symbol.isPresent()) {
                return LINKER.downcallHandle(symbol.get(), descriptor);
            }
        }
        return null;
    }

    /** The symbols this backend needs that the loaded driver does not export (empty when all are there). */
    static List<String> missingSymbols() {
        List<String> missing = new ArrayList<>();
        Object[][] required = {
            {INIT, "cuInit"}, {DEVICE_GET_COUNT, "cuDeviceGetCount"}, {DEVICE_GET, "cuDeviceGet"},
            {DEVICE_GET_NAME, "cuDeviceGetName"}, {DEVICE_GET_ATTRIBUTE, "cuDeviceGetAttribute"},
            {DEVICE_TOTAL_MEM, "cuDeviceTotalMem_v2"}, {CTX_DESTROY, "cuCtxDestroy_v2"},
            {CTX_SET_CURRENT, "cuCtxSetCurrent"}, {CTX_GET_STREAM_PRIORITY_RANGE, "cuCtxGetStreamPriorityRange"},
            {STREAM_CREATE_WITH_PRIORITY, "cuStreamCreateWithPriority"}, {STREAM_SYNCHRONIZE, "cuStreamSynchronize"},
            {STREAM_DESTROY, "cuStreamDestroy_v2"}, {MEM_ALLOC, "cuMemAlloc_v2"}, {MEM_FREE, "cuMemFree_v2"},
            {MEMCPY_HTOD_ASYNC, "cuMemcpyHtoDAsync_v2"}, {MEMCPY_DTOH_ASYNC, "cuMemcpyDtoHAsync_v2"},
            {MEMCPY_DTOD_ASYNC, "cuMemcpyDtoDAsync_v2"}, {MEMSET_D8_ASYNC, "cuMemsetD8Async"},
            {MEMSET_D32_ASYNC, "cuMemsetD32Async"}, {MEM_HOST_REGISTER, "cuMemHostRegister_v2"},
            {MEM_HOST_UNREGISTER, "cuMemHostUnregister"}, {MODULE_LOAD_DATA_EX, "cuModuleLoadDataEx"},
            {MODULE_GET_FUNCTION, "cuModuleGetFunction"}, {MODULE_UNLOAD, "cuModuleUnload"},
            {LAUNCH_KERNEL, "cuLaunchKernel"}, {EVENT_CREATE, "cuEventCreate"}, {EVENT_RECORD, "cuEventRecord"},
            {EVENT_SYNCHRONIZE, "cuEventSynchronize"}, {EVENT_ELAPSED_TIME, "cuEventElapsedTime_v2"},
            {EVENT_DESTROY, "cuEventDestroy_v2"},
        };
        for (Object[] r : required) {
            if (r[0] == null) {
                missing.add((String) r[1]);
            }
        }
        if (CTX_CREATE_V4 == null && CTX_CREATE_V2 == null) {
            missing.add("cuCtxCreate_v4/cuCtxCreate_v2");
        }
        return missing;
    }

    /** Whether the driver has {@code cuFuncGetParamInfo} (CUDA ≥ 12.4). */
    static boolean hasFuncGetParamInfo() {
        return FUNC_GET_PARAM_INFO != null;
    }

    private static IllegalStateException fail(String function, Throwable t) {
        return new IllegalStateException("native call " + function + " failed: " + t, t);
    }

    // ---- initialization and devices ----

    static int init(int flags) {
        try {
            return (int) INIT.invokeExact(flags);
        } catch (Throwable t) {
            throw fail("cuInit", t);
        }
    }

    static int driverGetVersion(MemorySegment version) {
        try {
            return DRIVER_GET_VERSION == null ? 0 : (int) DRIVER_GET_VERSION.invokeExact(version);
        } catch (Throwable t) {
            throw fail("cuDriverGetVersion", t);
        }
    }

    static int deviceGetCount(MemorySegment count) {
        try {
            return (int) DEVICE_GET_COUNT.invokeExact(count);
        } catch (Throwable t) {
            throw fail("cuDeviceGetCount", t);
        }
    }

    static int deviceGet(MemorySegment device, int ordinal) {
        try {
            return (int) DEVICE_GET.invokeExact(device, ordinal);
        } catch (Throwable t) {
            throw fail("cuDeviceGet", t);
        }
    }

    static int deviceGetName(MemorySegment name, int length, int device) {
        try {
            return (int) DEVICE_GET_NAME.invokeExact(name, length, device);
        } catch (Throwable t) {
            throw fail("cuDeviceGetName", t);
        }
    }

    static int deviceGetAttribute(MemorySegment value, int attribute, int device) {
        try {
            return (int) DEVICE_GET_ATTRIBUTE.invokeExact(value, attribute, device);
        } catch (Throwable t) {
            throw fail("cuDeviceGetAttribute", t);
        }
    }

    static int deviceTotalMem(MemorySegment bytes, int device) {
        try {
            return (int) DEVICE_TOTAL_MEM.invokeExact(bytes, device);
        } catch (Throwable t) {
            throw fail("cuDeviceTotalMem_v2", t);
        }
    }

    // ---- contexts ----

    /** {@code cuCtxCreate} (v4 with no create params where exported, else v2); the context becomes current. */
    static int ctxCreate(MemorySegment pctx, int flags, int device) {
        try {
            if (CTX_CREATE_V4 != null) {
                return (int) CTX_CREATE_V4.invokeExact(pctx, MemorySegment.NULL, flags, device);
            }
            return (int) CTX_CREATE_V2.invokeExact(pctx, flags, device);
        } catch (Throwable t) {
            throw fail("cuCtxCreate", t);
        }
    }

    static int ctxDestroy(long ctx) {
        try {
            return (int) CTX_DESTROY.invokeExact(ctx);
        } catch (Throwable t) {
            throw fail("cuCtxDestroy_v2", t);
        }
    }

    static int ctxSetCurrent(long ctx) {
        try {
            return (int) CTX_SET_CURRENT.invokeExact(ctx);
        } catch (Throwable t) {
            throw fail("cuCtxSetCurrent", t);
        }
    }

    static int ctxGetCurrent(MemorySegment pctx) {
        try {
            return (int) CTX_GET_CURRENT.invokeExact(pctx);
        } catch (Throwable t) {
            throw fail("cuCtxGetCurrent", t);
        }
    }

    static int ctxPushCurrent(long ctx) {
        try {
            return (int) CTX_PUSH_CURRENT.invokeExact(ctx);
        } catch (Throwable t) {
            throw fail("cuCtxPushCurrent_v2", t);
        }
    }

    static int ctxPopCurrent(MemorySegment pctx) {
        try {
            return (int) CTX_POP_CURRENT.invokeExact(pctx);
        } catch (Throwable t) {
            throw fail("cuCtxPopCurrent_v2", t);
        }
    }

    static int ctxSynchronize() {
        try {
            return (int) CTX_SYNCHRONIZE.invokeExact();
        } catch (Throwable t) {
            throw fail("cuCtxSynchronize", t);
        }
    }

    static int ctxGetStreamPriorityRange(MemorySegment least, MemorySegment greatest) {
        try {
            return (int) CTX_GET_STREAM_PRIORITY_RANGE.invokeExact(least, greatest);
        } catch (Throwable t) {
            throw fail("cuCtxGetStreamPriorityRange", t);
        }
    }

    // ---- streams ----

    static int streamCreateWithPriority(MemorySegment stream, int flags, int priority) {
        try {
            return (int) STREAM_CREATE_WITH_PRIORITY.invokeExact(stream, flags, priority);
        } catch (Throwable t) {
            throw fail("cuStreamCreateWithPriority", t);
        }
    }

    static int streamSynchronize(long stream) {
        try {
            return (int) STREAM_SYNCHRONIZE.invokeExact(stream);
        } catch (Throwable t) {
            throw fail("cuStreamSynchronize", t);
        }
    }

    static int streamDestroy(long stream) {
        try {
            return (int) STREAM_DESTROY.invokeExact(stream);
        } catch (Throwable t) {
            throw fail("cuStreamDestroy_v2", t);
        }
    }

    // ---- memory ----

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

    // ---- modules and kernels ----

    static int moduleLoadData(MemorySegment module, MemorySegment image) {
        try {
            return (int) MODULE_LOAD_DATA.invokeExact(module, image);
        } catch (Throwable t) {
            throw fail("cuModuleLoadData", t);
        }
    }

    static int moduleLoadDataEx(MemorySegment module, MemorySegment image, int numOptions, MemorySegment options,
            MemorySegment values) {
        try {
            return (int) MODULE_LOAD_DATA_EX.invokeExact(module, image, numOptions, options, values);
        } catch (Throwable t) {
            throw fail("cuModuleLoadDataEx", t);
        }
    }

    static int moduleGetFunction(MemorySegment function, long module, MemorySegment name) {
        try {
            return (int) MODULE_GET_FUNCTION.invokeExact(function, module, name);
        } catch (Throwable t) {
            throw fail("cuModuleGetFunction", t);
        }
    }

    static int moduleUnload(long module) {
        try {
            return (int) MODULE_UNLOAD.invokeExact(module);
        } catch (Throwable t) {
            throw fail("cuModuleUnload", t);
        }
    }

    static int funcGetParamInfo(long function, long index, MemorySegment offset, MemorySegment size) {
        try {
            return (int) FUNC_GET_PARAM_INFO.invokeExact(function, index, offset, size);
        } catch (Throwable t) {
            throw fail("cuFuncGetParamInfo", t);
        }
    }

    static int funcGetAttribute(MemorySegment value, int attribute, long function) {
        try {
            return FUNC_GET_ATTRIBUTE == null ? 801 : (int) FUNC_GET_ATTRIBUTE.invokeExact(value, attribute, function);
        } catch (Throwable t) {
            throw fail("cuFuncGetAttribute", t);
        }
    }

    static int launchKernel(long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedMemBytes,
            long stream, MemorySegment kernelParams) {
        try {
            return (int) LAUNCH_KERNEL.invokeExact(function, gx, gy, gz, bx, by, bz, sharedMemBytes, stream, kernelParams,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw fail("cuLaunchKernel", t);
        }
    }

    // ---- events ----

    static int eventCreate(MemorySegment event, int flags) {
        try {
            return (int) EVENT_CREATE.invokeExact(event, flags);
        } catch (Throwable t) {
            throw fail("cuEventCreate", t);
        }
    }

    static int eventRecord(long event, long stream) {
        try {
            return (int) EVENT_RECORD.invokeExact(event, stream);
        } catch (Throwable t) {
            throw fail("cuEventRecord", t);
        }
    }

    static int eventSynchronize(long event) {
        try {
            return (int) EVENT_SYNCHRONIZE.invokeExact(event);
        } catch (Throwable t) {
            throw fail("cuEventSynchronize", t);
        }
    }

    static int eventElapsedTime(MemorySegment millis, long start, long end) {
        try {
            return (int) EVENT_ELAPSED_TIME.invokeExact(millis, start, end);
        } catch (Throwable t) {
            throw fail("cuEventElapsedTime", t);
        }
    }

    static int eventDestroy(long event) {
        try {
            return (int) EVENT_DESTROY.invokeExact(event);
        } catch (Throwable t) {
            throw fail("cuEventDestroy_v2", t);
        }
    }

    // ---- errors ----

    /**
     * The driver's own name and description of an error ({@code cuGetErrorName}, {@code cuGetErrorString}), e.g.
     * {@code "an illegal memory access was encountered"}; null when the driver does not know the code.
     */
    static String errorString(int code) {
        if (GET_ERROR_STRING == null) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            int rc = (int) GET_ERROR_STRING.invokeExact(code, p);
            if (rc != 0) {
                return null;
            }
            MemorySegment s = p.get(ADDRESS, 0);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(4096).getString(0, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            return null;
        }
    }

    /** {@code cuGetErrorName}; null when unknown. */
    static String errorName(int code) {
        if (GET_ERROR_NAME == null) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            int rc = (int) GET_ERROR_NAME.invokeExact(code, p);
            if (rc != 0) {
                return null;
            }
            MemorySegment s = p.get(ADDRESS, 0);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(256).getString(0, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            return null;
        }
    }

    // ---- helpers ----

    /** An integer device attribute, or {@code fallback} when the query fails. */
    static int attribute(int device, int attribute, int fallback) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            return deviceGetAttribute(v, attribute, device) == 0 ? v.get(JAVA_INT, 0) : fallback;
        }
    }

    /** Milliseconds between two recorded events, or NaN when unknown (e.g. an event without timing). */
    static float elapsedMillis(MemorySegment scratch, long start, long end) {
        return eventElapsedTime(scratch, start, end) == 0 ? scratch.get(JAVA_FLOAT, 0) : Float.NaN;
    }
}
