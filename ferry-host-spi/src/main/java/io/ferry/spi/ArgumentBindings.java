package io.ferry.spi;

import io.ferry.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Which arguments of one kernel have been set, and to which buffer, so that a launch with an unset argument or one
 * bound to a released buffer is refused with a message naming them (instead of the device reading a dangling pointer
 * or garbage). Indices arrive validated by the host (below the count that {@code createKernel} returned).
 */
public final class ArgumentBindings {
    private final String kernelName;
    private final String noun;
    private final boolean[] set;
    private final DeviceObject[] bound;
    private int unset;

    /**
     * @param kernelName for messages
     * @param noun       what the backend calls one argument, e.g. {@code "argument"} or {@code "parameter"}
     * @param count      the kernel's argument count
     */
    public ArgumentBindings(String kernelName, String noun, int count) {
        this.kernelName = kernelName;
        this.noun = noun;
        this.set = new boolean[count];
        this.bound = new DeviceObject[count];
        this.unset = count;
    }

    public String kernelName() {
        return kernelName;
    }

    public int count() {
        return set.length;
    }

    public boolean isSet(int index) {
        return set[index];
    }

    /** Records a successful set; {@code buffer} is the bound buffer, or null for a value or local size. */
    public void markSet(int index, DeviceObject buffer) {
        if (!set[index]) {
            set[index] = true;
            unset--;
        }
        bound[index] = buffer;
    }

    /**
     * Throws {@link Status#INVALID_KERNEL_ARGS} unless every argument is set and no bound buffer has been released.
     * {@code describe} names one argument, e.g. {@code "2 'n' (int)"}.
     */
    public void checkLaunch(IntFunction<String> describe) throws BackendException {
        if (unset != 0) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, notSetMessage(describe));
        }
        for (int i = 0; i < bound.length; i++) {
            DeviceObject b = bound[i];
            if (b != null && b.isReleased()) {
                throw new BackendException(Status.INVALID_KERNEL_ARGS, "kernel '" + kernelName + "' " + noun + " "
                        + describe.apply(i) + " refers to a buffer that was released; set it again");
            }
        }
    }

    /** {@code "kernel 'vadd': arguments not set: 1 'b' (__global float*), 2 'n' (int)"}. */
    public String notSetMessage(IntFunction<String> describe) {
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < set.length; i++) {
            if (!set[i]) {
                missing.add(describe.apply(i));
            }
        }
        return "kernel '" + kernelName + "': " + noun + (missing.size() == 1 ? " not set: " : "s not set: ")
                + String.join(", ", missing);
    }
}
