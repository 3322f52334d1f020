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
