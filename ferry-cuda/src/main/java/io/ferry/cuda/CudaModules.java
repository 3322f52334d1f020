package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static io.ferry.cuda.Cuda.H;
import static io.ferry.cuda.Cuda.fail;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** FFM bindings of the CUDA driver's module and kernel functions (load, look up, launch); see {@link Cuda}. */
final class CudaModules {
    static final MethodHandle MODULE_LOAD_DATA_EX = Cuda.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), "cuModuleLoadDataEx");
    static final MethodHandle MODULE_GET_FUNCTION = Cuda.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, H, ADDRESS), "cuModuleGetFunction");
    static final MethodHandle MODULE_UNLOAD = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H), "cuModuleUnload");
    /** {@code cuFuncGetParamInfo(CUfunction, size_t index, size_t* offset, size_t* size)}: CUDA ≥ 12.4; may be null. */
    static final MethodHandle FUNC_GET_PARAM_INFO = Cuda.bindOptional(FunctionDescriptor.of(JAVA_INT, H, H, ADDRESS, ADDRESS), "cuFuncGetParamInfo");
    static final MethodHandle FUNC_GET_ATTRIBUTE = Cuda.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, H), "cuFuncGetAttribute");
    /** {@code cuFuncSetAttribute(CUfunction, CUfunction_attribute, int)}: the dynamic shared memory opt-in. */
    static final MethodHandle FUNC_SET_ATTRIBUTE = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, JAVA_INT), "cuFuncSetAttribute");
    /** {@code cuModuleGetFunctionCount(unsigned*, CUmodule)}, CUDA ≥ 12.4: the kernels of a cubin; may be null. */
    static final MethodHandle MODULE_GET_FUNCTION_COUNT = Cuda.bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuModuleGetFunctionCount");
    /** {@code cuModuleEnumerateFunctions(CUfunction*, unsigned, CUmodule)}, CUDA ≥ 12.4; may be null. */
    static final MethodHandle MODULE_ENUMERATE_FUNCTIONS = Cuda.bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, H), "cuModuleEnumerateFunctions");
    /** {@code cuFuncGetName(const char**, CUfunction)}, CUDA ≥ 12.3; may be null. */
    static final MethodHandle FUNC_GET_NAME = Cuda.bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, H), "cuFuncGetName");
    static final MethodHandle LAUNCH_KERNEL = Cuda.bind(FunctionDescriptor.of(JAVA_INT, H, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, H, ADDRESS, ADDRESS), "cuLaunchKernel");

    private CudaModules() {
    }

    /** Whether the driver has {@code cuFuncGetParamInfo} (CUDA ≥ 12.4). */
    static boolean hasFuncGetParamInfo() {
        return FUNC_GET_PARAM_INFO != null;
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
            return (int) FUNC_GET_ATTRIBUTE.invokeExact(value, attribute, function);
        } catch (Throwable t) {
            throw fail("cuFuncGetAttribute", t);
        }
    }

    static int funcSetAttribute(long function, int attribute, int value) {
        try {
            return (int) FUNC_SET_ATTRIBUTE.invokeExact(function, attribute, value);
        } catch (Throwable t) {
            throw fail("cuFuncSetAttribute", t);
        }
    }

    /** Whether the driver can list a module's kernels with their names (CUDA ≥ 12.4). */
    static boolean canEnumerateFunctions() {
        return MODULE_GET_FUNCTION_COUNT != null && MODULE_ENUMERATE_FUNCTIONS != null && FUNC_GET_NAME != null;
    }

    static int moduleGetFunctionCount(MemorySegment count, long module) {
        try {
            return (int) MODULE_GET_FUNCTION_COUNT.invokeExact(count, module);
        } catch (Throwable t) {
            throw fail("cuModuleGetFunctionCount", t);
        }
    }

    static int moduleEnumerateFunctions(MemorySegment functions, int count, long module) {
        try {
            return (int) MODULE_ENUMERATE_FUNCTIONS.invokeExact(functions, count, module);
        } catch (Throwable t) {
            throw fail("cuModuleEnumerateFunctions", t);
        }
    }

    static int funcGetName(MemorySegment name, long function) {
        try {
            return (int) FUNC_GET_NAME.invokeExact(name, function);
        } catch (Throwable t) {
            throw fail("cuFuncGetName", t);
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
}
