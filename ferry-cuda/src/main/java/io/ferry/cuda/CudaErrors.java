package io.ferry.cuda;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.util.HashMap;
import java.util.Map;

/**
 * CUDA driver ({@code CUresult}) and NVRTC ({@code nvrtcResult}) error codes: their names, the Ferry {@link Status}
 * each maps to, and the message format {@code "<cuFunction>: CUDA_ERROR_NAME (code)"} followed by
 * {@code "; <context>"} where context is known. Pure Java (names copied from CUDA 13.0's {@code cuda.h} and
 * {@code nvrtc.h}): usable and tested without a driver.
 *
 * <p>Faults that leave a CUDA context unusable ("sticky" errors: an illegal address, a failed launch, an illegal
 * instruction, a hardware stack error, an ECC error ...) map to {@link Status#DEVICE_LOST}; see {@link #isSticky}.
 */
public final class CudaErrors {
    private static final Map<Integer, String> NAMES = new HashMap<>();

    static {
        Map<Integer, String> n = NAMES;
        n.put(0, "CUDA_SUCCESS");
        n.put(1, "CUDA_ERROR_INVALID_VALUE");
        n.put(2, "CUDA_ERROR_OUT_OF_MEMORY");
        n.put(3, "CUDA_ERROR_NOT_INITIALIZED");
        n.put(4, "CUDA_ERROR_DEINITIALIZED");
        n.put(5, "CUDA_ERROR_PROFILER_DISABLED");
        n.put(6, "CUDA_ERROR_PROFILER_NOT_INITIALIZED");
        n.put(7, "CUDA_ERROR_PROFILER_ALREADY_STARTED");
        n.put(8, "CUDA_ERROR_PROFILER_ALREADY_STOPPED");
        n.put(34, "CUDA_ERROR_STUB_LIBRARY");
        n.put(36, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER");
        n.put(46, "CUDA_ERROR_DEVICE_UNAVAILABLE");
        n.put(100, "CUDA_ERROR_NO_DEVICE");
        n.put(101, "CUDA_ERROR_INVALID_DEVICE");
        n.put(102, "CUDA_ERROR_DEVICE_NOT_LICENSED");
        n.put(200, "CUDA_ERROR_INVALID_IMAGE");
        n.put(201, "CUDA_ERROR_INVALID_CONTEXT");
        n.put(202, "CUDA_ERROR_CONTEXT_ALREADY_CURRENT");
        n.put(205, "CUDA_ERROR_MAP_FAILED");
        n.put(206, "CUDA_ERROR_UNMAP_FAILED");
        n.put(207, "CUDA_ERROR_ARRAY_IS_MAPPED");
        n.put(208, "CUDA_ERROR_ALREADY_MAPPED");
        n.put(209, "CUDA_ERROR_NO_BINARY_FOR_GPU");
        n.put(210, "CUDA_ERROR_ALREADY_ACQUIRED");
        n.put(211, "CUDA_ERROR_NOT_MAPPED");
        n.put(212, "CUDA_ERROR_NOT_MAPPED_AS_ARRAY");
        n.put(213, "CUDA_ERROR_NOT_MAPPED_AS_POINTER");
        n.put(214, "CUDA_ERROR_ECC_UNCORRECTABLE");
        n.put(215, "CUDA_ERROR_UNSUPPORTED_LIMIT");
        n.put(216, "CUDA_ERROR_CONTEXT_ALREADY_IN_USE");
        n.put(217, "CUDA_ERROR_PEER_ACCESS_UNSUPPORTED");
        n.put(218, "CUDA_ERROR_INVALID_PTX");
        n.put(219, "CUDA_ERROR_INVALID_GRAPHICS_CONTEXT");
        n.put(220, "CUDA_ERROR_NVLINK_UNCORRECTABLE");
        n.put(221, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND");
        n.put(222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION");
        n.put(223, "CUDA_ERROR_JIT_COMPILATION_DISABLED");
        n.put(224, "CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY");
        n.put(225, "CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC");
        n.put(226, "CUDA_ERROR_CONTAINED");
        n.put(300, "CUDA_ERROR_INVALID_SOURCE");
        n.put(301, "CUDA_ERROR_FILE_NOT_FOUND");
        n.put(302, "CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND");
        n.put(303, "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED");
        n.put(304, "CUDA_ERROR_OPERATING_SYSTEM");
        n.put(400, "CUDA_ERROR_INVALID_HANDLE");
        n.put(401, "CUDA_ERROR_ILLEGAL_STATE");
        n.put(402, "CUDA_ERROR_LOSSY_QUERY");
        n.put(500, "CUDA_ERROR_NOT_FOUND");
        n.put(600, "CUDA_ERROR_NOT_READY");
        n.put(700, "CUDA_ERROR_ILLEGAL_ADDRESS");
        n.put(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES");
        n.put(702, "CUDA_ERROR_LAUNCH_TIMEOUT");
        n.put(703, "CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING");
        n.put(704, "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED");
        n.put(705, "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED");
        n.put(708, "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE");
        n.put(709, "CUDA_ERROR_CONTEXT_IS_DESTROYED");
        n.put(710, "CUDA_ERROR_ASSERT");
        n.put(711, "CUDA_ERROR_TOO_MANY_PEERS");
        n.put(712, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED");
        n.put(713, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED");
        n.put(714, "CUDA_ERROR_HARDWARE_STACK_ERROR");
        n.put(715, "CUDA_ERROR_ILLEGAL_INSTRUCTION");
        n.put(716, "CUDA_ERROR_MISALIGNED_ADDRESS");
        n.put(717, "CUDA_ERROR_INVALID_ADDRESS_SPACE");
        n.put(718, "CUDA_ERROR_INVALID_PC");
        n.put(719, "CUDA_ERROR_LAUNCH_FAILED");
        n.put(720, "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE");
        n.put(721, "CUDA_ERROR_TENSOR_MEMORY_LEAK");
        n.put(800, "CUDA_ERROR_NOT_PERMITTED");
        n.put(801, "CUDA_ERROR_NOT_SUPPORTED");
        n.put(802, "CUDA_ERROR_SYSTEM_NOT_READY");
        n.put(803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH");
        n.put(804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE");
        n.put(805, "CUDA_ERROR_MPS_CONNECTION_FAILED");
        n.put(806, "CUDA_ERROR_MPS_RPC_FAILURE");
        n.put(807, "CUDA_ERROR_MPS_SERVER_NOT_READY");
        n.put(808, "CUDA_ERROR_MPS_MAX_CLIENTS_REACHED");
        n.put(809, "CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED");
        n.put(810, "CUDA_ERROR_MPS_CLIENT_TERMINATED");
        n.put(811, "CUDA_ERROR_CDP_NOT_SUPPORTED");
        n.put(812, "CUDA_ERROR_CDP_VERSION_MISMATCH");
        n.put(900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED");
        n.put(901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");
        n.put(902, "CUDA_ERROR_STREAM_CAPTURE_MERGE");
        n.put(903, "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED");
        n.put(904, "CUDA_ERROR_STREAM_CAPTURE_UNJOINED");
        n.put(905, "CUDA_ERROR_STREAM_CAPTURE_ISOLATION");
        n.put(906, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT");
        n.put(907, "CUDA_ERROR_CAPTURED_EVENT");
        n.put(908, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD");
        n.put(909, "CUDA_ERROR_TIMEOUT");
        n.put(910, "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE");
        n.put(911, "CUDA_ERROR_EXTERNAL_DEVICE");
        n.put(912, "CUDA_ERROR_INVALID_CLUSTER_SIZE");
        n.put(913, "CUDA_ERROR_FUNCTION_NOT_LOADED");
        n.put(914, "CUDA_ERROR_INVALID_RESOURCE_TYPE");
        n.put(915, "CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION");
        n.put(916, "CUDA_ERROR_KEY_ROTATION");
        n.put(999, "CUDA_ERROR_UNKNOWN");
    }

    private static final String[] NVRTC_NAMES = {
        "NVRTC_SUCCESS", "NVRTC_ERROR_OUT_OF_MEMORY", "NVRTC_ERROR_PROGRAM_CREATION_FAILURE", "NVRTC_ERROR_INVALID_INPUT",
        "NVRTC_ERROR_INVALID_PROGRAM", "NVRTC_ERROR_INVALID_OPTION", "NVRTC_ERROR_COMPILATION",
        "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE", "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION",
        "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION", "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID",
        "NVRTC_ERROR_INTERNAL_ERROR", "NVRTC_ERROR_TIME_FILE_WRITE_FAILED", "NVRTC_ERROR_NO_PCH_CREATE_ATTEMPTED",
        "NVRTC_ERROR_PCH_CREATE_HEAP_EXHAUSTED", "NVRTC_ERROR_PCH_CREATE", "NVRTC_ERROR_CANCELLED",
        "NVRTC_ERROR_TIME_TRACE_FILE_WRITE_FAILED",
    };

    public static final int CUDA_SUCCESS = 0;
    public static final int CUDA_ERROR_INVALID_VALUE = 1;
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    public static final int CUDA_ERROR_NO_DEVICE = 100;
    public static final int CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712;
    public static final int CUDA_ERROR_NOT_FOUND = 500;
    public static final int CUDA_ERROR_ILLEGAL_ADDRESS = 700;
    public static final int CUDA_ERROR_LAUNCH_FAILED = 719;

    private CudaErrors() {
    }

    /** The {@code CUDA_*} name of a driver error code, or {@code "CUDA_ERROR_UNKNOWN_CODE"}. */
    public static String name(int code) {
        String n = NAMES.get(code);
        return n != null ? n : "CUDA_ERROR_UNKNOWN_CODE";
    }

    /** The {@code NVRTC_*} name of an NVRTC result, or {@code "NVRTC_ERROR_UNKNOWN_CODE"}. */
    public static String nvrtcName(int code) {
        return code >= 0 && code < NVRTC_NAMES.length ? NVRTC_NAMES[code] : "NVRTC_ERROR_UNKNOWN_CODE";
    }

    /**
     * Whether the error leaves the CUDA context unusable: every later call in it fails, so the guest's device work
     * is over (its objects can only be destroyed with the context).
     */
    public static boolean isSticky(int code) {
        return switch (code) {
            case 214, // ECC_UNCORRECTABLE
                 220, // NVLINK_UNCORRECTABLE
                 226, // CONTAINED
                 700, // ILLEGAL_ADDRESS
                 702, // LAUNCH_TIMEOUT
                 709, // CONTEXT_IS_DESTROYED
                 710, // ASSERT
                 714, // HARDWARE_STACK_ERROR
                 715, // ILLEGAL_INSTRUCTION
                 716, // MISALIGNED_ADDRESS
                 717, // INVALID_ADDRESS_SPACE
                 718, // INVALID_PC
                 719, // LAUNCH_FAILED
                 721, // TENSOR_MEMORY_LEAK
                 810, // MPS_CLIENT_TERMINATED: the MPS server ended this client
                 911  // EXTERNAL_DEVICE: an external device's fault reached the context
                    -> true;
            default -> false;
        };
    }

    /**
     * The Ferry status for a driver error code.
     * <ul>
     * <li>sticky faults ({@link #isSticky}) → {@link Status#DEVICE_LOST};</li>
     * <li>{@code CUDA_ERROR_OUT_OF_MEMORY} → {@link Status#OUT_OF_DEVICE_MEMORY};</li>
     * <li>launch resources, cooperative launch size, cluster size → {@link Status#INVALID_WORK_SIZE};</li>
     * <li>bad images, PTX, unsupported PTX versions, no binary for the GPU → {@link Status#BUILD_FAILED};</li>
     * <li>{@code CUDA_ERROR_NOT_FOUND} (a kernel name) → {@link Status#KERNEL_NOT_FOUND};</li>
     * <li>invalid values, handles, registrations → {@link Status#INVALID_ARGUMENT};</li>
     * <li>no driver, no device, a stub library, a driver mismatch → {@link Status#NO_DEVICE};</li>
     * <li>not supported, JIT disabled or missing, a newer driver needed → {@link Status#UNSUPPORTED};</li>
     * <li>everything else → {@link Status#DEVICE_ERROR}.</li>
     * </ul>
     */
    public static Status status(int code) {
        if (code == CUDA_SUCCESS) {
            return Status.OK;
        }
        if (isSticky(code)) {
            return Status.DEVICE_LOST;
        }
        return switch (code) {
            case 2 -> Status.OUT_OF_DEVICE_MEMORY;
            case 701, 720, 912 -> Status.INVALID_WORK_SIZE;
            case 200, 209, 218, 222, 300 -> Status.BUILD_FAILED;
            case 500 -> Status.KERNEL_NOT_FOUND;
            case 1, 201, 400, 712, 713 -> Status.INVALID_ARGUMENT;
            case 3, 4, 34, 46, 100, 101, 802, 803, 804 -> Status.NO_DEVICE;
            case 36, 217, 221, 223, 801 -> Status.UNSUPPORTED;
            default -> Status.DEVICE_ERROR;
        };
    }

    /** {@code "<function>: CUDA_NAME (code)"}, then {@code "; <context>"} when context is not null. */
    public static String message(String function, int code, String context) {
        return BackendException.nativeMessage(function, name(code), code, context);
    }

    /** {@code "<function>: NVRTC_NAME (code)"}, then {@code "; <context>"} when context is not null. */
    public static String nvrtcMessage(String function, int code, String context) {
        return BackendException.nativeMessage(function, nvrtcName(code), code, context);
    }

    /**
     * The exception for a failed NVRTC call: {@link Status#BUILD_FAILED} for every NVRTC result (the program did
     * not build, whatever the reason), with what the guest can do where the reason is not its source, and the log.
     * {@code NVRTC_ERROR_OUT_OF_MEMORY} is the host's memory, not the device's, so it is not
     * {@link Status#OUT_OF_DEVICE_MEMORY} (releasing buffers would not help); {@code NVRTC_ERROR_INVALID_INPUT} and
     * {@code NVRTC_ERROR_INVALID_PROGRAM} are the host's misuse ({@link Status#INTERNAL}).
     */
    public static BackendException nvrtcException(String function, int code, String context, String log) {
        String hint = switch (code) {
            case 1 -> "the host ran out of memory compiling (host memory, not device memory): try a smaller program, "
                    + "or later";
            case 5 -> "an option NVRTC does not accept: see the options in the message";
            case 7 -> "NVRTC could not use its builtins library (libnvrtc-builtins.so next to libnvrtc.so): the host's "
                    + "CUDA toolkit is incomplete; tell the operator";
            default -> null;
        };
        String message = nvrtcMessage(function, code, context) + (hint == null ? "" : "; " + hint);
        if (log != null && !log.isBlank()) {
            message += "\nbuild log:\n" + log;
        }
        Status status = code == 3 || code == 4 ? Status.INTERNAL : Status.BUILD_FAILED;
        return new BackendException(status, message);
    }

    /** The exception for a failed driver call: status from {@link #status(int)}, message from {@link #message}. */
    public static BackendException exception(String function, int code, String context) {
        return new BackendException(status(code), message(function, code, context),
                io.ferry.protocol.NativeError.of(io.ferry.protocol.NativeError.CUDA, code));
    }
}
