package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
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
import java.util.Optional;

/**
 * FFM bindings of the OpenCL functions Ferry uses, found in the ICD loader {@code libOpenCL.so.1}.
 *
 * <p>Opaque OpenCL objects ({@code cl_platform_id}, {@code cl_context}, {@code cl_mem}, ...) and {@code size_t} are
 * bound as {@code long} (LP64: pointers and {@code size_t} are 64-bit and passed like {@code long}), which keeps the
 * hot paths free of {@link MemorySegment} wrappers. Pointers to data are bound as addresses.
 *
 * <p>Each wrapper returns the raw {@code cl_int} status (or the object, with the status written to an
 * {@code errcode_ret} segment); turning statuses into exceptions is {@link ClErrors}' job. When the library is
 * missing, {@link #AVAILABLE} is false and no wrapper may be called.
 */
final class OpenCL {
    // ---- constants (cl.h) ----
    static final int CL_SUCCESS = 0;
    static final long CL_DEVICE_TYPE_CPU = 1L << 1, CL_DEVICE_TYPE_GPU = 1L << 2, CL_DEVICE_TYPE_ACCELERATOR = 1L << 3;
    static final long CL_DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int CL_PLATFORM_VERSION = 0x0901, CL_PLATFORM_NAME = 0x0902;
    static final int CL_DEVICE_TYPE = 0x1000, CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002, CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004;
    static final int CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F, CL_DEVICE_LOCAL_MEM_SIZE = 0x1023;
    static final int CL_DEVICE_NAME = 0x102B, CL_DEVICE_VENDOR = 0x102C, CL_DEVICE_VERSION = 0x102F;
    static final int CL_DEVICE_EXTENSIONS = 0x1030;
    static final long CL_QUEUE_PROFILING_ENABLE = 1L << 1;
    static final long CL_QUEUE_PROPERTIES = 0x1093, CL_QUEUE_PRIORITY_KHR = 0x1096;
    static final long CL_QUEUE_PRIORITY_HIGH_KHR = 1, CL_QUEUE_PRIORITY_MED_KHR = 2, CL_QUEUE_PRIORITY_LOW_KHR = 4;
    static final long CL_MEM_READ_WRITE = 1, CL_MEM_WRITE_ONLY = 2, CL_MEM_READ_ONLY = 4, CL_MEM_USE_HOST_PTR = 8;
    static final int CL_PROGRAM_KERNEL_NAMES = 0x1168, CL_PROGRAM_BUILD_LOG = 0x1183;
    static final int CL_KERNEL_NUM_ARGS = 0x1191;
    static final int CL_KERNEL_WORK_GROUP_SIZE = 0x11B0, CL_KERNEL_LOCAL_MEM_SIZE = 0x11B2;
    static final int CL_KERNEL_ARG_ADDRESS_QUALIFIER = 0x1196, CL_KERNEL_ARG_TYPE_NAME = 0x1198, CL_KERNEL_ARG_NAME = 0x119A;
    static final int CL_KERNEL_ARG_ADDRESS_GLOBAL = 0x119B, CL_KERNEL_ARG_ADDRESS_LOCAL = 0x119C;
    static final int CL_KERNEL_ARG_ADDRESS_CONSTANT = 0x119D, CL_KERNEL_ARG_ADDRESS_PRIVATE = 0x119E;
    static final int CL_PROFILING_COMMAND_QUEUED = 0x1280, CL_PROFILING_COMMAND_SUBMIT = 0x1281;
    static final int CL_PROFILING_COMMAND_START = 0x1282, CL_PROFILING_COMMAND_END = 0x1283;
    static final int CL_DEVICE_QUEUE_PROPERTIES = 0x102A;
    static final long CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE = 1;
    static final int CL_EVENT_COMMAND_EXECUTION_STATUS = 0x11D3;
    static final int CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE = 0x11B3, CL_KERNEL_PRIVATE_MEM_SIZE = 0x11B4;

    static final String LIBRARY = "libOpenCL.so.1";

    private static final MemoryLayout H = JAVA_LONG; // opaque handle or size_t
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP;
    /** Why the library could not be loaded; null when it was. */
    static final String LOAD_ERROR;
    static final boolean AVAILABLE;

    @SuppressWarnings("restricted")
    private static SymbolLookup load() {
        return SymbolLookup.libraryLookup(LIBRARY, Arena.global());
    }

    static {
        SymbolLookup lookup = null;
        String error = null;
        addNvidiaIcd(); // before the loader reads its vendors
        try {
            lookup = load();
        } catch (RuntimeException | Error e) {
            error = e.toString();
        }
        LOOKUP = lookup;
        LOAD_ERROR = error;
        AVAILABLE = lookup != null;
    }

