package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import io.ferry.protocol.Status;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PoCL compiles a kernel's work-group function when the kernel is first launched at a work-group shape: for a large
 * kernel that takes seconds, which the watchdog used to count as the command's run time and end with DEVICE_LOST
 * (piglit's bitcoin-phatk kernel, under the default overrunLimit of 2 s). The compile now gets the host's compile
 * time limit, and the run, timed from when the device starts it, the overrun limit: a kernel that never ends is
 * still reclaimed at its first launch.
 */
class FirstLaunchIT {
    private static final long OVERRUN_LIMIT_NANOS = 250_000_000L;
    private static final int ROUNDS = 3000;
    private static final int ITEMS = 256;

    /** A kernel of {@link #ROUNDS} xorshift rounds, unrolled: seconds of PoCL's work-group compile here. */
    private static String largeKernel() {
        StringBuilder s = new StringBuilder("#define R(i) x ^= x << 13; x ^= x >> 17; x ^= x << 5; x += i##u;\n"
                + "__kernel void churn(__global uint* out) {\n    uint x = get_global_id(0) + 1u;\n");
        for (int i = 0; i < ROUNDS; i++) {
            s.append(i % 16 == 0 ? "\n    " : "").append("R(").append(i).append(')');
        }
        return s.append("\n    out[get_global_id(0)] = x;\n}\n").toString();
    }

    private static int expected(int id) {
        int x = id + 1;
        for (int i = 0; i < ROUNDS; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            x += i;
        }
        return x;
    }

    @Test
    @Timeout(300)
    void aLargeKernelsFirstLaunchIsGivenItsCompileAndANeverEndingOneIsStillReclaimed() throws Exception {
        HostConfig.GuestConfig guest = new HostConfig.GuestConfig("big", 16L << 20)
                .withScheduling(SchedClass.NORMAL, 1, null, OVERRUN_LIMIT_NANOS);
        try (Hosts hosts = Hosts.start(List.of(guest))) {
            try (Ferry f = hosts.connect("big"); Context ctx = f.createContext(f.defaultDevice());
                 CommandQueue q = ctx.createQueue(); Program p = ctx.buildProgram(largeKernel());
                 Kernel k = p.kernel("churn"); DeviceBuffer out = ctx.createBuffer(4L * ITEMS);
                 HeapBlock h = f.heap().allocate(4L * ITEMS)) {
                long start = System.nanoTime();
                k.arg(0, out);
                q.launch(k, NDRange.of(ITEMS)).read(out, 0, h.segment()).finish();
                long firstMs = (System.nanoTime() - start) / 1_000_000;
                for (int i = 0; i < ITEMS; i++) {
                    assertEquals(expected(i), h.segment().getAtIndex(ValueLayout.JAVA_INT, i), "item " + i);
                }
                System.out.println("first launch of the large kernel (compile and run): " + firstMs + " ms");
                q.launch(k, NDRange.of(ITEMS)).finish(); // compiled now: a plain launch
            }
            try (Ferry f = hosts.connect("big"); Context ctx = f.createContext(f.defaultDevice());
                 CommandQueue q = ctx.createQueue();
                 Program p = ctx.buildProgram("__kernel void spin(__global volatile int* a) { while (a[0] != 12345)"
                         + " { a[1]++; } }");
                 Kernel k = p.kernel("spin"); DeviceBuffer b = ctx.createBuffer(64)) {
                q.finish();
                k.arg(0, b);
                long start = System.nanoTime();
                q.launch(k, NDRange.of(1));
                FerryException e = assertThrows(FerryException.class, q::finish);
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertEquals(Status.DEVICE_LOST, e.status(), e.getMessage());
                // its compile is short: reclaimed well before the compile time limit (60 s) would have ended it
                assertTrue(ms < 30_000, "a never-ending kernel's first launch took " + ms + " ms to reclaim");
            }
            try (Ferry f = hosts.connect("big")) {
                assertEquals(5, f.nop(5));
            }
        }
    }
}
