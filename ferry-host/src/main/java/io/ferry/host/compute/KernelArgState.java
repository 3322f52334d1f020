package io.ferry.host.compute;

import io.ferry.host.session.HandleTable.Entry;
import io.ferry.protocol.CallFailure;

/**
 * What the host remembers of one kernel's arguments between the calls that set them and the launches that use them:
 * the kernel's name and device, which arguments' last set failed (so that a LAUNCH names that call rather than
 * "argument not set"), and the {@code __local} sizes (so that a launch asking more local memory than the device has
 * is refused before the device runs it). Kept in the kernel's {@link Entry#argState}; endpoint thread only.
 */
final class KernelArgState {
    final String name;
    final Devices.Device device;
    /** Per argument: the failure of its last set, or null (allocated at the first failure). */
    private CallFailure[] failed;
    /** Per argument: its {@code __local} size, 0 for other kinds (allocated at the first local argument). */
    private long[] local;

    private KernelArgState(String name, Devices.Device device) {
        this.name = name;
        this.device = device;
    }

    /** Attaches a new state to kernel {@code e}. */
    static void attach(Entry e, String name, Object device) {
        e.argState = new KernelArgState(name, device instanceof Devices.Device d ? d : null);
    }

    /** The state of kernel {@code e} (one is attached if the kernel was created before this class kept one). */
    static KernelArgState of(Entry e) {
        if (!(e.argState instanceof KernelArgState s)) {
            attach(e, "#" + e.handle, null);
            return (KernelArgState) e.argState;
        }
        return s;
    }

    /** Argument {@code index} was set; {@code localBytes}: its {@code __local} size, 0 if not a local argument. */
    void set(int index, int argCount, long localBytes) {
        if (failed != null) {
            failed[index] = null;
        }
        if (localBytes != 0 && local == null) {
            local = new long[argCount];
        }
        if (local != null) {
            local[index] = localBytes;
        }
    }

    /** Setting argument {@code index} failed so. */
    void failed(int index, int argCount, CallFailure f) {
        if (failed == null) {
            failed = new CallFailure[argCount];
        }
        failed[index] = f;
    }

    /** The earliest argument whose last set failed, or -1. */
    int firstFailed() {
        if (failed != null) {
            for (int i = 0; i < failed.length; i++) {
                if (failed[i] != null) {
                    return i;
                }
            }
        }
        return -1;
    }

    CallFailure failure(int index) {
        return failed[index];
    }

    /** The bytes of all {@code __local} arguments. */
    long localBytes() {
        long sum = 0;
        if (local != null) {
            for (long b : local) {
                sum += b;
            }
        }
        return sum;
    }

    /** "kernel 'vadd'" */
    String describe() {
        return "kernel '" + name + "'";
    }
}
