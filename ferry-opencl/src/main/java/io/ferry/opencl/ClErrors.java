package io.ferry.opencl;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;

/**
 * OpenCL error codes: their {@code CL_*} names, the Ferry {@link Status} each maps to, and the message format
 * {@code "<clFunction>: CL_NAME (code)"} followed by {@code "; <context>"} where context is known. Pure Java: usable
 * (and tested) without a device.
 */
public final class ClErrors {
    private static final String[] NAMES = new String[73];

    static {
        String[] n = NAMES;
        n[0] = "CL_SUCCESS";
        n[1] = "CL_DEVICE_NOT_FOUND";
        n[2] = "CL_DEVICE_NOT_AVAILABLE";
        n[3] = "CL_COMPILER_NOT_AVAILABLE";
        n[4] = "CL_MEM_OBJECT_ALLOCATION_FAILURE";
        n[5] = "CL_OUT_OF_RESOURCES";
        n[6] = "CL_OUT_OF_HOST_MEMORY";
        n[7] = "CL_PROFILING_INFO_NOT_AVAILABLE";
        n[8] = "CL_MEM_COPY_OVERLAP";
        n[9] = "CL_IMAGE_FORMAT_MISMATCH";
        n[10] = "CL_IMAGE_FORMAT_NOT_SUPPORTED";
        n[11] = "CL_BUILD_PROGRAM_FAILURE";
        n[12] = "CL_MAP_FAILURE";
        n[13] = "CL_MISALIGNED_SUB_BUFFER_OFFSET";
        n[14] = "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
        n[15] = "CL_COMPILE_PROGRAM_FAILURE";
        n[16] = "CL_LINKER_NOT_AVAILABLE";
        n[17] = "CL_LINK_PROGRAM_FAILURE";
        n[18] = "CL_DEVICE_PARTITION_FAILED";
        n[19] = "CL_KERNEL_ARG_INFO_NOT_AVAILABLE";
        n[30] = "CL_INVALID_VALUE";
        n[31] = "CL_INVALID_DEVICE_TYPE";
        n[32] = "CL_INVALID_PLATFORM";
        n[33] = "CL_INVALID_DEVICE";
        n[34] = "CL_INVALID_CONTEXT";
        n[35] = "CL_INVALID_QUEUE_PROPERTIES";
        n[36] = "CL_INVALID_COMMAND_QUEUE";
        n[37] = "CL_INVALID_HOST_PTR";
        n[38] = "CL_INVALID_MEM_OBJECT";
        n[39] = "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR";
        n[40] = "CL_INVALID_IMAGE_SIZE";
        n[41] = "CL_INVALID_SAMPLER";
        n[42] = "CL_INVALID_BINARY";
        n[43] = "CL_INVALID_BUILD_OPTIONS";
        n[44] = "CL_INVALID_PROGRAM";
        n[45] = "CL_INVALID_PROGRAM_EXECUTABLE";
        n[46] = "CL_INVALID_KERNEL_NAME";
        n[47] = "CL_INVALID_KERNEL_DEFINITION";
        n[48] = "CL_INVALID_KERNEL";
        n[49] = "CL_INVALID_ARG_INDEX";
        n[50] = "CL_INVALID_ARG_VALUE";
        n[51] = "CL_INVALID_ARG_SIZE";
        n[52] = "CL_INVALID_KERNEL_ARGS";
        n[53] = "CL_INVALID_WORK_DIMENSION";
        n[54] = "CL_INVALID_WORK_GROUP_SIZE";
        n[55] = "CL_INVALID_WORK_ITEM_SIZE";
        n[56] = "CL_INVALID_GLOBAL_OFFSET";
        n[57] = "CL_INVALID_EVENT_WAIT_LIST";
        n[58] = "CL_INVALID_EVENT";
        n[59] = "CL_INVALID_OPERATION";
        n[60] = "CL_INVALID_GL_OBJECT";
        n[61] = "CL_INVALID_BUFFER_SIZE";
        n[62] = "CL_INVALID_MIP_LEVEL";
        n[63] = "CL_INVALID_GLOBAL_WORK_SIZE";
        n[64] = "CL_INVALID_PROPERTY";
        n[65] = "CL_INVALID_IMAGE_DESCRIPTOR";
        n[66] = "CL_INVALID_COMPILER_OPTIONS";
        n[67] = "CL_INVALID_LINKER_OPTIONS";
        n[68] = "CL_INVALID_DEVICE_PARTITION_COUNT";
        n[69] = "CL_INVALID_PIPE_SIZE";
        n[70] = "CL_INVALID_DEVICE_QUEUE";
        n[71] = "CL_INVALID_SPEC_CONSTANT_ID";
        n[72] = "CL_MAX_SIZE_RESTRICTION_EXCEEDED";
    }

