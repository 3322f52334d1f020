package io.ferry.bench;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Event;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.QueueOptions;
import io.ferry.client.CommandQueue;
import io.ferry.host.config.HostConfig;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.SourceLanguage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * {@code ./ferry bench transport}: the cost of the channel and the call path, each beside its baseline in the same
 * run: null calls beside their floor (bare ping-pong between two processes, in turns), one-way call rate, 64 MiB
 * transfers against the same backend called in-process, launch + finish against the same, and how the host scales
 * to 64 guests.
 *
 * <p>The host runs in a process of its own ({@link BenchHost}); this process is the guest.
 */
public final class TransportBench {
    static final int GUESTS = 64;
    /** The null call and its floors take turns in this many blocks ({@link #nullCallsBesideFloors}). */
    static final int FLOOR_BLOCKS = 10;
    /** Round trips before each block's own: the echo or the host's endpoint wakes from its pause. */
    static final int BLOCK_WARMUP = 5_000;
    static final long TRANSFER = 64L << 20;
    static final String KERNEL = "__kernel void inc(__global int* a) { a[get_global_id(0)] += 1; }";

    private final boolean quick;
    private final Path json;
    /** {@code --device TEXT} ({@link DeviceChoice}); null: the host's first device. */
    private final String device;

    public TransportBench(boolean quick, Path json) {
        this(quick, json, null);
    }

    public TransportBench(boolean quick, Path json, String device) {
        this.quick = quick;
        this.json = json;
        this.device = device;
    }

    public int run() throws Exception {
        DeviceChoice.Native chosen;
        try {
            chosen = DeviceChoice.inProcess(device);
        } catch (IllegalArgumentException e) {
            System.err.println("ferry bench transport: " + e.getMessage());
            return 2;
        }
        Report r = new Report("transport");
        int rttSamples = quick ? 200_000 : 2_000_000;
        int asyncCalls = quick ? 2_000_000 : 20_000_000;
        int transferReps = quick ? 5 : 20;
        int launchReps = quick ? 2_000 : 20_000;

        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-bench-");
        try (NativeTransfers nat = new NativeTransfers(chosen)) {
            Path config = dir.resolve("host.yaml");
            List<HostConfig.GuestConfig> guests = new ArrayList<>();
            guests.add(new HostConfig.GuestConfig("bench", 256L << 20).withSecret(HostConfig.newSecret()));
            for (int i = 1; i < GUESTS; i++) {
                guests.add(new HostConfig.GuestConfig("idle" + i, 1L << 20).withSecret(HostConfig.newSecret()));
            }
            HostConfig hostCfg = new HostConfig(dir.resolve("regions"), true, List.of(), guests);
            hostCfg.save(config);
            Process host = startJava(BenchHost.class, config.toString());
            try {
                awaitReady(host);
                // Warm the host's call path once, so the idle figure is not a cold JVM's.
                try (Ferry warm = BenchHost.connect(hostCfg, "idle1")) {
                    nullCalls(warm, 20_000);
                }
                Thread.sleep(200);
                r.put("host_rss_mib_idle", rssMib(host.pid()));
                try (Ferry ferry = BenchHost.connect(hostCfg, "bench")) {
                    List<Ferry> idle = new ArrayList<>();
                    try {
                        for (int i = 1; i < GUESTS; i++) {
                            idle.add(BenchHost.connect(hostCfg, "idle" + i));
                        }
                        Histogram many = nullCalls(ferry, rttSamples);
                        r.put("null_call_rtt_ns_p50_64_guests", many.getValueAtPercentile(50));
                        r.put("null_call_rtt_ns_p99_64_guests", many.getValueAtPercentile(99));
                        r.put("host_rss_mib_64_guests", rssMib(host.pid()));
                    } finally {
                        for (Ferry f : idle) {
                            f.close();
                        }
                    }
                    io.ferry.client.Device dev = DeviceChoice.guest(ferry, device);
                    r.put("device", dev.name());
                    r.put("backend", dev.backend());
                    Histogram nul = nullCallsBesideFloors(dir, ferry, rttSamples, r);
                    r.put("null_call_rtt_ns_p50", nul.getValueAtPercentile(50));
                    r.put("null_call_rtt_ns_p99", nul.getValueAtPercentile(99));
                    r.put("async_calls_per_s", asyncRate(ferry, asyncCalls));
                    remoteTransfers(ferry, dev, r, transferReps, launchReps, nat);
                }
            } finally {
                host.getOutputStream().close();
                if (!host.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    host.destroyForcibly();
                }
            }
            lean(dir, r, transferReps, launchReps, nat, device);
            nativeBaselines(r, launchReps, chosen);
            LaunchFloor.measure(r, chosen, hostCfg.scheduling(), quick ? 1 : 3, launchReps);
        } finally {
            deleteTree(dir);
        }
        r.stamp();
        print(r);
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
    }