    /**
     * Points ocl-icd at a vendors directory that adds NVIDIA's OpenCL where the driver's library is present but no
     * {@code .icd} file lists it ({@link IcdVendors}): sets {@code OCL_ICD_VENDORS} in this process's C environment.
     * Any failure leaves the system's vendors as they are.
     */
    @SuppressWarnings("restricted")
    private static void addNvidiaIcd() {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("ferry.opencl");
        try {
            IcdVendors.Decision d = IcdVendors.decide(System.getenv(), java.nio.file.Path.of("/"), null);
            if (!d.added()) {
                log.fine(() -> "OpenCL vendors unchanged: " + d.reason());
                return;
            }
            MethodHandle setenv = LINKER.downcallHandle(LINKER.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            int rc;
            try (Arena arena = Arena.ofConfined()) {
                // overwrite 0: a value native code set since the JVM started stays
                rc = (int) setenv.invokeExact(arena.allocateFrom("OCL_ICD_VENDORS"),
                        arena.allocateFrom(d.directory().toString()), 0);
            }
            if (rc != 0) {
                log.warning("could not add NVIDIA's OpenCL (" + d.library() + "): setenv(OCL_ICD_VENDORS) failed; "
                        + "using the system's OpenCL vendors");
                return;
            }
            log.info("added NVIDIA's OpenCL from " + d.library() + " because no .icd file in /etc/OpenCL/vendors "
                    + "listed it: OCL_ICD_VENDORS=" + d.directory() + " (set OCL_ICD_VENDORS to choose the vendors)");
        } catch (Throwable t) {
            log.warning("could not add NVIDIA's OpenCL (" + t + "); using the system's OpenCL vendors");
        }
    }

    private static final FunctionDescriptor INFO = FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, H, ADDRESS, ADDRESS);

