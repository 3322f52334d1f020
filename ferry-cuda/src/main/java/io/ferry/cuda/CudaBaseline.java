package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The native baseline of {@code ./ferry bench cuda}: the same driver calls the backend makes, made in-process
 * through FFM with no Ferry in between (one context, one stream). Public for the benchmark module; not a general API.
 */
public final class CudaBaseline implements AutoCloseable {
    /** An empty kernel, as PTX (the launch-latency figures). */
    public static final String EMPTY_PTX = """
            .version 7.0
            .target sm_75
            .address_size 64

            .visible .entry empty()
            {
            	ret;
            }
            """;

    private final CudaDevice device;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment slot = arena.allocate(JAVA_LONG);
    private final long ctx;
    private final long stream;

    /** Why no baseline can run here (no driver, no device), or null when one can. */
    public static String unavailableReason() {
        CudaBackend b = new CudaBackend();
        return b.devices().isEmpty() ? b.unavailableReason() : null;
    }

    /** A context and a stream on CUDA device {@code index} (in the backend's order). */
    public CudaBaseline(int index) throws BackendException {
        List<CudaDevice> devices = new CudaBackend().cudaDevices();
        if (index < 0 || index >= devices.size()) {
            throw new BackendException(Status.NO_DEVICE, "no CUDA device " + index + " (" + devices.size() + " found)");
        }
        device = devices.get(index);
        check("cuCtxCreate", Cuda.ctxCreate(slot, Cuda.CU_CTX_SCHED_AUTO, device.ordinal()));
        ctx = slot.get(JAVA_LONG, 0);
        check("cuStreamCreateWithPriority", Cuda.streamCreateWithPriority(slot, 1, 0));
        stream = slot.get(JAVA_LONG, 0);
    }

    public String deviceName() {
        return device.info().name();
    }

    private void check(String fn, int rc) throws BackendException {
        if (rc != 0) {
            throw CudaErrors.exception(fn, rc, null);
        }
    }

    private void bind() throws BackendException {
        check("cuCtxSetCurrent", Cuda.ctxSetCurrent(ctx));
    }

    private long alloc(long bytes) throws BackendException {
        check("cuMemAlloc_v2", CudaMemory.memAlloc(slot, bytes));
        return slot.get(JAVA_LONG, 0);
    }

    /** Host → device GB/s (median of {@code reps}) from pinned ({@code cuMemAllocHost}) or pageable memory. */
    public double h2dGBs(long bytes, int reps, boolean pinned) throws BackendException {
        return copyGBs(bytes, reps, pinned, true);
    }

    /** Device → host GB/s (median of {@code reps}). */
    public double d2hGBs(long bytes, int reps, boolean pinned) throws BackendException {
        return copyGBs(bytes, reps, pinned, false);
    }

    private double copyGBs(long bytes, int reps, boolean pinned, boolean toDevice) throws BackendException {
        bind();
        long dptr = alloc(bytes);
        long host;
        Arena pageable = null;
        if (pinned) {
            check("cuMemAllocHost_v2", CudaMemory.memAllocHost(slot, bytes));
            host = slot.get(JAVA_LONG, 0);
        } else {
            pageable = Arena.ofConfined();
            MemorySegment m = pageable.allocate(bytes, 4096);
            m.fill((byte) 1);
            host = m.address();
        }
        try {
            double[] gbs = new double[reps];
            for (int i = -1; i < reps; i++) {
                long t0 = System.nanoTime();
                int rc = toDevice ? CudaMemory.memcpyHtoDAsync(dptr, host, bytes, stream) : CudaMemory.memcpyDtoHAsync(host, dptr, bytes, stream);
                check(toDevice ? "cuMemcpyHtoDAsync_v2" : "cuMemcpyDtoHAsync_v2", rc);
                check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
                if (i >= 0) {
                    gbs[i] = bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
                }
            }
            return median(gbs);
        } finally {
            CudaMemory.memFree(dptr);
            if (pinned) {
                CudaMemory.memFreeHost(host);
            } else {
                pageable.close();
            }
        }
    }

