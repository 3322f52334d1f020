package io.ferry.protocol;

/**
 * What an INFO call asks about (its {@code kind} argument): each kind names one OpenCL {@code clGet*Info} function
 * and what the call's {@code handle} is. The value comes back as OpenCL's raw bytes (docs/protocol.md §6).
 */
public enum InfoKind {
    /** {@code clGetDeviceInfo}; handle: the device index (as DEVICE_INFO's). */
    DEVICE(1),
    /** {@code clGetProgramInfo}; handle: a program. */
    PROGRAM(2),
    /** {@code clGetProgramBuildInfo} on the program's device; handle: a program. */
    PROGRAM_BUILD(3),
    /** {@code clGetKernelInfo}; handle: a kernel. */
    KERNEL(4),
    /** {@code clGetKernelArgInfo}; handle: a kernel, index: the argument. */
    KERNEL_ARG(5),
    /** {@code clGetKernelWorkGroupInfo} on the kernel's device; handle: a kernel. */
    KERNEL_WORK_GROUP(6),
    /**
     * {@code clGetSupportedImageFormats}; handle: a context, param: the {@code cl_mem_flags}, index: the
     * {@code cl_mem_object_type}. The value is the array of {@code cl_image_format} (8 bytes each).
     */
    IMAGE_FORMATS(7);

    private final int code;

    InfoKind(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** {@code CL_DEVICE_PLATFORM}, {@code CL_DEVICE_PARENT_DEVICE}: pointer-valued, answered by the guest's ICD. */
    public static final long CL_DEVICE_PLATFORM = 0x1031, CL_DEVICE_PARENT_DEVICE = 0x1042;
    /** Device params of khr extensions beyond the core range 0x1000–0x10FF (none of them pointer-valued). */
    private static final long[] DEVICE_KHR = {
        0x12A9, 0x12AA, // CL_DEVICE_COMMAND_BUFFER_CAPABILITIES_KHR, _REQUIRED_QUEUE_PROPERTIES_KHR
        0x12B0,         // CL_DEVICE_MUTABLE_DISPATCH_CAPABILITIES_KHR
        0x2031, 0x2035, // CL_DEVICE_TERMINATE_CAPABILITY_KHR, CL_DEVICE_MAX_NAMED_BARRIER_COUNT_KHR
        0x204C, 0x204D, 0x204E, 0x204F, // semaphore types and handle types, external memory import handle types
        0x40E0,         // CL_DEVICE_SPIR_VERSIONS (cl_khr_spir)
        0x410F,         // CL_DEVICE_PCI_BUS_INFO_KHR
    };
    private static final long[] PROGRAM_PARAMS = {0x1165, 0x1166, 0x1167, 0x1168}; // BINARY_SIZES, BINARIES, NUM_KERNELS, KERNEL_NAMES
    private static final long[] PROGRAM_BUILD_PARAMS = {0x1181, 0x1182, 0x1183, 0x1184, 0x1185};
    private static final long[] KERNEL_PARAMS = {0x1191, 0x1195}; // NUM_ARGS, ATTRIBUTES
    private static final long[] KERNEL_ARG_PARAMS = {0x1196, 0x1197, 0x1198, 0x1199, 0x119A};
    private static final long[] KERNEL_WORK_GROUP_PARAMS = {0x11B0, 0x11B1, 0x11B2, 0x11B3, 0x11B4};
    /** {@code CL_PROGRAM_BINARIES}: its value is the binary's bytes (not pointers to them). */
    public static final long CL_PROGRAM_BINARIES = 0x1166;
    /** The {@code cl_mem_flags} an IMAGE_FORMATS query may name: access, host pointer and host access bits. */
    public static final long IMAGE_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100 | 0x200 | 0x1000;
    /** The image object types: {@code CL_MEM_OBJECT_IMAGE2D} (0x10F1) … {@code CL_MEM_OBJECT_IMAGE1D_BUFFER}. */
    public static final long FIRST_IMAGE_TYPE = 0x10F1, LAST_IMAGE_TYPE = 0x10F6;

    /**
     * Why the host refuses to ask for {@code param} (and, for IMAGE_FORMATS, object type {@code index}) of this
     * kind, or null when it is allowed. A guest is hostile: only listed, plain-valued params reach the device.
     */
    public String refusal(long param, long index) {
        String hex = "0x" + Long.toHexString(param);
        switch (this) {
            case DEVICE -> {
                if (param == CL_DEVICE_PLATFORM || param == CL_DEVICE_PARENT_DEVICE) {
                    return "device param " + hex + (param == CL_DEVICE_PLATFORM ? " (CL_DEVICE_PLATFORM)"
                            : " (CL_DEVICE_PARENT_DEVICE)") + " is pointer-valued: the guest's ICD answers it itself";
                }
                if ((param >= 0x1000 && param <= 0x10FF) || listed(DEVICE_KHR, param)) {
                    return null;
                }
                return "device param " + hex + " is not one the host answers (the core range 0x1000-0x10ff and "
                        + "khr extension params)";
            }
            case IMAGE_FORMATS -> {
                if (param == 0 || (param & ~IMAGE_FLAGS) != 0) {
                    return "image formats for memory flags " + hex + ": give access flags (CL_MEM_READ_WRITE, ...) "
                            + "and no bits but 0x" + Long.toHexString(IMAGE_FLAGS);
                }
                if (index < FIRST_IMAGE_TYPE || index > LAST_IMAGE_TYPE) {
                    return "image formats for object type 0x" + Long.toHexString(index) + ": not an image type "
                            + "(CL_MEM_OBJECT_IMAGE2D 0x10f1 ... CL_MEM_OBJECT_IMAGE1D_BUFFER 0x10f6)";
                }
                return null;
            }
            default -> {
                long[] allowed = switch (this) {
                    case PROGRAM -> PROGRAM_PARAMS;
                    case PROGRAM_BUILD -> PROGRAM_BUILD_PARAMS;
                    case KERNEL -> KERNEL_PARAMS;
                    case KERNEL_ARG -> KERNEL_ARG_PARAMS;
                    default -> KERNEL_WORK_GROUP_PARAMS;
                };
                return listed(allowed, param) ? null : name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                        + " param " + hex + " is not one the host answers";
            }
        }
    }

    private static boolean listed(long[] values, long v) {
        for (long x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** The kind of a wire code, or null when the code is unknown. */
    public static InfoKind of(long code) {
        for (InfoKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return null;
    }
}
