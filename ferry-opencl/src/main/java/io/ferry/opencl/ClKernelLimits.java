package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A kernel's own work-group limit on its device ({@code CL_KERNEL_WORK_GROUP_SIZE}), named in the message of a launch
 * the device refuses for its work-group size. Queried only then: on PoCL a {@code clGetKernelWorkGroupInfo} costs
 * about 20 us (5 ms the first time), too much for every launch. The host checked the device's limits (maximum
 * work-group size, local memory) before the launch reached this backend.
 */
final class ClKernelLimits {
    private ClKernelLimits() {
    }

    /**
     * The context of a launch's {@code CL_INVALID_WORK_GROUP_SIZE}: the sizes asked and the limits that apply, so the
     * guest need not guess which rule it broke.
     */
    static String workGroupContext(ClObject.Kernel k, int dims, long[] global, long[] local, MemorySegment slot) {
        ClDevice device = k.context.device;
        long kernelMax = query(k, device, OpenCL.CL_KERNEL_WORK_GROUP_SIZE, slot);
        return "kernel '" + k.args.kernelName + "' global " + Arrays.toString(Arrays.copyOf(global, dims))
                + (local == null ? " with the local size left to the device" : " local "
                + Arrays.toString(Arrays.copyOf(local, dims))) + ": a work-group may have at most "
                + (kernelMax > 0 ? kernelMax + " work-items for this kernel (CL_KERNEL_WORK_GROUP_SIZE; the device's "
                + "maximum is " + device.info().maxWorkGroupSize() + ")" : device.info().maxWorkGroupSize()
                + " work-items on this device") + ", and each global size must be a multiple of its local size";
    }

    /** A {@code size_t} of {@code clGetKernelWorkGroupInfo}, or -1 when the platform does not say. */
    private static long query(ClObject.Kernel k, ClDevice device, int param, MemorySegment slot) {
        int rc = OpenCL.getKernelWorkGroupInfo(k.ptr, device.id(), param, 8, slot, MemorySegment.NULL);
        return rc == OpenCL.CL_SUCCESS ? slot.get(JAVA_LONG, 0) : -1;
    }
}