    /**
     * The same transfers and launches with the host at its leanest (device work in the host process, FIFO, no
     * scheduler): what process isolation and scheduling cost on top, side by side (keys end in _inprocess_fifo).
     */
    private static void lean(Path dir, Report r, int reps, int launchReps, NativeTransfers nat, String device)
            throws Exception {
        Path config = dir.resolve("lean.yaml");
        Path regions = dir.resolve("lean-regions");
        HostConfig leanCfg = new HostConfig(regions, true, List.of(), List.of(new HostConfig.GuestConfig("bench",
                256L << 20).withSecret(HostConfig.newSecret())))
                .withIsolation(HostConfig.Isolation.INPROCESS)
                .withScheduling(new HostConfig.Scheduling(HostConfig.Policy.FIFO, 4_000_000));
        leanCfg.save(config);
        Process host = startJava(BenchHost.class, config.toString());
        try {
            awaitReady(host);
            try (Ferry ferry = BenchHost.connect(leanCfg, "bench")) {
                Report lean = new Report("lean");
                remoteTransfers(ferry, DeviceChoice.guest(ferry, device), lean, reps, launchReps, nat);
                for (String k : List.of("write_gbs_remoted", "read_gbs_remoted", "launch_finish_us_remoted",
                        "write_gbs_native", "read_gbs_native", "write_us_outside_device",
                        "write4k_us_p50_after_pause_4000_remoted")) {
                    r.put(k + "_inprocess_fifo", lean.get(k));
                }
            }
        } finally {
            host.getOutputStream().close();
            if (!host.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                host.destroyForcibly();
            }
        }
    }

    /**
     * The null call and its floors, a word each way ({@code floor_rtt_ns_*}) and a record and its position word each
     * way, what any ring moves ({@code floor_rtt_ns_*_ring}; {@link PingPong}), in {@link #FLOOR_BLOCKS} blocks that
     * take turns, each after a warm-up of its own: so that the three see the same VM pace, which changes within
     * seconds on a shared VM and made the ratio of one to another read anywhere from 0.6 to 6.6 when each was
     * measured in one stretch of its own.
     */
    private static Histogram nullCallsBesideFloors(Path dir, Ferry ferry, int samples, Report r) throws Exception {
        Histogram word = new Histogram(3_600_000_000L, 3);
        Histogram ring = new Histogram(3_600_000_000L, 3);
        Histogram nul = new Histogram(3_600_000_000L, 3);
        try (PingPong.Echo w = new PingPong.Echo(dir.resolve("pingpong"), false);
             PingPong.Echo g = new PingPong.Echo(dir.resolve("pingpong-ring"), true)) {
            Histogram discard = new Histogram(3_600_000_000L, 3);
            w.measure(discard, samples / 4, 0);
            g.measure(discard, samples / 4, 0);
            Warmup.calls(samples / 4, i -> ferry.nop((int) i));
            int block = samples / FLOOR_BLOCKS;
            for (int b = 0; b < FLOOR_BLOCKS; b++) {
                w.measure(word, BLOCK_WARMUP, block);
                g.measure(ring, BLOCK_WARMUP, block);
                for (int i = 0; i < BLOCK_WARMUP; i++) {
                    ferry.nop(i);
                }
                timeNullCalls(ferry, nul, block);
            }
        }
        r.put("floor_rtt_ns_p50", word.getValueAtPercentile(50));
        r.put("floor_rtt_ns_p99", word.getValueAtPercentile(99));
        r.put("floor_rtt_ns_p50_ring", ring.getValueAtPercentile(50));
        r.put("floor_rtt_ns_p99_ring", ring.getValueAtPercentile(99));
        return nul;
    }

