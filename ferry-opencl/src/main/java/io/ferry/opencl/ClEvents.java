package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;

/** Queries on events and kernels, for {@link OpenClSession}: each reads through the session's scratch {@code values}. */
final class ClEvents {
    private ClEvents() {
    }

    /** An event's {start, end, queued, submit} times in ns: zeros unless its queue profiles. */
    static long[] times(ClObject.Event e, MemorySegment values) throws BackendException {
        long[] times = new long[4];
        if (e.profiling) {
            int[] params = {OpenCL.CL_PROFILING_COMMAND_START, OpenCL.CL_PROFILING_COMMAND_END,
                OpenCL.CL_PROFILING_COMMAND_QUEUED, OpenCL.CL_PROFILING_COMMAND_SUBMIT};
            for (int i = 0; i < params.length; i++) {
                int rc = OpenCL.Info.EVENT_PROFILING.call(e.ptr, params[i], 8, values, MemorySegment.NULL);
                if (rc != 0 && rc != -7) {
                    throw ClErrors.exception("clGetEventProfilingInfo", rc, null);
                }
                times[i] = rc == 0 ? values.get(JAVA_LONG, 0) : 0; // -7: no times for this command
            }
        }
        return times;
    }

    /** CL_EVENT_COMMAND_EXECUTION_STATUS: 0 complete, 1 running, 2 submitted, 3 queued, negative failed. */
    static int status(ClObject.Event e, MemorySegment values) throws BackendException {
        int rc = OpenCL.Info.EVENT.call(e.ptr, OpenCL.CL_EVENT_COMMAND_EXECUTION_STATUS, 4, values, MemorySegment.NULL);
        ClErrors.check("clGetEventInfo", rc, "CL_EVENT_COMMAND_EXECUTION_STATUS");
        return values.get(JAVA_INT, 0);
    }

    /** The kernel's work-group size, preferred multiple, local and private memory bytes on its context's device. */
    static long[] workGroupInfo(ClObject.Kernel k, MemorySegment values) throws BackendException {
        int[] params = {OpenCL.CL_KERNEL_WORK_GROUP_SIZE, OpenCL.CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
            OpenCL.CL_KERNEL_LOCAL_MEM_SIZE, OpenCL.CL_KERNEL_PRIVATE_MEM_SIZE};
        long[] out = new long[params.length];
        for (int i = 0; i < params.length; i++) {
            values.set(JAVA_LONG, 0, 0);
            int rc = OpenCL.getKernelWorkGroupInfo(k.ptr, k.context.device.id(), params[i], 8, values);
            ClErrors.check("clGetKernelWorkGroupInfo", rc, "kernel '" + k.args.kernelName + "' parameter 0x"
                    + Integer.toHexString(params[i]));
            out[i] = values.get(JAVA_LONG, 0);
        }
        return out;
    }
}