    /** Returned by the ICD loader when no platform is installed. */
    public static final int CL_PLATFORM_NOT_FOUND_KHR = -1001;

    private ClErrors() {
    }

    /** The {@code CL_*} name of an error code, or {@code "CL_UNKNOWN_ERROR"}. */
    public static String name(int code) {
        if (code <= 0 && -code < NAMES.length && NAMES[-code] != null) {
            return NAMES[-code];
        }
        return code == CL_PLATFORM_NOT_FOUND_KHR ? "CL_PLATFORM_NOT_FOUND_KHR" : "CL_UNKNOWN_ERROR";
    }

    /**
     * The Ferry status for an OpenCL error code.
     * <ul>
     * <li>allocation failures ({@code CL_MEM_OBJECT_ALLOCATION_FAILURE}, {@code CL_OUT_OF_HOST_MEMORY},
     * {@code CL_INVALID_BUFFER_SIZE}) → {@link Status#OUT_OF_DEVICE_MEMORY}; {@code CL_OUT_OF_RESOURCES} (on GPUs
     * often a faulting kernel) → {@link Status#DEVICE_ERROR};</li>
     * <li>work sizes, dimensions and offsets → {@link Status#INVALID_WORK_SIZE};</li>
     * <li>{@code CL_INVALID_ARG_*}, {@code CL_INVALID_KERNEL_ARGS} → {@link Status#INVALID_KERNEL_ARGS};</li>
     * <li>build failures and invalid build options → {@link Status#BUILD_FAILED};
     * {@code CL_INVALID_KERNEL_NAME} → {@link Status#KERNEL_NOT_FOUND};</li>
     * <li>plain misuse by the caller ({@code CL_INVALID_VALUE}, overlap, misalignment, unbuilt program) →
     * {@link Status#INVALID_ARGUMENT}; no compiler → {@link Status#UNSUPPORTED}; no device → {@link Status#NO_DEVICE};</li>
     * <li>everything else → {@link Status#DEVICE_ERROR}.</li>
     * </ul>
     */
    public static Status status(int code) {
        return switch (code) {
            case 0 -> Status.OK;
            case -4, -6, -61 -> Status.OUT_OF_DEVICE_MEMORY;
            case -53, -54, -55, -56, -63 -> Status.INVALID_WORK_SIZE;
            case -49, -50, -51, -52 -> Status.INVALID_KERNEL_ARGS;
            case -11, -15, -17, -43, -66, -67 -> Status.BUILD_FAILED;
            case -46 -> Status.KERNEL_NOT_FOUND;
            case -8, -13, -30, -37, -45 -> Status.INVALID_ARGUMENT;
            case -3, -16 -> Status.UNSUPPORTED;
            case -1, -2, -33, CL_PLATFORM_NOT_FOUND_KHR -> Status.NO_DEVICE;
            default -> Status.DEVICE_ERROR;
        };
    }

    /** {@code "<function>: CL_NAME (code)"}, then {@code "; <context>"} when context is not null. */
    public static String message(String function, int code, String context) {
        return BackendException.nativeMessage(function, name(code), code, context);
    }

    /** The exception for a failed call: status from {@link #status(int)}, message from {@link #message}. */
    public static BackendException exception(String function, int code, String context) {
        return new BackendException(status(code), message(function, code, context), word(code));
    }

    /** The native error word of an OpenCL code ({@link io.ferry.protocol.NativeError}). */
    static long word(int code) {
        return io.ferry.protocol.NativeError.of(io.ferry.protocol.NativeError.OPENCL, code);
    }

    /** Throws {@link #exception} unless {@code code} is {@code CL_SUCCESS}. */
    static void check(String function, int code, String context) throws BackendException {
        if (code != OpenCL.CL_SUCCESS) {
            throw exception(function, code, context);
        }
    }
}
