package io.ferry.cli.workload;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.protocol.Status;
import java.util.Arrays;

/**
 * {@code C = A × B} for row-major {@code A} (m×k) and {@code B} (k×n), tiled through {@code __local} memory: each
 * 16×16 work-group stages a 16×16 tile of A and of B per step. Sizes need not be multiples of the tile (the kernel
 * pads with zeros). Inputs are in [0, 1), so dot products do not cancel and relative error is meaningful; the
 * reference accumulates in double, and a float dot product of length k = 256 stays well within 1e-4 of it.
 */
public final class MatmulWorkload extends KernelWorkload {
    public static final int TILE = 16;
    static final double TOLERANCE = 1e-4;
    static final double EPS = 1e-6;

    static final String SOURCE = """
            #define TILE 16
            __kernel void matmul(__global const float* A, __global const float* B, __global float* C,
                                 const int m, const int n, const int k) {
                __local float As[TILE][TILE];
                __local float Bs[TILE][TILE];
                const int col = get_global_id(0);
                const int row = get_global_id(1);
                const int lc = get_local_id(0);
                const int lr = get_local_id(1);
                float acc = 0.0f;
                for (int t = 0; t < k; t += TILE) {
                    As[lr][lc] = (row < m && t + lc < k) ? A[row * k + t + lc] : 0.0f;
                    Bs[lr][lc] = (t + lr < k && col < n) ? B[(t + lr) * n + col] : 0.0f;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    for (int i = 0; i < TILE; i++) {
                        acc += As[lr][i] * Bs[i][lc];
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                if (row < m && col < n) {
                    C[row * n + col] = acc;
                }
            }
            """;

    private final int m;
    private final int n;
    private final int k;

    public MatmulWorkload() {
        this(256, 256, 256);
    }

    /** {@code C} (m×n) = {@code A} (m×k) × {@code B} (k×n). */
    public MatmulWorkload(int m, int n, int k) {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("matmul needs positive sizes, not " + m + "×" + n + "×" + k);
        }
        this.m = m;
        this.n = n;
        this.k = k;
    }

    @Override
    public String name() {
        return "matmul";
    }

    /** m×n×k. */
    @Override
    public String size() {
        return m + "×" + n + "×" + k;
    }

    @Override
    String source() {
        return SOURCE;
    }

    @Override
    String buildOptions() {
        return "-cl-mad-enable";
    }

    static float[] input(int count, long seed) {
        return Workloads.seededFloats(count, seed, 0, 1);
    }

    /** The Java reference, accumulated in double: row-major {@code a} (m×k) × {@code b} (k×n). */
    static double[] reference(float[] a, float[] b, int m, int n, int k) {
        double[] c = new double[m * n];
        double[] row = new double[n];
        for (int i = 0; i < m; i++) {
            Arrays.fill(row, 0);
            for (int p = 0; p < k; p++) {
                double x = a[i * k + p];
                int off = p * n;
                for (int j = 0; j < n; j++) {
                    row[j] += x * b[off + j];
                }
            }
            System.arraycopy(row, 0, c, i * n, n);
        }
        return c;
    }

    @Override
    Outcome execute(Ferry ferry, Device device, Context ctx, CommandQueue q, Program program) {
        if (device.maxWorkGroupSize() < TILE * TILE) {
            throw new FerryException(Status.UNSUPPORTED, device.name()
                    + " allows work-groups of " + device.maxWorkGroupSize() + " items; matmul needs " + TILE * TILE);
        }
        float[] a = input(m * k, 3);
        float[] b = input(k * n, 4);
        try (Kernel kernel = program.kernel("matmul");
             HeapBlock ha = heapFloats(ferry, a);
             HeapBlock hb = heapFloats(ferry, b);
             HeapBlock hc = ferry.heap().allocate(bytes(m * n));
             DeviceBuffer da = ctx.createBuffer(bytes(m * k), DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer db = ctx.createBuffer(bytes(k * n), DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer dc = ctx.createBuffer(bytes(m * n), DeviceBuffer.Access.WRITE_ONLY)) {
            kernel.arg(0, da).arg(1, db).arg(2, dc).arg(3, m).arg(4, n).arg(5, k);
            long start = System.nanoTime();
            q.write(da, 0, ha.segment());
            q.write(db, 0, hb.segment());
            q.launch(kernel, NDRange.of(roundUp(n, TILE), roundUp(m, TILE)), NDRange.of(TILE, TILE));
            q.read(dc, 0, hc.segment());
            q.finish();
            double millis = millisSince(start);
            return Outcome.of(millis,
                    new Verifier("C", TOLERANCE, EPS).checkAll(floats(hc), reference(a, b, m, n, k)));
        }
    }
}