    private static final MethodHandle GET_PLATFORM_IDS = bind("clGetPlatformIDs", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GET_PLATFORM_INFO = bind("clGetPlatformInfo", INFO);
    private static final MethodHandle GET_DEVICE_IDS = bind("clGetDeviceIDs", FunctionDescriptor.of(JAVA_INT, H, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GET_DEVICE_INFO = bind("clGetDeviceInfo", INFO);
    private static final MethodHandle CREATE_CONTEXT = bind("clCreateContext", FunctionDescriptor.of(H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle CREATE_QUEUE = bind("clCreateCommandQueue", FunctionDescriptor.of(H, H, H, JAVA_LONG, ADDRESS));
    private static final MethodHandle CREATE_QUEUE_WITH_PROPERTIES = bind("clCreateCommandQueueWithProperties", FunctionDescriptor.of(H, H, H, ADDRESS, ADDRESS));
    private static final MethodHandle CREATE_BUFFER = bind("clCreateBuffer", FunctionDescriptor.of(H, H, JAVA_LONG, H, ADDRESS, ADDRESS));
    private static final MethodHandle CREATE_PROGRAM_WITH_SOURCE = bind("clCreateProgramWithSource", FunctionDescriptor.of(H, H, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle BUILD_PROGRAM = bind("clBuildProgram", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle GET_PROGRAM_INFO = bind("clGetProgramInfo", INFO);
    private static final MethodHandle GET_PROGRAM_BUILD_INFO = bind("clGetProgramBuildInfo", FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, H, ADDRESS, ADDRESS));
    private static final MethodHandle CREATE_KERNEL = bind("clCreateKernel", FunctionDescriptor.of(H, H, ADDRESS, ADDRESS));
    private static final MethodHandle GET_KERNEL_INFO = bind("clGetKernelInfo", INFO);
    private static final MethodHandle GET_KERNEL_WORK_GROUP_INFO = bind("clGetKernelWorkGroupInfo", FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, H, ADDRESS, ADDRESS));
    private static final MethodHandle GET_KERNEL_ARG_INFO = bind("clGetKernelArgInfo", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, JAVA_INT, H, ADDRESS, ADDRESS));
    private static final MethodHandle SET_KERNEL_ARG = bind("clSetKernelArg", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, H, ADDRESS), Linker.Option.critical(false));
    private static final MethodHandle ENQUEUE_WRITE = bind("clEnqueueWriteBuffer", FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, H, H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ENQUEUE_READ = bind("clEnqueueReadBuffer", FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, H, H, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ENQUEUE_COPY = bind("clEnqueueCopyBuffer", FunctionDescriptor.of(JAVA_INT, H, H, H, H, H, H, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ENQUEUE_FILL = bind("clEnqueueFillBuffer", FunctionDescriptor.of(JAVA_INT, H, H, ADDRESS, H, H, H, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ENQUEUE_ND_RANGE = bind("clEnqueueNDRangeKernel", FunctionDescriptor.of(JAVA_INT, H, H, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle FLUSH = bind("clFlush", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle FINISH = bind("clFinish", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle WAIT_FOR_EVENTS = bind("clWaitForEvents", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle GET_EVENT_PROFILING_INFO = bind("clGetEventProfilingInfo", INFO);
    private static final MethodHandle GET_EVENT_INFO = bind("clGetEventInfo", INFO);
    private static final MethodHandle ENQUEUE_MARKER = bind("clEnqueueMarkerWithWaitList", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ENQUEUE_BARRIER = bind("clEnqueueBarrierWithWaitList", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle CREATE_USER_EVENT = bind("clCreateUserEvent", FunctionDescriptor.of(H, H, ADDRESS));
    private static final MethodHandle SET_USER_EVENT_STATUS = bind("clSetUserEventStatus", FunctionDescriptor.of(JAVA_INT, H, JAVA_INT));
    private static final MethodHandle RELEASE_CONTEXT = bind("clReleaseContext", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_QUEUE = bind("clReleaseCommandQueue", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_MEM = bind("clReleaseMemObject", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_PROGRAM = bind("clReleaseProgram", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_KERNEL = bind("clReleaseKernel", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_EVENT = bind("clReleaseEvent", FunctionDescriptor.of(JAVA_INT, H));
    private static final MethodHandle RELEASE_SAMPLER = bind("clReleaseSampler", FunctionDescriptor.of(JAVA_INT, H));

    private OpenCL() {
    }

    @SuppressWarnings("restricted")
    static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        if (LOOKUP == null) {
            return null;
        }
        Optional<MemorySegment> symbol = LOOKUP.find(name);
        return symbol.map(s -> LINKER.downcallHandle(s, descriptor, options)).orElse(null);
    }

    /** Whether the loader exports {@code clCreateCommandQueueWithProperties} (OpenCL 2.0+ loaders do). */
    static boolean hasCreateQueueWithProperties() {
        return CREATE_QUEUE_WITH_PROPERTIES != null;
    }

    private static IllegalStateException fail(String function, Throwable t) {
        return new IllegalStateException("native call " + function + " failed: " + t, t);
    }

    // ---- discovery and info queries ----

    static int getPlatformIDs(int numEntries, MemorySegment platforms, MemorySegment numPlatforms) {
        try {
            return (int) GET_PLATFORM_IDS.invokeExact(numEntries, platforms, numPlatforms);
        } catch (Throwable t) {
            throw fail("clGetPlatformIDs", t);
        }
    }

    static int getDeviceIDs(long platform, long type, int numEntries, MemorySegment devices, MemorySegment numDevices) {
        try {
            return (int) GET_DEVICE_IDS.invokeExact(platform, type, numEntries, devices, numDevices);
        } catch (Throwable t) {
            throw fail("clGetDeviceIDs", t);
        }
    }

    /** Object kinds for the generic {@code clGet*Info(object, param, size, value, size_ret)} calls. */
    enum Info {
        PLATFORM, DEVICE, PROGRAM, KERNEL, EVENT_PROFILING, EVENT;

        int call(long object, int param, long size, MemorySegment value, MemorySegment sizeRet) {
            MethodHandle mh = switch (this) {
                case PLATFORM -> GET_PLATFORM_INFO;
                case DEVICE -> GET_DEVICE_INFO;
                case PROGRAM -> GET_PROGRAM_INFO;
                case KERNEL -> GET_KERNEL_INFO;
                case EVENT_PROFILING -> GET_EVENT_PROFILING_INFO;
                case EVENT -> GET_EVENT_INFO;
            };
            try {
                return (int) mh.invokeExact(object, param, size, value, sizeRet);
            } catch (Throwable t) {
                throw fail("clGet" + name() + "Info", t);
            }
        }
    }

    static int getProgramBuildInfo(long program, long device, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try {
            return (int) GET_PROGRAM_BUILD_INFO.invokeExact(program, device, param, size, value, sizeRet);
        } catch (Throwable t) {
            throw fail("clGetProgramBuildInfo", t);
        }
    }

    static int getKernelWorkGroupInfo(long kernel, long device, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try {
            return (int) GET_KERNEL_WORK_GROUP_INFO.invokeExact(kernel, device, param, size, value, sizeRet);
        } catch (Throwable t) {
            throw fail("clGetKernelWorkGroupInfo", t);
        }
    }

    static int getKernelArgInfo(long kernel, int index, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try {
            return (int) GET_KERNEL_ARG_INFO.invokeExact(kernel, index, param, size, value, sizeRet);
        } catch (Throwable t) {
            throw fail("clGetKernelArgInfo", t);
        }
    }

    // ---- object creation ----

    static long createContext(MemorySegment devices, int numDevices, MemorySegment errcode) {
        try {
            return (long) CREATE_CONTEXT.invokeExact(MemorySegment.NULL, numDevices, devices, MemorySegment.NULL,
                    MemorySegment.NULL, errcode);
        } catch (Throwable t) {
            throw fail("clCreateContext", t);
        }
    }

    static long createCommandQueue(long context, long device, long properties, MemorySegment errcode) {
        try {
            return (long) CREATE_QUEUE.invokeExact(context, device, properties, errcode);
        } catch (Throwable t) {
            throw fail("clCreateCommandQueue", t);
        }
    }

    static long createCommandQueueWithProperties(long context, long device, MemorySegment properties, MemorySegment errcode) {
        try {
            return (long) CREATE_QUEUE_WITH_PROPERTIES.invokeExact(context, device, properties, errcode);
        } catch (Throwable t) {
            throw fail("clCreateCommandQueueWithProperties", t);
        }
    }

    static long createBuffer(long context, long flags, long size, MemorySegment hostPtr, MemorySegment errcode) {
        try {
            return (long) CREATE_BUFFER.invokeExact(context, flags, size, hostPtr, errcode);
        } catch (Throwable t) {
            throw fail("clCreateBuffer", t);
        }
    }

    static long createProgramWithSource(long context, MemorySegment strings, MemorySegment lengths, MemorySegment errcode) {
        try {
            return (long) CREATE_PROGRAM_WITH_SOURCE.invokeExact(context, 1, strings, lengths, errcode);
        } catch (Throwable t) {
            throw fail("clCreateProgramWithSource", t);
        }
    }

    static int buildProgram(long program, MemorySegment device, MemorySegment options) {
        try {
            return (int) BUILD_PROGRAM.invokeExact(program, 1, device, options, MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw fail("clBuildProgram", t);
        }
    }

    static long createKernel(long program, MemorySegment name, MemorySegment errcode) {
        try {
            return (long) CREATE_KERNEL.invokeExact(program, name, errcode);
        } catch (Throwable t) {
            throw fail("clCreateKernel", t);
        }
    }

    // ---- hot paths ----

    static int setKernelArg(long kernel, int index, long size, MemorySegment value) {
        try {
            return (int) SET_KERNEL_ARG.invokeExact(kernel, index, size, value);
        } catch (Throwable t) {
            throw fail("clSetKernelArg", t);
        }
    }

    static int enqueueWriteBuffer(long queue, long buffer, long offset, long size, MemorySegment src, int waits,
            MemorySegment waitList, MemorySegment event) {
        try {
            return (int) ENQUEUE_WRITE.invokeExact(queue, buffer, 0, offset, size, src, waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueWriteBuffer", t);
        }
    }

    static int enqueueReadBuffer(long queue, long buffer, long offset, long size, MemorySegment dst, int waits,
            MemorySegment waitList, MemorySegment event) {
        try {
            return (int) ENQUEUE_READ.invokeExact(queue, buffer, 0, offset, size, dst, waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueReadBuffer", t);
        }
    }

    static int enqueueCopyBuffer(long queue, long src, long dst, long srcOffset, long dstOffset, long size, int waits,
            MemorySegment waitList, MemorySegment event) {
        try {
            return (int) ENQUEUE_COPY.invokeExact(queue, src, dst, srcOffset, dstOffset, size, waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueCopyBuffer", t);
        }
    }

    static int enqueueFillBuffer(long queue, long buffer, MemorySegment pattern, long patternSize, long offset, long size,
            int waits, MemorySegment waitList, MemorySegment event) {
        try {
            return (int) ENQUEUE_FILL.invokeExact(queue, buffer, pattern, patternSize, offset, size, waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueFillBuffer", t);
        }
    }

    static int enqueueNDRangeKernel(long queue, long kernel, int dims, MemorySegment offset, MemorySegment global,
            MemorySegment local, int waits, MemorySegment waitList, MemorySegment event) {
        try {
            return (int) ENQUEUE_ND_RANGE.invokeExact(queue, kernel, dims, offset, global, local, waits, waitList, event);
        } catch (Throwable t) {
            throw fail("clEnqueueNDRangeKernel", t);
        }
    }

    /** {@code clEnqueueMarkerWithWaitList}, or the barrier's when {@code barrier}; -30 (CL_INVALID_VALUE) if absent. */
    static int enqueueMarker(boolean barrier, long queue, int waits, MemorySegment waitList, MemorySegment event) {
        MethodHandle mh = barrier ? ENQUEUE_BARRIER : ENQUEUE_MARKER;
        if (mh == null) {
            return -30;
        }
        try {
            return (int) mh.invokeExact(queue, waits, waitList, event);
        } catch (Throwable t) {
            throw fail(barrier ? "clEnqueueBarrierWithWaitList" : "clEnqueueMarkerWithWaitList", t);
        }
    }

    static long createUserEvent(long context, MemorySegment errcode) {
        try {
            return (long) CREATE_USER_EVENT.invokeExact(context, errcode);
        } catch (Throwable t) {
            throw fail("clCreateUserEvent", t);
        }
    }

    static int setUserEventStatus(long event, int status) {
        try {
            return (int) SET_USER_EVENT_STATUS.invokeExact(event, status);
        } catch (Throwable t) {
            throw fail("clSetUserEventStatus", t);
        }
    }

    static int getKernelWorkGroupInfo(long kernel, long device, int param, long size, MemorySegment value) {
        return getKernelWorkGroupInfo(kernel, device, param, size, value, MemorySegment.NULL);
    }

    static int flush(long queue) {
        try {
            return (int) FLUSH.invokeExact(queue);
        } catch (Throwable t) {
            throw fail("clFlush", t);
        }
    }

    static int finish(long queue) {
        try {
            return (int) FINISH.invokeExact(queue);
        } catch (Throwable t) {
            throw fail("clFinish", t);
        }
    }

    static int waitForEvents(int count, MemorySegment events) {
        try {
            return (int) WAIT_FOR_EVENTS.invokeExact(count, events);
        } catch (Throwable t) {
            throw fail("clWaitForEvents", t);
        }
    }

    // ---- release ----

    /** Kinds of releasable objects, each with its {@code clRelease*} function. */
    enum Release {
        CONTEXT("clReleaseContext"), QUEUE("clReleaseCommandQueue"), MEM("clReleaseMemObject"),
        PROGRAM("clReleaseProgram"), KERNEL("clReleaseKernel"), EVENT("clReleaseEvent"),
        SAMPLER("clReleaseSampler");

        final String function;

        Release(String function) {
            this.function = function;
        }

        int call(long object) {
            MethodHandle mh = switch (this) {
                case CONTEXT -> RELEASE_CONTEXT;
                case QUEUE -> RELEASE_QUEUE;
                case MEM -> RELEASE_MEM;
                case PROGRAM -> RELEASE_PROGRAM;
                case KERNEL -> RELEASE_KERNEL;
                case EVENT -> RELEASE_EVENT;
                case SAMPLER -> RELEASE_SAMPLER;
            };
            try {
                return (int) mh.invokeExact(object);
            } catch (Throwable t) {
                throw fail(function, t);
            }
        }
    }

    // ---- helpers ----

    /** A NUL-terminated UTF-8 string in {@code arena}. */
    static MemorySegment cString(Arena arena, String s) {
        return arena.allocateFrom(s, StandardCharsets.UTF_8);
    }

    /** Reads a string-valued info parameter; returns null (and leaves the status in {@code status[0]}) on failure. */
    static String infoString(Info kind, long object, int param, int[] status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            int rc = kind.call(object, param, 0, MemorySegment.NULL, size);
            if (rc == CL_SUCCESS) {
                long n = size.get(JAVA_LONG, 0);
                MemorySegment value = arena.allocate(Math.max(n, 1));
                rc = kind.call(object, param, n, value, MemorySegment.NULL);
                if (rc == CL_SUCCESS) {
                    status[0] = rc;
                    return n == 0 ? "" : value.getString(0, StandardCharsets.UTF_8).strip();
                }
            }
            status[0] = rc;
            return null;
        }
    }

    /** Reads a numeric info parameter of {@code bytes} (4 or 8) bytes; returns {@code fallback} on failure. */
    static long infoNumber(Info kind, long object, int param, int bytes, long fallback) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(8);
            int rc = kind.call(object, param, bytes, value, MemorySegment.NULL);
            if (rc != CL_SUCCESS) {
                return fallback;
            }
            return bytes == 4 ? Integer.toUnsignedLong(value.get(JAVA_INT, 0)) : value.get(JAVA_LONG, 0);
        }
    }
}
