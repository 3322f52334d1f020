package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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
    static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    static final int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
    static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    static final int CU_MEMHOSTREGISTER_PORTABLE = 1;
    static final int CU_CTX_SCHED_AUTO = 0;
    static final int CU_STREAM_DEFAULT = 0;
    static final int CU_EVENT_DEFAULT = 0, CU_EVENT_BLOCKING_SYNC = 1, CU_EVENT_DISABLE_TIMING = 2;
    static final int CU_JIT_INFO_LOG_BUFFER = 3, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    static final int CU_JIT_ERROR_LOG_BUFFER = 5, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    static final MemoryLayout H = JAVA_LONG; // handle, CUdeviceptr, size_t, host address

    /**
     * One bound driver function: the symbols tried in order (the first is the one {@code cuda.h} maps the API name
     * to; later ones are older exported versions), its descriptor, whether the backend cannot work without it, and
     * the handle (null when the driver exports none of the names, or there is no driver).
     */
    record Binding(List<String> names, FunctionDescriptor descriptor, boolean required, MethodHandle handle) {
    }

    /** Every {@link #bind} and {@link #bindOptional} so far, in order ({@link #bindings()} has them all). */
    private static final List<Binding> BINDINGS = new ArrayList<>();
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
    private static final MethodHandle DRIVER_GET_VERSION = bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuDriverGetVersion");
    private static final MethodHandle DEVICE_GET_COUNT = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuDeviceGetCount");
    private static final MethodHandle DEVICE_GET = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceGet");
    private static final MethodHandle DEVICE_GET_NAME = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetName");
    private static final MethodHandle DEVICE_GET_ATTRIBUTE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetAttribute");
    /** {@code cuDeviceGetPCIBusId(char*, int, CUdevice)}: optional, for the host's VFIO check. */
    private static final MethodHandle DEVICE_GET_PCI_BUS_ID = bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetPCIBusId");
    private static final MethodHandle DEVICE_TOTAL_MEM = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceTotalMem_v2");
    /** {@code cuCtxCreate_v4(CUcontext*, CUctxCreateParams*, unsigned flags, CUdevice)} (CUDA ≥ 12.5). */
    private static final MethodHandle CTX_CREATE_V4 = bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT), "cuCtxCreate_v4");
    /** {@code cuCtxCreate_v2(CUcontext*, unsigned flags, CUdevice)}. */
    private static final MethodHandle CTX_CREATE_V2 = bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuCtxCreate_v2");
    private static final MethodHandle CTX_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuCtxDestroy_v2");
    /** {@code cuCtxPopCurrent_v2(CUcontext*)}: takes a new context off the creating thread's stack. */
    private static final MethodHandle CTX_POP_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuCtxPopCurrent_v2");
    private static final MethodHandle CTX_SET_CURRENT = bind(FunctionDescriptor.of(JAVA_INT, H), "cuCtxSetCurrent");
    private static final MethodHandle CTX_GET_STREAM_PRIORITY_RANGE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "cuCtxGetStreamPriorityRange");
    private static final MethodHandle STREAM_CREATE_WITH_PRIORITY = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuStreamCreateWithPriority");
    private static final MethodHandle STREAM_SYNCHRONIZE = bind(FunctionDescriptor.of(JAVA_INT, H), "cuStreamSynchronize");
    private static final MethodHandle STREAM_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuStreamDestroy_v2");
    private static final MethodHandle EVENT_CREATE = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuEventCreate");
    private static final MethodHandle EVENT_RECORD = bind(FunctionDescriptor.of(JAVA_INT, H, H), "cuEventRecord");
    private static final MethodHandle EVENT_SYNCHRONIZE = bind(FunctionDescriptor.of(JAVA_INT, H), "cuEventSynchronize");
    private static final MethodHandle EVENT_ELAPSED_TIME = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H, H), "cuEventElapsedTime_v2", "cuEventElapsedTime");
    private static final MethodHandle EVENT_DESTROY = bind(FunctionDescriptor.of(JAVA_INT, H), "cuEventDestroy_v2");
    private static final MethodHandle GET_ERROR_NAME = bindOptional(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorName");
    private static final MethodHandle GET_ERROR_STRING = bindOptional(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorString");

    private Cuda() {
    }

    /** Binds the first of {@code names} the library exports; null when none is (or the library is missing). */
    static MethodHandle bind(FunctionDescriptor descriptor, String... names) {
        return record(descriptor, true, names);
    }

    /** As {@link #bind}, for a function the backend works without (its callers check for null). */
    static MethodHandle bindOptional(FunctionDescriptor descriptor, String... names) {
        return record(descriptor, false, names);
    }

    @SuppressWarnings("restricted")
    private static MethodHandle record(FunctionDescriptor descriptor, boolean required, String... names) {
        MethodHandle handle = null;
        if (LOOKUP != null) {
            for (String name : names) {
                Optional<MemorySegment> symbol = LOOKUP.find(name);
                if (symbol.isPresent()) {
                    handle = LINKER.downcallHandle(symbol.get(), descriptor);
                    break;
                }
            }
        }
        synchronized (BINDINGS) {
            BINDINGS.add(new Binding(List.of(names), descriptor, required, handle));
        }
        return handle;
    }

    /** Every driver function this backend binds (those of {@link CudaMemory} and {@link CudaModules} too). */
    static List<Binding> bindings() {
        Object memory = CudaMemory.MEM_ALLOC; // initialises the classes that bind the rest
        Object modules = CudaModules.LAUNCH_KERNEL;
        synchronized (BINDINGS) {
            return List.copyOf(BINDINGS);
        }
    }

    /** The symbols this backend needs that the loaded driver does not export (empty when all are there). */
    static List<String> missingSymbols() {
        List<String> missing = new ArrayList<>();
        for (Binding b : bindings()) {
            if (b.required() && b.handle() == null) {
                missing.add(String.join("/", b.names()));
            }
        }
        if (CTX_CREATE_V4 == null && CTX_CREATE_V2 == null) {
            missing.add("cuCtxCreate_v4/cuCtxCreate_v2");
        }
        return missing;
    }

    static IllegalStateException fail(String function, Throwable t) {
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

    /** The driver's CUDA version ({@code 13000} for 13.0), or 0 when there is no driver or it does not say. */
    static int driverVersion() {
        return DriverVersion.CODE;
    }

    /** Asked once: the driver's version does not change while it is loaded. */
    private static final class DriverVersion {
        static final int CODE = query();

        private static int query() {
            if (!AVAILABLE || DRIVER_GET_VERSION == null) {
                return 0;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment v = arena.allocate(JAVA_INT);
                return driverGetVersion(v) == 0 ? v.get(JAVA_INT, 0) : 0;
            }
        }
    }

    /** A version in the driver's encoding ({@code major * 1000 + minor * 10}) as text: 12080 → {@code "12.8"}. */
    static String versionText(int code) {
        return code / 1000 + "." + code % 1000 / 10;
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

    /** The device's PCI bus id ({@code 00000000:01:00.0}), or null when the driver lacks the call or fails. */
    static String pciBusId(int device) {
        if (DEVICE_GET_PCI_BUS_ID == null) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocate(64);
            int rc = (int) DEVICE_GET_PCI_BUS_ID.invokeExact(id, 64, device);
            return rc == 0 ? id.getString(0, java.nio.charset.StandardCharsets.US_ASCII).strip() : null;
        } catch (Throwable t) {
            throw fail("cuDeviceGetPCIBusId", t);
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

    /** {@code cuCtxPopCurrent}: pops the calling thread's current context into {@code pctx}. */
    static int ctxPopCurrent(MemorySegment pctx) {
        try {
            return (int) CTX_POP_CURRENT.invokeExact(pctx);
        } catch (Throwable t) {
            throw fail("cuCtxPopCurrent_v2", t);
        }
    }

    static int ctxSetCurrent(long ctx) {
        try {
            return (int) CTX_SET_CURRENT.invokeExact(ctx);
        } catch (Throwable t) {
            throw fail("cuCtxSetCurrent", t);
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
