package io.ferry.bench;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code ./ferry bench mcb}: mixed criticality at 60 Hz. A critical guest releases a job every 16.667 ms (upload, a
 * chain of kernels sized to about 12 % of the period on this device, readback; deadline = period) while four equal
 * best-effort tenants saturate the device (three with long kernels, one copy-heavy). One run measures (a) the
 * critical guest alone, (b) everything under plain FIFO, (c) everything under Ferry's policy.
 *
 * <p>The host runs in this process; each guest has a connection (a region of its own) and, on the CPU device, a
 * device worker process of its own. Only the host's policy differs between (b) and (c).
 *
 * <p>For comparisons and diagnosis (docs/benchmarks.md): {@code FERRY_MCB_RELEASE=0} (the critical guest declares no
 * releases), {@code FERRY_MCB_HOLD=on} (declared releases hold best-effort work on the CPU device too,
 * {@code releaseHold: on}), {@code FERRY_MCB_CAP=NANOS} (the best-effort cap, 25 ms by default),
 * {@code FERRY_MCB_LOADS=kernel|copy} (only those tenants load the device), {@code FERRY_MCB_WINDOWS=1} (prints
 * each window's shares and each frame over 8 ms).
 */
public final class McbBench {
    static final long PERIOD_NANOS = 16_666_667L;
    static final int CHAIN = 4;
    static final int ITEMS = 1 << 14;
    static final String KERNEL = """
            __kernel void spin(__global float* a, int iters) {
                size_t i = get_global_id(0);
                float x = a[i];
                for (int k = 0; k < iters; k++) { x = x * 0.999f + 0.5f; }
                a[i] = x;
            }
            """;
    static final String[] TENANTS = {"be1", "be2", "be3", "becopy"};
    /** The comparison knobs of the class comment, read once. */
    static final boolean HOLD_ON = "on".equals(System.getenv("FERRY_MCB_HOLD"));
    static final long CAP_NANOS = Long.parseLong(System.getenv().getOrDefault("FERRY_MCB_CAP", "25000000"));
    /** Paced frames before the measured ones (one second at 60 Hz). */
    static final int PACED_WARMUP = 60;

    private final boolean quick;
    private final Path json;
    private final Path plotDir;

    public McbBench(boolean quick, Path json, Path plotDir) {
        this.quick = quick;
        this.json = json;
        this.plotDir = plotDir;
    }

    public int run() throws Exception {
        int frames = quick ? 1800 : 36_000;
        int shortFrames = quick ? 600 : 3_600;
        Report r = new Report("mcb");
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-mcb-");
        try {
            // Calibrate on a quiet device: iterations for a ~12 % chain, and a ~10 ms best-effort kernel.
            McbCalibration cal;
            try (FerryHost host = startHost(dir.resolve("cal"), HostConfig.Policy.FERRY);
                 Ferry crit = BenchHost.connect(host, "critical"); Ferry copier = BenchHost.connect(host, "becopy")) {
                cal = McbCalibration.measure(crit, copier);
                r.put("device", crit.defaultDevice().name());
            }
            System.out.printf(Locale.ROOT, "mcb: chain of %d kernels × %d iterations ≈ %.2f ms; best-effort kernel "
                    + "%d iterations ≈ %.1f ms; 32 MiB write + read ≈ %.1f ms%n", CHAIN, cal.critIters(), cal.chainMillis(),
                    cal.beIters(), cal.beMillis(), cal.copyMillis());
            McbPhase alone = phase("alone", dir.resolve("a"), HostConfig.Policy.FERRY, cal, shortFrames, false);
            McbPhase fifo = phase("fifo", dir.resolve("b"), HostConfig.Policy.FIFO, cal, shortFrames, true);
            McbPhase ferry = phase("ferry", dir.resolve("c"), HostConfig.Policy.FERRY, cal, frames, true);

            r.put("frames", ferry.responses.length);
            r.put("critical_misses", ferry.misses());
            r.put("critical_p99_ms", ferry.percentile(99));
            r.put("critical_p99_alone_ms", alone.percentile(99));
            r.put("critical_max_ms", ferry.max());
            r.put("critical_p50_ms", ferry.percentile(50));
            r.put("critical_p50_alone_ms", alone.percentile(50));
            r.put("fifo_critical_misses", fifo.misses());
            r.put("fifo_frames", fifo.responses.length);
            r.put("fifo_critical_p99_ms", fifo.percentile(99));
            r.put("be_throughput_ratio_vs_fifo", ferry.beRate() / fifo.beRate());
            r.put("jain_fairness", ferry.jain());
            r.put("share_error_pp", ferry.shareErrorPp());
            r.put("share_error_pp_max", ferry.shareErrorPpMax());
            double[] mean = ferry.meanShares();
            for (int i = 0; i < TENANTS.length; i++) {
                r.put("share_" + TENANTS[i], mean[i]);
            }
            r.put("chain_ms_alone", cal.chainMillis());
            r.put("be_kernel_ms_alone", cal.beMillis());
            r.put("be_copy_ms_alone", cal.copyMillis());
            r.put("release_hold", HOLD_ON ? "on" : "auto");
            r.put("releases_declared", !"0".equals(System.getenv("FERRY_MCB_RELEASE")));
            r.put("best_effort_cap_ns", CAP_NANOS);
            r.stamp();
            print(r);
            if (plotDir != null) {
                Plots.cdf(plotDir.resolve("critical-response-cdf.png"), "critical response time (ms), 60 Hz",
                        List.of("alone", "FIFO", "Ferry"), List.of(alone.responses, fifo.responses, ferry.responses),
                        PERIOD_NANOS / 1e6);
                Plots.shares(plotDir.resolve("tenant-shares.png"), "best-effort device-time share per 1 s window",
                        Arrays.asList(TENANTS), ferry.windowShares);
                System.out.println("plots in " + plotDir);
            }
            if (json != null) {
                r.write(json);
                System.out.println("wrote " + json);
            }
        } finally {
            TransportBench.deleteTree(dir);
        }
        return 0;
    }

    private static FerryHost startHost(Path dir, HostConfig.Policy policy) throws Exception {
        List<HostConfig.GuestConfig> gs = new ArrayList<>();
        gs.add(new HostConfig.GuestConfig("critical", 64L << 20).withScheduling(SchedClass.CRITICAL, 1,
                new HostConfig.Reservation(8_000_000, PERIOD_NANOS), 0));
        for (String t : TENANTS) {
            gs.add(new HostConfig.GuestConfig(t, 96L << 20).withScheduling(SchedClass.BEST_EFFORT, 1, null, 0));
        }
        HostConfig.ReleaseHold hold = HOLD_ON ? HostConfig.ReleaseHold.ON : HostConfig.ReleaseHold.AUTO;
        HostConfig cfg = new HostConfig(dir, true, List.of(), gs)
                .withScheduling(new HostConfig.Scheduling(policy, CAP_NANOS).withReleaseHold(hold));
        return FerryHost.start(cfg, Devices.discover(List.of()));
    }


    private McbPhase phase(String name, Path dir, HostConfig.Policy policy, McbCalibration cal, int frames,
                           boolean load)
            throws Exception {
        System.out.println("mcb: phase " + name + " (" + frames + " frames" + (load ? ", with best-effort load" : "")
                + ", policy " + policy.name().toLowerCase(Locale.ROOT) + ")");
        McbPhase ph = new McbPhase();
        try (FerryHost host = startHost(dir, policy)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLongArray work = new AtomicLongArray(TENANTS.length); // completed device-time units, µs
            List<Thread> loaders = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            if (load) {
                String only = System.getenv("FERRY_MCB_LOADS"); // diagnosis: "copy", "kernel" or unset (both)
                for (int i = 0; i < TENANTS.length; i++) {
                    int t = i;
                    if (only != null && !only.equals(TENANTS[i].equals("becopy") ? "copy" : "kernel")) {
                        continue;
                    }
                    loaders.add(Thread.ofPlatform().name("mcb-" + TENANTS[i]).start(() -> {
                        // A best-effort guest's own program runs at normal priority (it would be in a VM or
                        // process of its own); not at the critical priority this thread inherits from the main one.
                        io.ferry.host.worker.OsPriority.applyToCurrentThread(SchedClass.NORMAL);
                        try (Ferry f = BenchHost.connect(host, TENANTS[t])) {
                            if (TENANTS[t].equals("becopy")) {
                                copyLoad(f, cal, stop, work, t);
                            } else {
                                kernelLoad(f, cal, stop, work, t);
                            }
                        } catch (Throwable e) {
                            if (!stop.get()) {
                                errors.add(e);
                            }
                        }
                    }));
                }
                awaitSteadyLoad(work, loaders.size(), errors);
            }
            // The critical guest's own thread runs at its class's CPU priority in every phase (alone, FIFO, Ferry), as
            // a critical guest would on its own core or VM: what differs between phases is only the host's policy.
            io.ferry.host.worker.OsPriority.applyToCurrentThread(SchedClass.CRITICAL);
            try (Ferry f = BenchHost.connect(host, "critical");
                 Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
                 Program p = ctx.buildProgram(KERNEL); Kernel k = p.kernel("spin");
                 DeviceBuffer a = ctx.createBuffer(4L * ITEMS); HeapBlock in = f.heap().allocate(4L * ITEMS);
                 HeapBlock out = f.heap().allocate(4L * ITEMS)) {
                k.arg(0, a).arg(1, cal.critIters());
                for (int i = 0; i < 30; i++) { // warm-up jobs back to back, not counted
                    job(q, k, a, in, out);
                }
                long[] resp = new long[frames];
                long t0 = System.nanoTime() + 2_000_000;
                // release-aware dispatch (docs/scheduling.md); FERRY_MCB_RELEASE=0 leaves it off, for comparison
                if (policy == HostConfig.Policy.FERRY && !"0".equals(System.getenv("FERRY_MCB_RELEASE"))) {
                    long budget = Math.min(6_000_000, (long) (2e6 * cal.chainMillis()) + 1_000_000);
                    q.declareRelease(java.time.Duration.ofNanos(PERIOD_NANOS),
                            java.time.Duration.ofNanos(Math.max(0, t0 - System.nanoTime())),
                            java.time.Duration.ofNanos(budget));
                }
                // One second of paced frames first, not counted: the first releases after the back-to-back
                // warm-up (and the declaration) meet cold paths in three processes.
                long[] beStart = null;
                long windowStart = 0;
                long[] windowBase = null;
                double[] dev0 = null;
                long measuredFrom = 0;
                for (int i = -PACED_WARMUP; i < frames; i++) {
                    if (i == 0) {
                        beStart = snapshot(work);
                        windowBase = beStart;
                        dev0 = deviceTimes(host);
                        measuredFrom = t0 + PACED_WARMUP * PERIOD_NANOS;
                        windowStart = measuredFrom;
                    }
                    long release = t0 + (i + PACED_WARMUP) * PERIOD_NANOS;
                    long now;
                    while ((now = System.nanoTime()) < release) {
                        long gap = release - now;
                        if (gap > 200_000) {
                            java.util.concurrent.locks.LockSupport.parkNanos(gap - 150_000);
                        } else {
                            Thread.onSpinWait();
                        }
                    }
                    job(q, k, a, in, out);
                    if (i < 0) {
                        continue;
                    }
                    resp[i] = System.nanoTime() - release;
                    if (resp[i] > 8_000_000 && System.getenv("FERRY_MCB_WINDOWS") != null) {
                        System.out.printf(Locale.ROOT, "mcb: slow frame %d: %.2f ms at %s release %.6f%n", i,
                                resp[i] / 1e6, java.time.LocalTime.now(), release / 1e9);
                    }
                    if (load && System.nanoTime() - windowStart >= 1_000_000_000L) {
                        double[] dev = deviceTimes(host);
                        ph.windowShares.add(policy == HostConfig.Policy.FERRY ? shares(dev0, dev)
                                : shares(windowBase, snapshot(work)));
                        dev0 = dev;
                        windowBase = snapshot(work);
                        windowStart = System.nanoTime();
                    }
                }
                ph.seconds = (System.nanoTime() - measuredFrom) / 1e9;
                long[] beEnd = snapshot(work);
                for (int i = 0; i < beEnd.length; i++) {
                    ph.beWorkUnits += beEnd[i] - beStart[i];
                }
                ph.responses = resp;
                var v = host.scheduling("critical");
                if (!v.isEmpty()) {
                    ph.waitP50 = v.getFirst().waitP50Nanos() / 1e6;
                    ph.waitP99 = v.getFirst().waitP99Nanos() / 1e6;
                    ph.waitMax = v.getFirst().waitMaxNanos() / 1e6;
                }
            } finally {
                stop.set(true);
                for (Thread t : loaders) {
                    t.join(30_000);
                }
            }
            if (!errors.isEmpty()) {
                throw new IllegalStateException("a best-effort tenant failed: " + errors.getFirst(), errors.getFirst());
            }
        }
        if (System.getenv("FERRY_MCB_WINDOWS") != null) {
            for (double[] w : ph.windowShares) {
                System.out.println("mcb: window " + Arrays.toString(w));
            }
        }
        System.out.printf(Locale.ROOT, "mcb: %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms, misses %d of %d; critical "
                + "queue wait p50 %.3f ms, p99 %.3f ms, max %.3f ms%n", name, ph.percentile(50), ph.percentile(99),
                ph.max(), ph.misses(), ph.responses.length, ph.waitP50, ph.waitP99, ph.waitMax);
        return ph;
    }

    /**
     * Waits until every loading tenant has finished two units of work, so its worker has started, built its program
     * and runs (on 2 cores, best-effort workers under SCHED_IDLE can take seconds), then one second more.
     */
    private static void awaitSteadyLoad(AtomicLongArray work, int loaders, List<Throwable> errors)
            throws InterruptedException {
        long t0 = System.nanoTime();
        long[] first = new long[work.length()];
        while (true) {
            int running = 0;
            for (int i = 0; i < work.length(); i++) {
                long w = work.get(i);
                if (w > 0 && first[i] == 0) {
                    first[i] = w;
                }
                if (first[i] > 0 && w > first[i]) {
                    running++;
                }
            }
            if (running >= loaders || !errors.isEmpty()) {
                break;
            }
            if (System.nanoTime() - t0 > 120_000_000_000L) {
                throw new IllegalStateException("the best-effort tenants did not all start work within 120 s ("
                        + running + " of " + loaders + " did)");
            }
            Thread.sleep(50);
        }
        Thread.sleep(1000);
        System.out.printf(Locale.ROOT, "mcb: best-effort load steady after %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static void job(CommandQueue q, Kernel k, DeviceBuffer a, HeapBlock in, HeapBlock out) {
        q.write(a, 0, in.segment());
        for (int c = 0; c < CHAIN; c++) {
            q.launch(k, NDRange.of(ITEMS));
        }
        q.read(a, 0, out.segment());
        q.finish();
    }

    private static void kernelLoad(Ferry f, McbCalibration cal, AtomicBoolean stop, AtomicLongArray work, int t) {
        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(KERNEL); Kernel k = p.kernel("spin");
             DeviceBuffer a = ctx.createBuffer(4L * ITEMS)) {
            k.arg(0, a).arg(1, cal.beIters());
            long unit = Math.round(cal.beMillis() * 1000);
            while (!stop.get()) {
                q.launch(k, NDRange.of(ITEMS)).finish();
                work.addAndGet(t, unit);
            }
        }
    }

    private static void copyLoad(Ferry f, McbCalibration cal, AtomicBoolean stop, AtomicLongArray work, int t) {
        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(McbCalibration.COPY_BYTES);
             HeapBlock h = f.heap().allocate(McbCalibration.COPY_BYTES)) {
            h.segment().fill((byte) 3);
            // the unit measured once on the quiet device, as the kernels' (not per phase: it would differ with load)
            long unit = Math.max(1, Math.round(cal.copyMillis() * 1000));
            while (!stop.get()) {
                q.write(a, 0, h.segment()).read(a, 0, h.segment()).finish();
                work.addAndGet(t, unit);
            }
        }
    }

    private static long[] snapshot(AtomicLongArray a) {
        long[] s = new long[a.length()];
        for (int i = 0; i < s.length; i++) {
            s[i] = a.get(i);
        }
        return s;
    }

    /** Device time of each best-effort tenant so far, from the host's scheduler (NaN under FIFO). */
    private static double[] deviceTimes(FerryHost host) {
        double[] d = new double[TENANTS.length];
        for (int i = 0; i < TENANTS.length; i++) {
            var v = host.scheduling(TENANTS[i]);
            d[i] = v.isEmpty() ? Double.NaN : v.getFirst().deviceNanos();
        }
        return d;
    }

    private static double[] shares(double[] before, double[] after) {
        double[] d = new double[before.length];
        double sum = 0;
        for (int i = 0; i < d.length; i++) {
            d[i] = after[i] - before[i];
            sum += d[i];
        }
        for (int i = 0; i < d.length; i++) {
            d[i] = sum > 0 ? d[i] / sum : 0;
        }
        return d;
    }

    private static double[] shares(long[] before, long[] after) {
        double[] b = new double[before.length];
        double[] a = new double[after.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = before[i];
            a[i] = after[i];
        }
        return shares(b, a);
    }

    private static void print(Report r) {
        System.out.println();
        System.out.println("mcb benchmark (" + r.get("device") + "; " + r.get("machine") + ")");
        for (String k : List.of("frames", "critical_misses", "fifo_critical_misses", "critical_p50_ms",
                "critical_p50_alone_ms", "critical_p99_ms", "critical_p99_alone_ms", "critical_max_ms",
                "fifo_critical_p99_ms", "be_throughput_ratio_vs_fifo", "jain_fairness", "share_error_pp",
                "share_error_pp_max", "share_be1", "share_be2", "share_be3", "share_becopy")) {
            Object v = r.get(k);
            System.out.printf(Locale.ROOT, "  %-30s %s%n", k, v instanceof Double d ? String.format(Locale.ROOT,
                    "%.3f", d) : v);
        }
        double p99 = ((Number) r.get("critical_p99_ms")).doubleValue();
        double alone = ((Number) r.get("critical_p99_alone_ms")).doubleValue();
        System.out.printf(Locale.ROOT, "  %-30s %.3f (goal ≤ 1.10)%n", "critical p99 / alone", p99 / alone);
    }
}
