package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Status;
import java.util.Arrays;

/**
 * What the host checks of a LAUNCH against the kernel's arguments and the device, before the device runs it: every
 * argument whose last set failed (the launch is refused as a follow-on of that call, named), the {@code __local}
 * arguments against the device's local memory, and the work-group size against the device's maximum. The kernel's
 * own figures (its compiled work-group limit, its {@code __local} variables) only the backend knows: querying them
 * costs a native call per launch (about 20 us on PoCL), so the backend names them only in the message of a launch the
 * device refuses.
 */
final class LaunchLimits {
    private LaunchLimits() {
    }

    /**
     * Checks a launch of kernel {@code k} on queue {@code q} over {@code dims} dimensions; {@code local}: the local
     * sizes, null when the device chooses.
     */
    static void check(Entry q, Entry k, int dims, long[] local) throws CallException {
        KernelArgState state = KernelArgState.of(k);
        int bad = state.firstFailed();
        if (bad >= 0) {
            CallFailure f = state.failure(bad);
            throw new CallException(Status.INVALID_KERNEL_ARGS, state.describe() + ": argument " + bad + " not set "
                    + "because the earlier " + f.op() + " (call #" + f.seq() + ") failed: " + f.message(), f.seq());
        }
        Devices.Device d = q.device instanceof Devices.Device dev ? dev : state.device;
        if (d == null) {
            return;
        }
        long has = d.info().localMemoryBytes();
        long asked = state.localBytes();
        if (has > 0 && asked > has) {
            throw new CallException(Status.INVALID_ARGUMENT, state.describe() + ": its __local arguments take "
                    + asked + " bytes in all, more than the local memory of device " + d.index() + " '"
                    + d.info().name() + "' (" + has + " bytes, Device.localMemoryBytes()); use smaller tiles");
        }
        long max = d.info().maxWorkGroupSize();
        if (local != null && max > 0) {
            double items = 1;
            for (int i = 0; i < dims; i++) {
                items *= local[i];
            }
            if (items > max) {
                throw new CallException(Status.INVALID_WORK_SIZE, state.describe() + ": local size "
                        + Arrays.toString(Arrays.copyOf(local, dims)) + " makes work-groups of "
                        + String.format("%.0f", items) + " work-items, more than device " + d.index() + " '"
                        + d.info().name() + "' allows (max work-group size " + max + ", Device.maxWorkGroupSize()); "
                        + "use a smaller local size, or none to let the device choose");
            }
        }
    }
}
