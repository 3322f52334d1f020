package io.ferry.bench;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.cuda.CudaBaseline;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.SourceLanguage;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code ./ferry bench cuda}: the CUDA backend through Ferry beside the same driver calls made in-process through
 * FFM ({@link CudaBaseline}), in the same run on the same device: host→device and device→host bandwidth (remoted:
 * from the guest's heap, registered with the device; native: pinned and pageable memory), launch cost of an empty
 * kernel (asynchronous, and launch + finish), and a 4096³ SGEMM with the same tiled shared-memory CUDA C kernel both
 * ways.
 *
 * <p>The host runs in this process ({@link FerryHost} over the CUDA devices only) and the guest talks to it through
 * its region, as any guest does. Without a CUDA device it fails at once with exit code 2.
 */
public final class CudaBench {
    static final int N = 4096;
    static final int BATCH = 1000;

    /**
     * C = A·B for n×n row-major matrices, n a multiple of 64. A block of 16×16 threads computes a 64×64 tile of C,
     * each thread 4×4 elements, staging 64×64 tiles of A and B in shared memory.
     */
    static final String SGEMM = """
            #define TS 64
            #define WPT 4
            #define RTS 16
            extern "C" __global__ void sgemm(const float* __restrict__ A, const float* __restrict__ B,
                                             float* __restrict__ C, int n) {
                __shared__ float As[TS][TS + 1];
                __shared__ float Bs[TS][TS + 1];
                const int tx = threadIdx.x, ty = threadIdx.y;
                const int row0 = blockIdx.y * TS, col0 = blockIdx.x * TS;
                float acc[WPT][WPT];
                #pragma unroll
                for (int i = 0; i < WPT; i++)
                    #pragma unroll
                    for (int j = 0; j < WPT; j++) acc[i][j] = 0.0f;
                for (int k0 = 0; k0 < n; k0 += TS) {
                    #pragma unroll
                    for (int i = ty; i < TS; i += RTS)
                        #pragma unroll
                        for (int j = tx; j < TS; j += RTS) {
                            As[i][j] = A[(size_t) (row0 + i) * n + k0 + j];
                            Bs[i][j] = B[(size_t) (k0 + i) * n + col0 + j];
                        }
                    __syncthreads();
                    #pragma unroll 8
                    for (int k = 0; k < TS; k++) {
                        float a[WPT], b[WPT];
                        #pragma unroll
                        for (int i = 0; i < WPT; i++) a[i] = As[ty + RTS * i][k];
                        #pragma unroll
                        for (int j = 0; j < WPT; j++) b[j] = Bs[k][tx + RTS * j];
                        #pragma unroll
                        for (int i = 0; i < WPT; i++)
                            #pragma unroll
                            for (int j = 0; j < WPT; j++) acc[i][j] += a[i] * b[j];
                    }
                    __syncthreads();
                }
                #pragma unroll
                for (int i = 0; i < WPT; i++)
                    #pragma unroll
                    for (int j = 0; j < WPT; j++)
                        C[(size_t) (row0 + ty + RTS * i) * n + col0 + tx + RTS * j] = acc[i][j];
            }
            """;

    private final boolean quick;
    private final Path json;

    public CudaBench(boolean quick, Path json) {
        this.quick = quick;
        this.json = json;
    }

    public int run() throws Exception {
        String why = CudaBaseline.unavailableReason();
        if (why != null) {
            System.err.println("ferry bench cuda: no CUDA device: " + why);
            return 2;
        }
        long transfer = quick ? 64L << 20 : 256L << 20;
        int copyReps = quick ? 5 : 20;
        int batches = quick ? 5 : 50;
        int syncReps = quick ? 2_000 : 20_000;
        int gemmReps = quick ? 3 : 10;
        Report r = new Report("cuda");

        float[] a = matrix(1);
        float[] b = matrix(2);
        float[] cNative = new float[N * N];
        float[] cRemoted = new float[N * N];
        long[] global = {N / 4, N / 4};
        long[] local = {16, 16};

        try (CudaBaseline nat = new CudaBaseline(0)) {
            r.put("device", nat.deviceName());
            r.put("h2d_gbs_native_pinned", nat.h2dGBs(transfer, copyReps, true));
            r.put("h2d_gbs_native_pageable", nat.h2dGBs(transfer, copyReps, false));
            r.put("d2h_gbs_native_pinned", nat.d2hGBs(transfer, copyReps, true));
            double[] launch = nat.launchUs(batches, BATCH, syncReps);
            r.put("launch_async_us_native", launch[0]);
            r.put("launch_sync_us_native", launch[1]);
            r.put("sgemm_ms_native", nat.kernelMs(SGEMM, "sgemm", N, global, local, gemmReps, a, b, cNative));
        }
        check("native", a, b, cNative);

        remoted(r, transfer, copyReps, batches, syncReps, gemmReps, a, b, cRemoted);
        check("remoted", a, b, cRemoted);

        r.stamp();
        print(r);
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
    }

    private static void remoted(Report r, long transfer, int copyReps, int batches, int syncReps, int gemmReps,
            float[] a, float[] b, float[] c) throws IOException {
        Logger.getLogger("").setLevel(Level.WARNING);
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-bench-cuda-");
        long matrix = (long) N * N * 4;
        long region = Math.max(transfer, matrix) + (32L << 20);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of("cuda"),
                List.of(new HostConfig.GuestConfig("bench", region)));
        try (FerryHost host = FerryHost.start(cfg, Devices.discover(List.of("cuda")));
             Ferry ferry = BenchHost.connect(host, "bench")) {
            if (host.devices().all().isEmpty()) {
                throw new IllegalStateException("the in-process host found no CUDA device: " + host.devices().noDeviceMessage());
            }
            Device dev = ferry.device("cuda");
            try (Context ctx = ferry.createContext(dev);
                 CommandQueue q = ctx.createQueue();
                 HeapBlock block = ferry.heap().allocate(Math.max(transfer, matrix))) {
                MemorySegment data = block.segment().asSlice(0, transfer);
                data.fill((byte) 1);
                try (DeviceBuffer buf = ctx.createBuffer(transfer)) {
                    double[] w = new double[copyReps];
                    double[] rd = new double[copyReps];
                    q.write(buf, 0, data).finish();
                    for (int i = 0; i < copyReps; i++) {
                        long t0 = System.nanoTime();
                        q.write(buf, 0, data).finish();
                        w[i] = transfer / ((System.nanoTime() - t0) / 1e9) / 1e9;
                        t0 = System.nanoTime();
                        q.read(buf, 0, data).finish();
                        rd[i] = transfer / ((System.nanoTime() - t0) / 1e9) / 1e9;
                    }
                    r.put("h2d_gbs_remoted", median(w));
                    r.put("d2h_gbs_remoted", median(rd));
                }
                try (Program p = ctx.buildProgram(SourceLanguage.PTX, CudaBaseline.EMPTY_PTX, "");
                     Kernel k = p.kernel("empty")) {
                    NDRange one = NDRange.of(64);
                    for (int i = 0; i < BATCH; i++) {
                        q.launch(k, one);
                    }
                    q.finish();
                    long t0 = System.nanoTime();
                    for (int bt = 0; bt < batches; bt++) {
                        for (int i = 0; i < BATCH; i++) {
                            q.launch(k, one);
                        }
                        q.finish();
                    }
                    r.put("launch_async_us_remoted", (System.nanoTime() - t0) / 1e3 / ((double) batches * BATCH));
                    double[] s = new double[syncReps];
                    for (int i = -syncReps / 10; i < syncReps; i++) {
                        long t1 = System.nanoTime();
                        q.launch(k, one).finish();
                        if (i >= 0) {
                            s[i] = (System.nanoTime() - t1) / 1e3;
                        }
                    }
                    r.put("launch_sync_us_remoted", median(s));
                }
                MemorySegment m = block.segment().asSlice(0, matrix);
                try (DeviceBuffer da = ctx.createBuffer(matrix);
                     DeviceBuffer db = ctx.createBuffer(matrix);
                     DeviceBuffer dc = ctx.createBuffer(matrix);
                     Program p = ctx.buildProgram(SourceLanguage.CUDA_C, SGEMM, "");
                     Kernel k = p.kernel("sgemm")) {
                    MemorySegment.copy(a, 0, m, ValueLayout.JAVA_FLOAT, 0, a.length);
                    q.write(da, 0, m).finish();
                    MemorySegment.copy(b, 0, m, ValueLayout.JAVA_FLOAT, 0, b.length);
                    q.write(db, 0, m).finish();
                    k.arg(0, da).arg(1, db).arg(2, dc).arg(3, N);
                    NDRange g = NDRange.of(N / 4, N / 4);
                    NDRange l = NDRange.of(16, 16);
                    double[] ms = new double[gemmReps];
                    for (int i = -1; i < gemmReps; i++) {
                        long t0 = System.nanoTime();
                        q.launch(k, g, l).finish();
                        if (i >= 0) {
                            ms[i] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                    r.put("sgemm_ms_remoted", median(ms));
                    q.read(dc, 0, m).finish();
                    MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Small integers (0..3), so every dot product is exact in float and results compare exactly. */
    private static float[] matrix(long seed) {
        Random random = new Random(seed);
        float[] m = new float[N * N];
        for (int i = 0; i < m.length; i++) {
            m[i] = random.nextInt(4);
        }
        return m;
    }

    /** Checks 64 sampled elements of C against a dot product computed here. */
    private static void check(String which, float[] a, float[] b, float[] c) {
        Random random = new Random(7);
        for (int s = 0; s < 64; s++) {
            int i = random.nextInt(N);
            int j = random.nextInt(N);
            float want = 0;
            for (int k = 0; k < N; k++) {
                want += a[i * N + k] * b[k * N + j];
            }
            if (c[i * N + j] != want) {
                throw new IllegalStateException("SGEMM (" + which + ") is wrong at C[" + i + "][" + j + "]: " + c[i * N + j]
                        + ", expected " + want);
            }
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static void print(Report r) {
        System.out.println();
        System.out.println("cuda benchmark (" + r.get("device") + "; " + r.get("machine") + ")");
        row("H2D 256 MiB (GB/s) vs pinned", r, "h2d_gbs_remoted", "h2d_gbs_native_pinned", "≥ 0.95");
        row("H2D native pageable (GB/s)", r, "h2d_gbs_native_pageable", null, "");
        row("D2H (GB/s) vs pinned", r, "d2h_gbs_remoted", "d2h_gbs_native_pinned", "");
        row("launch, async (µs)", r, "launch_async_us_remoted", "launch_async_us_native", "≤ 1.2");
        row("launch + finish (µs)", r, "launch_sync_us_remoted", "launch_sync_us_native", "≤ native + 1.5 µs");
        row("SGEMM 4096³ (ms)", r, "sgemm_ms_remoted", "sgemm_ms_native", "≤ 1.02");
    }

    private static void row(String what, Report r, String key, String base, String goal) {
        double v = ((Number) r.get(key)).doubleValue();
        if (base == null) {
            System.out.printf(Locale.ROOT, "  %-32s %12.2f%n", what, v);
            return;
        }
        double b = ((Number) r.get(base)).doubleValue();
        System.out.printf(Locale.ROOT, "  %-32s %12.2f   native %10.2f   ratio %6.3f   goal %s%n", what, v, b, v / b, goal);
    }
}
