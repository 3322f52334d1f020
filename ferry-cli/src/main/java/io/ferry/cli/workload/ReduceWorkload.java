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
 * The sum of {@code n} floats: each work-group (128 items, fewer if the device allows less) loads its slice into
 * {@code __local} memory (given with {@code argLocal}) and halves it in a tree; the per-group partial sums are read
 * back and summed in Java in double.
 *
 * <p>Inputs are in [0, 1), so nothing cancels. Checked: every partial sum against a double sum of its slice
 * (tolerance 1e-4: a float tree of depth 7 over positive values is off by far less, while a lost or doubled element
 * moves a partial of about 64 by about 1%), and the total against the double sum of all inputs (tolerance 1e-3: the
 * looser bound documented for a float reduction against a double reference; in practice it lands near 1e-7).
 */
public final class ReduceWorkload extends KernelWorkload {
    public static final int DEFAULT_N = 1 << 20;
    public static final int MAX_LOCAL = 128;
    static final double PARTIAL_TOLERANCE = 1e-4;
    static final double TOTAL_TOLERANCE = 1e-3;
    static final double EPS = 1e-6;

    static final String SOURCE = """
            __kernel void reduce_sum(__global const float* in, __global float* partial, __local float* scratch,
                                     const int n) {
                const int gid = get_global_id(0);
                const int lid = get_local_id(0);
                scratch[lid] = gid < n ? in[gid] : 0.0f;
                barrier(CLK_LOCAL_MEM_FENCE);
                for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
                    if (lid < s) {
                        scratch[lid] += scratch[lid + s];
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                if (lid == 0) {
                    partial[get_group_id(0)] = scratch[0];
                }
            }
            """;

    private final int n;

    public ReduceWorkload() {
        this(DEFAULT_N);
    }

    public ReduceWorkload(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("reduce needs a positive length, not " + n);
        }
        this.n = n;
    }

    @Override
    public String name() {
        return "reduce";
    }

    @Override
    public String size() {
        return Workloads.floats(n);
    }

    @Override
    String source() {
        return SOURCE;
    }

    static float[] input(int n, long seed) {
        return Workloads.seededFloats(n, seed, 0, 1);
    }

    /** The work-group size: {@link #MAX_LOCAL}, or the largest power of two the device allows if that is less. */
    static int localSize(long maxWorkGroupSize) {
        return (int) Math.max(1, Math.min(MAX_LOCAL, Long.highestOneBit(Math.max(1, maxWorkGroupSize))));
    }

    /** Double sums of consecutive slices of {@code group} values (the last slice may be short). */
    static double[] referencePartials(float[] in, int group) {
        double[] p = new double[(in.length + group - 1) / group];
        for (int i = 0; i < in.length; i++) {
            p[i / group] += in[i];
        }
        return p;
    }

    /** The double sum of {@code in}. */
    static double referenceSum(float[] in) {
        double s = 0;
        for (float x : in) {
            s += x;
        }
        return s;
    }

    @Override
    Outcome execute(Ferry ferry, Device device, Context ctx, CommandQueue q, Program program) {
        float[] in = input(n, 5);
        int local = localSize(device.maxWorkGroupSize());
        int groups = (n + local - 1) / local;
        try (Kernel k = program.kernel("reduce_sum");
             HeapBlock hin = heapFloats(ferry, in);
             HeapBlock hpart = ferry.heap().allocate(bytes(groups));
             DeviceBuffer din = ctx.createBuffer(bytes(n), DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer dpart = ctx.createBuffer(bytes(groups), DeviceBuffer.Access.WRITE_ONLY)) {
            k.arg(0, din).arg(1, dpart).argLocal(2, bytes(local)).arg(3, n);
            long start = System.nanoTime();
            q.write(din, 0, hin.segment());
            q.launch(k, NDRange.of((long) groups * local), NDRange.of(local));
            q.read(dpart, 0, hpart.segment());
            q.finish();
            float[] partials = floats(hpart);
            double total = 0;
            for (float p : partials) {
                total += p;
            }
            double millis = millisSince(start);
            return Outcome.of(millis,
                    new Verifier("partial", PARTIAL_TOLERANCE, EPS).checkAll(partials, referencePartials(in, local)),
                    new Verifier("sum", TOTAL_TOLERANCE, EPS).check("sum", total, referenceSum(in)));
        }
    }
}