    /**
     * Launch costs of the empty kernel in µs: {@code [async, sync]}: async = time of {@code batches} batches of
     * {@code perBatch} launches each followed by one synchronize, per launch; sync = median of launch + synchronize.
     */
    public double[] launchUs(int batches, int perBatch, int syncReps) throws BackendException {
        bind();
        long module;
        long fn;
        try (Arena a = Arena.ofConfined()) {
            check("cuModuleLoadData", CudaModules.moduleLoadDataEx(slot, a.allocateFrom(EMPTY_PTX, StandardCharsets.UTF_8), 0,
                    MemorySegment.NULL, MemorySegment.NULL));
            module = slot.get(JAVA_LONG, 0);
            check("cuModuleGetFunction", CudaModules.moduleGetFunction(slot, module, a.allocateFrom("empty", StandardCharsets.UTF_8)));
            fn = slot.get(JAVA_LONG, 0);
        }
        try {
            for (int i = 0; i < perBatch; i++) {
                check("cuLaunchKernel", CudaModules.launchKernel(fn, 1, 1, 1, 64, 1, 1, 0, stream, MemorySegment.NULL));
            }
            check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
            long t0 = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                for (int i = 0; i < perBatch; i++) {
                    check("cuLaunchKernel", CudaModules.launchKernel(fn, 1, 1, 1, 64, 1, 1, 0, stream, MemorySegment.NULL));
                }
                check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
            }
            double async = (System.nanoTime() - t0) / 1e3 / ((double) batches * perBatch);
            double[] sync = new double[syncReps];
            for (int i = -syncReps / 10; i < syncReps; i++) {
                long s = System.nanoTime();
                check("cuLaunchKernel", CudaModules.launchKernel(fn, 1, 1, 1, 64, 1, 1, 0, stream, MemorySegment.NULL));
                check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
                if (i >= 0) {
                    sync[i] = (System.nanoTime() - s) / 1e3;
                }
            }
            return new double[] {async, median(sync)};
        } finally {
            CudaModules.moduleUnload(module);
        }
    }

    /**
     * Median milliseconds of {@code reps} runs (after one warm-up) of the CUDA C kernel {@code name(A, B, C, n)} over
     * n×n matrices, built with NVRTC for this device, launched on {@code global} work-items in blocks of
     * {@code local} (2-D). A and B are filled with {@code a} and {@code b}; C is copied into {@code c} when not null.
     */
    public double kernelMs(String source, String name, int n, long[] global, long[] local, int reps,
            float[] a, float[] b, float[] c) throws BackendException {
        Nvrtc.Result built = Nvrtc.get().compile(source, "sgemm.cu", List.of(device.archOption()), false);
        bind();
        long bytes = (long) n * n * 4;
        long module;
        long fn;
        try (Arena t = Arena.ofConfined()) {
            check("cuModuleLoadData", CudaModules.moduleLoadDataEx(slot, t.allocateFrom(built.ptx(), StandardCharsets.UTF_8), 0,
                    MemorySegment.NULL, MemorySegment.NULL));
            module = slot.get(JAVA_LONG, 0);
            check("cuModuleGetFunction", CudaModules.moduleGetFunction(slot, module, t.allocateFrom(name, StandardCharsets.UTF_8)));
            fn = slot.get(JAVA_LONG, 0);
        }
        long da = alloc(bytes);
        long db = alloc(bytes);
        long dc = alloc(bytes);
        try (Arena t = Arena.ofConfined()) {
            MemorySegment host = t.allocate(bytes, 4096);
            MemorySegment.copy(a, 0, host, JAVA_FLOAT, 0, a.length);
            check("cuMemcpyHtoDAsync_v2", CudaMemory.memcpyHtoDAsync(da, host.address(), bytes, stream));
            check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
            MemorySegment.copy(b, 0, host, JAVA_FLOAT, 0, b.length);
            check("cuMemcpyHtoDAsync_v2", CudaMemory.memcpyHtoDAsync(db, host.address(), bytes, stream));
            check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
            MemorySegment args = t.allocate(64, 16);
            args.set(JAVA_LONG, 0, da);
            args.set(JAVA_LONG, 16, db);
            args.set(JAVA_LONG, 32, dc);
            args.set(JAVA_INT, 48, n);
            MemorySegment params = t.allocate(ADDRESS, 4);
            for (int i = 0; i < 4; i++) {
                params.setAtIndex(JAVA_LONG, i, args.address() + 16L * i);
            }
            LaunchGeometry g = LaunchGeometry.of(name, 2, global, local, device.limits(), 0);
            double[] ms = new double[reps];
            for (int i = -1; i < reps; i++) {
                long t0 = System.nanoTime();
                check("cuLaunchKernel", CudaModules.launchKernel(fn, g.grid()[0], g.grid()[1], 1, g.block()[0], g.block()[1], 1, 0,
                        stream, params));
                check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
                if (i >= 0) {
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
            if (c != null) {
                check("cuMemcpyDtoHAsync_v2", CudaMemory.memcpyDtoHAsync(host.address(), dc, bytes, stream));
                check("cuStreamSynchronize", Cuda.streamSynchronize(stream));
                MemorySegment.copy(host, JAVA_FLOAT, 0, c, 0, c.length);
            }
            return median(ms);
        } finally {
            CudaMemory.memFree(da);
            CudaMemory.memFree(db);
            CudaMemory.memFree(dc);
            CudaModules.moduleUnload(module);
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    @Override
    public void close() {
        try {
            Cuda.ctxSetCurrent(ctx);
            Cuda.streamDestroy(stream);
            Cuda.ctxDestroy(ctx);
        } catch (RuntimeException ignored) {
            // nothing more to do
        } finally {
            arena.close();
        }
    }
}