    static Histogram nullCalls(Ferry ferry, int samples) {
        Warmup.calls(samples / 4, i -> ferry.nop((int) i));
        Histogram h = new Histogram(3_600_000_000L, 3);
        timeNullCalls(ferry, h, samples);
        return h;
    }

    /** {@code samples} null calls, each one's round trip recorded into {@code into} (ns). */
    private static void timeNullCalls(Ferry ferry, Histogram into, int samples) {
        for (int i = 0; i < samples; i++) {
            long t0 = System.nanoTime();
            ferry.nop(i);
            into.recordValue(System.nanoTime() - t0);
        }
    }

    private static double asyncRate(Ferry ferry, int calls) {
        for (int i = 0; i < calls / 10; i++) {
            ferry.nopOneWay(i);
        }
        ferry.nop(0);
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            ferry.nopOneWay(i);
        }
        ferry.nop(0); // every one-way call before it has been served
        return calls / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * Remoted 64 MiB transfers, each beside the same transfer made natively ({@code nat}) right before it: the two
     * alternate, so both see the same machine (other load, the host's idle threads, a worker JVM still compiling)
     * and the ratio does not drift with it. Both are warmed up the same way first.
     */
    private static void remoteTransfers(Ferry ferry, io.ferry.client.Device device, Report r, int reps,
                                        int launchReps, NativeTransfers nat) throws Exception {
        try (Context ctx = ferry.createContext(device);
             CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(TRANSFER);
             HeapBlock block = ferry.heap().allocate(TRANSFER);
             Program p = ctx.buildProgram(KERNEL);
             Kernel k = p.kernel("inc");
             DeviceBuffer small = ctx.createBuffer(64 * 4)) {
            block.segment().fill((byte) 1);
            double[] w = new double[reps];
            double[] rd = new double[reps];
            double[] nw = new double[reps];
            double[] nrd = new double[reps];
            // Warm-up, both sides alike, until the remoted transfers stop getting faster (Warmup, as the net suite
            // does): a worker or host JVM that has just started compiles its call path meanwhile, and those compiler
            // threads share the two cores with the copy.
            Warmup warm = new Warmup();
            do {
                nat.write();
                nat.read();
            } while (warm.more(writeGbs(q, buf, block), readGbs(q, buf, block)));
            for (int i = 0; i < reps; i++) {
                nw[i] = nat.write();
                w[i] = writeGbs(q, buf, block);
                nrd[i] = nat.read();
                rd[i] = readGbs(q, buf, block);
            }
            r.put("write_gbs_remoted", median(w));
            r.put("read_gbs_remoted", median(rd));
            r.put("write_gbs_native", median(nw));
            r.put("read_gbs_native", median(nrd));
            k.arg(0, small);
            r.put("launch_finish_us_remoted", median(launchFinishUs(q, k, launchReps)));
            deviceTimedWrites(ctx, buf, block, r, reps, nat);
            AfterPause.measure(q, buf, block, nat, r, reps * 5);
        }
    }

    /**
     * The remoted 64 MiB write as the device timed it (PoCL's profiling of the copy in the worker), beside the
     * native write made right before it: whether the device's copy itself is slower than the native one, or the time
     * goes around it (the call, the wake-ups: {@code write_us_outside_device}, the guest's time minus the device's).
     */
    private static void deviceTimedWrites(Context ctx, DeviceBuffer buf, HeapBlock block, Report r, int reps,
                                          NativeTransfers nat) throws Exception {
        double[] device = new double[reps];
        double[] beside = new double[reps];
        double[] outside = new double[reps];
        try (CommandQueue pq = ctx.createQueue(QueueOptions.defaults().withProfiling(true))) {
            for (int i = 0; i < reps; i++) {
                beside[i] = nat.write();
                long t0 = System.nanoTime();
                try (Event e = pq.writeWithEvent(buf, 0, block.segment())) {
                    pq.finish();
                    long guest = System.nanoTime() - t0;
                    long copy = e.await().durationNanos();
                    device[i] = (double) block.segment().byteSize() / copy;
                    outside[i] = (guest - copy) / 1e3;
                }
            }
        }
        r.put("write_gbs_remoted_device", median(device));
        r.put("write_gbs_native_beside_device", median(beside));
        r.put("write_us_outside_device", median(outside));
    }

    /** One blocking write of the whole heap block through {@code q}; GB/s. */
    static double writeGbs(CommandQueue q, DeviceBuffer buf, HeapBlock block) {
        long t0 = System.nanoTime();
        q.write(buf, 0, block.segment()).finish();
        return block.segment().byteSize() / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }

    /** One blocking read into the whole heap block through {@code q}; GB/s. */
    static double readGbs(CommandQueue q, DeviceBuffer buf, HeapBlock block) {
        long t0 = System.nanoTime();
        q.read(buf, 0, block.segment()).finish();
        return block.segment().byteSize() / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }

    /**
     * Launch + finish of {@link #KERNEL} over 64 items ({@code k}'s argument set), {@code reps} times after a tenth
     * as many and {@link Warmup#CALL_MIN_NANOS} to warm up: one sample per call, µs.
     */
    static double[] launchFinishUs(CommandQueue q, Kernel k, int reps) {
        double[] lf = new double[reps];
        Warmup.calls(reps / 10, i -> q.launch(k, NDRange.of(64)).finish());
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            q.launch(k, NDRange.of(64)).finish();
            lf[i] = (System.nanoTime() - t0) / 1e3;
        }
        return lf;
    }

