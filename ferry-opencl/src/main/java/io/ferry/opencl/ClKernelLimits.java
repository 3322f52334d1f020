package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A kernel's own limits on its device ({@code clGetKernelWorkGroupInfo}): the largest work-group the compiled kernel
 * runs ({@code CL_KERNEL_WORK_GROUP_SIZE}) and the local memory it needs, its {@code __local} variables and arguments
 * together ({@code CL_KERNEL_LOCAL_MEM_SIZE}). A launch over either is refused before it is enqueued, with a message
 * naming the figures: a device given more local memory than it has may crash rather than fail the call. The host
 * checked the device's own limits already.
 */
final class ClKernelLimits {
    private ClKernelLimits() {
    }

    /** Checks a launch of {@code k} with local sizes {@code local} (null: the device chooses); {@code slot}: 8 bytes. */
    static void check(ClObject.Kernel k, int dims, long[] local, MemorySegment slot) throws BackendException {
        ClDevice device = k.context.device;
        if (local != null) {
            long items = 1;
            for (int i = 0; i < dims; i++) {
                items = Math.multiplyHigh(items, local[i]) != 0 ? Long.MAX_VALUE : items * local[i];
            }
            long max = query(k, device, OpenCL.CL_KERNEL_WORK_GROUP_SIZE, slot);
            if (max > 0 && items > max) {
                throw new BackendException(Status.INVALID_WORK_SIZE, "kernel '" + k.args.kernelName + "': local size "
                        + Arrays.toString(Arrays.copyOf(local, dims)) + " makes work-groups of " + items
                        + " work-items, more than this kernel runs on device '" + device.info().name()
                        + "' (CL_KERNEL_WORK_GROUP_SIZE " + max + "; the device's maximum is "
                        + device.info().maxWorkGroupSize() + "); use a smaller local size, or none");
            }
        }
        if (k.args.mayTakeLocal()) {
            long has = device.info().localMemoryBytes();
            long needs = query(k, device, OpenCL.CL_KERNEL_LOCAL_MEM_SIZE, slot);
            if (has > 0 && needs > has) {
                throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + k.args.kernelName + "' needs "
                        + needs + " bytes of local memory (its __local variables and arguments, "
                        + "CL_KERNEL_LOCAL_MEM_SIZE), more than device '" + device.info().name() + "' has (" + has
                        + " bytes, Device.localMemoryBytes()); use smaller __local arguments");
            }
        }
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
