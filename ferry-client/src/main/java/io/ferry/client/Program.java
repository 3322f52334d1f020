package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.Wire;

/** A built program. */
public final class Program extends Remote {
    String log = "";
    private final Device device;

    Program(Ferry ferry, long handle, Device device) {
        super(ferry, handle);
        this.device = device;
    }

    /** The device the program was built for. */
    Device device() {
        return device;
    }

    /** The compiler's log of the successful build (often empty). */
    public String buildLog() {
        return log;
    }

    /** The kernel called {@code name}; throws {@code KERNEL_NOT_FOUND} listing the program's kernels if absent. */
    public Kernel kernel(String name) {
        long h = ferry.newHandle();
        long argc = channel().call(new Calls.KernelCreate(), Wire.utf8(name), c -> c.kernel(h).program(handle)).r0();
        return new Kernel(ferry, h, this, name, (int) argc);
    }
}