    /**
     * A blocking 4-byte write from ordinary memory (outside the heap: staged, as an application's variable is):
     * write + finish, {@code reps} times after a tenth as many and {@link Warmup#CALL_MIN_NANOS} to warm up; one
     * sample per call, µs.
     */
    static double[] write4Us(CommandQueue q, DeviceBuffer buf, int reps) {
        double[] w = new double[reps];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment four = arena.allocate(4, 4);
            Warmup.calls(reps / 10, i -> {
                four.set(ValueLayout.JAVA_INT, 0, (int) i);
                q.write(buf, 0, four).finish();
            });
            for (int i = 0; i < reps; i++) {
                four.set(ValueLayout.JAVA_INT, 0, i);
                long t0 = System.nanoTime();
                q.write(buf, 0, four).finish();
                w[i] = (System.nanoTime() - t0) / 1e3;
            }
        }
        return w;
    }

    /** Launch + finish called natively on the first device of the first backend that has one. */
    static void nativeBaselines(Report r, int launchReps) throws Exception {
        nativeBaselines(r, launchReps, DeviceChoice.inProcess(null));
    }

    /** Launch + finish called natively on {@code chosen} (the guest's device, or the host's first). */
    static void nativeBaselines(Report r, int launchReps, DeviceChoice.Native chosen) throws Exception {
        ComputeBackend backend = chosen.backend();
        DeviceInfo dev = chosen.device();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment mem = arena.allocate(4096, 4096);
            try (BackendSession s = backend.openSession("native", mem)) {
                s.createContext(1, dev.index());
                s.createQueue(2, 1, false, 0);
                s.createProgram(4, 1, SourceLanguage.OPENCL_C, KERNEL);
                s.buildProgram(4, "");
                s.createKernel(5, 4, "inc");
                s.createBuffer(6, 1, 64 * 4, 0, -1);
                s.setKernelArgBuffer(5, 0, 6);
                long[] global = {64};
                double[] lf = new double[launchReps];
                Warmup.calls(launchReps / 10, i -> {
                    s.enqueueLaunch(2, 5, 1, null, global, null, 0);
                    s.finish(2);
                });
                for (int i = 0; i < launchReps; i++) {
                    long t0 = System.nanoTime();
                    s.enqueueLaunch(2, 5, 1, null, global, null, 0);
                    s.finish(2);
                    lf[i] = (System.nanoTime() - t0) / 1e3;
                }
                r.put("launch_finish_us_native", median(lf));
            }
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Resident memory of a process without its shared-memory pages (the regions). */
    static double rssMib(long pid) throws IOException {
        long anon = 0;
        long file = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("RssAnon:")) {
                anon = kib(line);
            } else if (line.startsWith("RssFile:")) {
                file = kib(line);
            }
        }
        return (anon + file) / 1024.0;
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    static Process startJava(Class<?> main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xss512k",
                "-cp", System.getProperty("java.class.path")));
        String serves = System.getProperty("ferry.workerServesSession");
        if (serves != null) {
            cmd.add("-Dferry.workerServesSession=" + serves); // side-by-side runs of the two paths
        }
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    static void awaitReady(Process p) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream()));
        String line = in.readLine();
        if (!"READY".equals(line)) {
            throw new IllegalStateException("bench host did not start (said: " + line + ")");
        }
    }

    private static void print(Report r) {
        System.out.println();
        System.out.println("transport benchmark (" + r.get("device") + ", " + r.get("backend") + "; " + r.get("machine")
                + ")");
        row("null call RTT p50 (ns)", r, "null_call_rtt_ns_p50", "floor_rtt_ns_p50");
        row("null call RTT p99 (ns)", r, "null_call_rtt_ns_p99", "floor_rtt_ns_p99");
        row("  a record each way, no protocol (ns)", r, "floor_rtt_ns_p50_ring", "floor_rtt_ns_p50");
        row("null call p50 vs that (ns)", r, "null_call_rtt_ns_p50", "floor_rtt_ns_p50_ring");
        row("null call p50, 64 guests (ns)", r, "null_call_rtt_ns_p50_64_guests", "null_call_rtt_ns_p50");
        row("one-way calls per s", r, "async_calls_per_s", null);
        row("64 MiB write (GB/s)", r, "write_gbs_remoted", "write_gbs_native");
        row("64 MiB read (GB/s)", r, "read_gbs_remoted", "read_gbs_native");
        row("  device's own copy (GB/s)", r, "write_gbs_remoted_device", "write_gbs_native_beside_device");
        row("  µs outside the device's copy", r, "write_us_outside_device", null);
        row("    in-process, FIFO host", r, "write_us_outside_device_inprocess_fifo", null);
        for (long p : AfterPause.PAUSES_US) {
            row("  4 KiB write after a " + p + " µs pause (µs)", r, "write4k_us_p50_after_pause_" + p + "_remoted",
                    "write4k_us_p50_after_pause_" + p + "_native");
        }
        row("    in-process, FIFO host, after 4000 µs", r, "write4k_us_p50_after_pause_4000_remoted_inprocess_fifo",
                "write4k_us_p50_after_pause_4000_native");
        row("  after a 64 MiB read sweep / as long a spin", r, "write4k_us_p50_after_sweep_remoted",
                "write4k_us_p50_after_matched_spin_remoted");
        row("launch + finish (µs)", r, "launch_finish_us_remoted", "launch_finish_us_native");
        row("  in-process, FIFO host (µs)", r, "launch_finish_us_remoted_inprocess_fifo", "launch_finish_us_native");
        if (r.get("launch_finish_us_floor_2_processes") != null) {
            row("  floor, two processes, no Ferry (µs)", r, "launch_finish_us_floor_2_processes",
                    "launch_finish_us_floor_native");
        }
        row("  64 MiB write, in-process (GB/s)", r, "write_gbs_remoted_inprocess_fifo",
                "write_gbs_native_inprocess_fifo");
        row("  64 MiB read, in-process (GB/s)", r, "read_gbs_remoted_inprocess_fifo", "read_gbs_native_inprocess_fifo");
        row("host RSS (MiB), 64 guests vs idle", r, "host_rss_mib_64_guests", "host_rss_mib_idle");
    }

    private static void row(String what, Report r, String key, String base) {
        double v = ((Number) r.get(key)).doubleValue();
        if (base == null) {
            System.out.printf(Locale.ROOT, "  %-36s %14.1f%n", what, v);
            return;
        }
        double b = ((Number) r.get(base)).doubleValue();
        System.out.printf(Locale.ROOT, "  %-36s %14.1f   baseline %12.1f   ratio %6.2f%n", what, v, b, v / b);
    }

    /** Removes {@code dir} and everything under it (nothing when it does not exist). */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
