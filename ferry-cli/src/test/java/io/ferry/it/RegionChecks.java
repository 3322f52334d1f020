package io.ferry.it;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Shared by the region and guest-socket tests: a verified vadd, and the audit lines logged while a test runs. */
public final class RegionChecks {
    static final String VADD = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, float k) {
                size_t i = get_global_id(0);
                c[i] = a[i] + k * b[i];
            }
            """;

    private RegionChecks() {
    }

    /** Runs c = a + 0.5 b over 1024 floats on the guest's default device; true when every element is right. */
    public static boolean vaddVerifies(Ferry ferry) {
        int n = 1024;
        try (Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(VADD);
             Kernel k = p.kernel("vadd");
             HeapBlock ha = ferry.heap().allocate(4L * n);
             HeapBlock hb = ferry.heap().allocate(4L * n);
             HeapBlock hc = ferry.heap().allocate(4L * n);
             DeviceBuffer a = ctx.createBuffer(4L * n);
             DeviceBuffer b = ctx.createBuffer(4L * n);
             DeviceBuffer c = ctx.createBuffer(4L * n)) {
            for (int i = 0; i < n; i++) {
                ha.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
                hb.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, 2 * i);
            }
            q.write(a, 0, ha.segment()).write(b, 0, hb.segment());
            k.arg(0, a).arg(1, b).arg(2, c).arg(3, 0.5f);
            q.launch(k, NDRange.of(n));
            q.read(c, 0, hc.segment());
            q.finish();
            for (int i = 0; i < n; i++) {
                if (Math.abs(hc.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i) - 2f * i) > 1e-3f) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Collects the messages logged on ferry.audit while open. */
    static final class Audit extends Handler implements AutoCloseable {
        private final List<String> lines = new ArrayList<>();

        Audit() {
            Logger.getLogger("ferry.audit").addHandler(this);
        }

        @Override
        public synchronized void publish(LogRecord r) {
            lines.add(r.getMessage());
        }

        synchronized List<String> lines() {
            return List.copyOf(lines);
        }

        /** Whether some line contains every one of {@code parts}. */
        boolean has(String... parts) {
            return lines().stream().anyMatch(l -> java.util.Arrays.stream(parts).allMatch(l::contains));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            Logger.getLogger("ferry.audit").removeHandler(this);
        }
    }
}
