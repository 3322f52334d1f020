package io.ferry.cli.workload;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;

/**
 * {@code c = a + b} over {@code n} floats. A float addition is exactly rounded on the device and in Java, so the
 * result should match the reference bit for bit; the tolerance of 1e-6 only leaves room for a device that flushes
 * denormals (the inputs are in [-1, 1), so |ref| is floored at eps = 1e-6 where a and b nearly cancel).
 */
public final class VaddWorkload extends KernelWorkload {
    public static final int DEFAULT_N = 1 << 20;
    static final double TOLERANCE = 1e-6;
    static final double EPS = 1e-6;

    static final String SOURCE = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, const int n) {
                int i = get_global_id(0);
                if (i < n) {
                    c[i] = a[i] + b[i];
                }
            }
            """;

    private final int n;

    public VaddWorkload() {
        this(DEFAULT_N);
    }

    public VaddWorkload(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("vadd needs a positive length, not " + n);
        }
        this.n = n;
    }

    @Override
    public String name() {
        return "vadd";
    }

    @Override
    public String size() {
        return Workloads.floats(n);
    }

    @Override
    String source() {
        return SOURCE;
    }

    /** Seeded inputs in [-1, 1). */
    static float[] input(int n, long seed) {
        return Workloads.seededFloats(n, seed, -1, 1);
    }

    /** The Java reference: element-wise float sum. */
    static double[] reference(float[] a, float[] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] + b[i];
        }
        return c;
    }

    @Override
    Outcome execute(Ferry ferry, Device device, Context ctx, CommandQueue q, Program program) {
        float[] a = input(n, 1);
        float[] b = input(n, 2);
        long bytes = bytes(n);
        long local = Math.min(64, Math.max(1, device.maxWorkGroupSize()));
        try (Kernel k = program.kernel("vadd");
             HeapBlock ha = heapFloats(ferry, a);
             HeapBlock hb = heapFloats(ferry, b);
             HeapBlock hc = ferry.heap().allocate(bytes);
             DeviceBuffer da = ctx.createBuffer(bytes, DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer db = ctx.createBuffer(bytes, DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer dc = ctx.createBuffer(bytes, DeviceBuffer.Access.WRITE_ONLY)) {
            k.arg(0, da).arg(1, db).arg(2, dc).arg(3, n);
            long start = System.nanoTime();
            q.write(da, 0, ha.segment());
            q.write(db, 0, hb.segment());
            q.launch(k, NDRange.of(roundUp(n, local)), NDRange.of(local));
            q.read(dc, 0, hc.segment());
            q.finish();
            double millis = millisSince(start);
            return Outcome.of(millis, new Verifier("c", TOLERANCE, EPS).checkAll(floats(hc), reference(a, b)));
        }
    }
}
