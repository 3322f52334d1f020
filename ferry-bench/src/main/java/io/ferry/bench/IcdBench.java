package io.ferry.bench;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.Kernel;
import io.ferry.client.Program;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code ./ferry bench icd}: the native OpenCL ICD ({@code libferry-opencl.so}) beside the host's own OpenCL and
 * beside the Java guest library, in one run. A real host runs in a process of its own ({@link BenchHost}) with two
 * guests; the C harness {@code ferry-icd/build/icd_bench} runs as a child with guest {@code icd}'s environment
 * (FERRY_HOST=unix:…, FERRY_GUEST, FERRY_SECRET_FILE, and OCL_ICD_VENDORS naming a directory with ferry.icd and the
 * system's other vendor files), and measures the same calls on the Ferry platform and on the host's platform
 * (PoCL), alternating. Before and after it, this process measures the Java library's blocking 4-byte write and
 * launch + finish as guest {@code java} (the transport suite's code). Reports the ratios to native and the
 * differences to Java against the goals.
 */
public final class IcdBench {
    /** Goals (issue 14): per-call overhead within 1 µs of the Java library's; bandwidth against native. */
    static final double CALL_GOAL_US = 1.0;
    static final double COPY_GOAL = 0.90;
    static final double MAP_GOAL = 0.95;

    private static final Pattern JSON_PAIR =
            Pattern.compile("\"([A-Za-z0-9_]+)\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|true|false|null|-?[0-9][0-9.eE+-]*)");

    /** What make builds: the ICD, its vendors file and the harness (not the ICD's tests: `all` would). */
    static final List<String> MAKE_TARGETS = List.of("build/libferry-opencl.so", "build/ferry.icd",
            "build/icd_bench");

    private final boolean quick;
    private final Path json;

    public IcdBench(boolean quick, Path json) {
        this.quick = quick;
        this.json = json;
    }

    public int run() throws Exception {
        try {
            return measure();
        } catch (IllegalStateException e) {
            System.err.println("ferry bench icd: " + e.getMessage());
            return 1;
        }
    }

    private int measure() throws Exception {
        Path home = ferryHome();
        Path icd = home.resolve("ferry-icd");
        String make = "make -C " + icd + " " + String.join(" ", MAKE_TARGETS);
        String built = build(icd);
        if (built != null) {
            System.err.println("ferry bench icd: building the ICD and its harness failed (" + make + "):\n" + built);
            return 1;
        }
        Path harness = icd.resolve("build/icd_bench");
        Path library = icd.resolve("build/libferry-opencl.so");
        int javaReps = quick ? 1_000 : 5_000;
        Report r = new Report("icd");
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-icd-bench-");
        // Runs of the harness alternate with rounds of the Java library (java, harness, java, harness, ..., java):
        // on a shared machine the call latencies drift by tens of microseconds between minutes, so the ICD-to-Java
        // difference is taken per run, against the Java rounds just before and after it, and its median reported.
        int runs = quick ? 2 : 5;
        List<Map<String, Object>> harnessRuns = new ArrayList<>();
        List<Map<String, Object>> aloneRuns = new ArrayList<>();
        List<double[]> write4 = new ArrayList<>();
        List<double[]> launch = new ArrayList<>();
        try {
            Path vendors = vendors(dir.resolve("vendors"), library);
            HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), List.of(
                    new HostConfig.GuestConfig("icd", 512L << 20).withSecret(HostConfig.newSecret()).withLanes(2),
                    new HostConfig.GuestConfig("java", 256L << 20).withSecret(HostConfig.newSecret())));
            Path config = dir.resolve("host.yaml");
            cfg.save(config);
            Path secret = dir.resolve("icd.secret");
            Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(secret, cfg.guest("icd").secret());
            Process host = TransportBench.startJava(BenchHost.class, config.toString());
            try {
                TransportBench.awaitReady(host);
                Path ferryOnly = Files.createDirectories(dir.resolve("vendors-ferry"));
                Files.copy(vendors.resolve("ferry.icd"), ferryOnly.resolve("ferry.icd"));
                javaCalls(cfg, javaReps, write4, launch);
                for (int run = 1; run <= runs; run++) {
                    Map<String, Object> figures = runHarness(harness, cfg, secret, vendors, run, runs,
                            "--rounds", quick ? "1" : "2");
                    // The per-call figures once more with Ferry alone in the process, as the Java library runs:
                    // no other OpenCL platform's threads in it (they keep the machine's cores awake, which alone
                    // moves a round trip by tens of microseconds here).
                    Map<String, Object> alone = figures == null ? null
                            : runHarness(harness, cfg, secret, ferryOnly, run, runs, "--calls-only", "--rounds", "1");
                    if (figures == null || alone == null) {
                        return 1;
                    }
                    harnessRuns.add(figures);
                    aloneRuns.add(alone);
                    javaCalls(cfg, javaReps, write4, launch);
                }
            } finally {
                host.getOutputStream().close();
                if (!host.waitFor(10, TimeUnit.SECONDS)) {
                    host.destroyForcibly();
                }
            }
        } finally {
            TransportBench.deleteTree(dir);
        }
        combine(harnessRuns).forEach(r::put);
        r.put("harness_runs", runs);
        r.put("java_write4_us_p50", TransportBench.median(concat(write4)));
        r.put("java_launch_finish_us_p50", TransportBench.median(concat(launch)));
        r.put("java_samples", concat(write4).length);
        double[] w4 = new double[runs];
        double[] lf = new double[runs];
        r.put("icd_alone_write4_us_p50", combine(aloneRuns).get("icd_write4_us_p50"));
        r.put("icd_alone_launch_finish_us_p50", combine(aloneRuns).get("icd_launch_finish_us_p50"));
        for (int i = 0; i < runs; i++) {
            Map<String, Object> f = aloneRuns.get(i);
            w4[i] = number(f, "icd_write4_us_p50") - (TransportBench.median(write4.get(i))
                    + TransportBench.median(write4.get(i + 1))) / 2;
            lf[i] = number(f, "icd_launch_finish_us_p50") - (TransportBench.median(launch.get(i))
                    + TransportBench.median(launch.get(i + 1))) / 2;
        }
        r.put("icd_minus_java_write4_us_runs", w4);
        r.put("icd_minus_java_launch_finish_us_runs", lf);
        derive(r);
        r.stamp();
        print(r);
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return Boolean.TRUE.equals(r.get("verified")) ? 0 : 1;
    }

    /** Ratios to native and differences to the Java library, from the measured keys. */
    static void derive(Report r) {
        r.put("write4_ratio", num(r, "icd_write4_us_p50") / num(r, "native_write4_us_p50"));
        r.put("launch_finish_ratio", num(r, "icd_launch_finish_us_p50") / num(r, "native_launch_finish_us_p50"));
        r.put("write_ratio", num(r, "icd_write_gbs") / num(r, "native_write_gbs"));
        r.put("read_ratio", num(r, "icd_read_gbs") / num(r, "native_read_gbs"));
        r.put("map_ratio", num(r, "icd_map_gbs") / num(r, "native_map_gbs"));
        r.put("enqueues_ratio", num(r, "icd_enqueues_per_s") / num(r, "native_enqueues_per_s"));
        if (r.get("icd_minus_java_write4_us_runs") instanceof double[] w4
                && r.get("icd_minus_java_launch_finish_us_runs") instanceof double[] lf) {
            r.put("icd_minus_java_write4_us", TransportBench.median(w4));
            r.put("icd_minus_java_launch_finish_us", TransportBench.median(lf));
        } else {
            r.put("icd_minus_java_write4_us", num(r, "icd_write4_us_p50") - num(r, "java_write4_us_p50"));
            r.put("icd_minus_java_launch_finish_us",
                    num(r, "icd_launch_finish_us_p50") - num(r, "java_launch_finish_us_p50"));
        }
    }

    /** One run of the harness as guest {@code icd}; its figures, or null (said why) when it failed. */
    private Map<String, Object> runHarness(Path harness, HostConfig cfg, Path secret, Path vendors, int run, int runs,
                                           String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(harness.toString());
        pb.command().addAll(List.of(args));
        Map<String, String> env = pb.environment();
        for (String k : List.of("FERRY_SECRET", "FERRY_SOCKET", "FERRY_REGION_DIR", "OPENCL_VENDOR_PATH")) {
            env.remove(k);
        }
        env.put("FERRY_HOST", "unix:" + cfg.guestSocket());
        env.put("FERRY_GUEST", "icd");
        env.put("FERRY_SECRET_FILE", secret.toString());
        env.put("OCL_ICD_VENDORS", vendors.toString());
        System.out.println("icd bench: run " + run + " of " + runs + ": " + String.join(" ", pb.command())
                + " (FERRY_HOST=" + env.get("FERRY_HOST") + " FERRY_GUEST=icd OCL_ICD_VENDORS=" + vendors + ")");
        Process p = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        p.getOutputStream().close();
        CompletableFuture<String> stdout = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }, runnable -> Thread.ofPlatform().daemon().start(runnable));
        int limit = quick ? 180 : 600;
        if (!p.waitFor(limit, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            System.err.println("ferry bench icd: the harness did not finish within " + limit + " s; killed");
            return null;
        }
        String out = stdout.get(10, TimeUnit.SECONDS);
        if (p.exitValue() != 0) {
            System.err.println("ferry bench icd: the harness failed (exit " + p.exitValue() + ")"
                    + (out.isBlank() ? "" : "; it printed:\n" + out));
            return null;
        }
        return parseFlatJson(out);
    }

    /** The runs' figures as one: each number's median over the runs, text from the first, verified if all were. */
    static Map<String, Object> combine(List<Map<String, Object>> runs) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String key : runs.getFirst().keySet()) {
            Object first = runs.getFirst().get(key);
            if (first instanceof Boolean) {
                out.put(key, runs.stream().allMatch(m -> Boolean.TRUE.equals(m.get(key))));
            } else if (first instanceof Number && !key.equals("rounds") && !key.endsWith("_samples_per_round")
                    && !key.equals("transfer_bytes") && !key.equals("enqueue_burst")) {
                out.put(key, TransportBench.median(runs.stream().mapToDouble(m -> number(m, key)).toArray()));
            } else {
                out.put(key, first);
            }
        }
        return out;
    }

    private static double number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /**
     * The Java library's figures, as guest {@code java}: a blocking 4-byte write and launch + finish, with the
     * transport suite's loops; each call's samples are appended. One connection per call, closed afterwards, so it
     * does not hold the device while the harness runs.
     */
    private static void javaCalls(HostConfig cfg, int reps, List<double[]> write4, List<double[]> launch) {
        try (Ferry ferry = BenchHost.connect(cfg, "java");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(TransportBench.KERNEL);
             Kernel k = p.kernel("inc");
             DeviceBuffer small = ctx.createBuffer(64 * 4)) {
            k.arg(0, small);
            // each warms up first (Warmup.CALL_MIN_NANOS): this connection's device worker is a JVM just started
            write4.add(TransportBench.write4Us(q, small, reps));
            launch.add(TransportBench.launchFinishUs(q, k, reps));
        }
    }

    /**
     * A directory for OCL_ICD_VENDORS: ferry.icd naming {@code library}, and every vendor file of
     * /etc/OpenCL/vendors that does not name Ferry (the host's own OpenCL, the native baseline).
     */
    static Path vendors(Path dir, Path library) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("ferry.icd"), library.toAbsolutePath() + "\n");
        Path system = Path.of("/etc/OpenCL/vendors");
        int others = 0;
        if (Files.isDirectory(system)) {
            try (Stream<Path> s = Files.list(system)) {
                for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".icd") && Files.isRegularFile(f))
                        .sorted().toList()) {
                    String text = Files.readString(f);
                    if (text.toLowerCase(Locale.ROOT).contains("ferry")) {
                        continue;
                    }
                    String name = f.getFileName().toString();
                    Files.writeString(dir.resolve(name.equals("ferry.icd") ? "system-ferry.icd" : name), text);
                    others++;
                }
            }
        }
        if (others == 0) {
            throw new IllegalStateException("no OpenCL vendor file other than Ferry's in " + system
                    + ": the native baseline needs the host's own OpenCL (apt-get install pocl-opencl-icd)");
        }
        return dir;
    }

    /** Runs make for the ICD and the harness; null when it succeeded, else what it printed. */
    private static String build(Path icd) throws IOException, InterruptedException {
        Process p;
        try {
            List<String> cmd = new ArrayList<>(List.of("make", "-s", "-C", icd.toString()));
            cmd.addAll(MAKE_TARGETS);
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return "cannot run make: " + e.getMessage();
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return "make took more than 5 minutes";
        }
        return p.exitValue() == 0 ? null : out.isBlank() ? "make exited with " + p.exitValue() : out.strip();
    }

    /** The repository: -Dferry.home (the launcher sets it), else the first parent with ferry-icd/Makefile. */
    static Path ferryHome() {
        List<Path> starts = new ArrayList<>();
        String home = System.getProperty("ferry.home");
        if (home != null) {
            starts.add(Path.of(home));
        }
        starts.add(Path.of(System.getProperty("user.dir")));
        try {
            starts.add(Path.of(IcdBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (URISyntaxException | NullPointerException e) {
            // no code source: the other starts
        }
        for (Path start : starts) {
            for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
                if (Files.isRegularFile(p.resolve("ferry-icd").resolve("Makefile"))) {
                    return p;
                }
            }
        }
        throw new IllegalStateException("cannot find ferry-icd/Makefile above " + starts
                + "; run from Ferry's repository (./ferry bench icd) or pass -Dferry.home=REPO");
    }

    /** A flat JSON object (string, number, boolean and null values) as the harness prints it. */
    static Map<String, Object> parseFlatJson(String text) {
        Map<String, Object> m = new LinkedHashMap<>();
        Matcher x = JSON_PAIR.matcher(text);
        while (x.find()) {
            String v = x.group(2);
            Object value;
            if (x.group(3) != null) {
                value = x.group(3).replace("\\\"", "\"").replace("\\\\", "\\");
            } else if (v.equals("true") || v.equals("false")) {
                value = Boolean.parseBoolean(v);
            } else if (v.equals("null")) {
                value = Double.NaN;
            } else if (v.matches("-?[0-9]+")) {
                value = Long.parseLong(v);
            } else {
                value = Double.parseDouble(v);
            }
            m.put(x.group(1), value);
        }
        if (m.isEmpty()) {
            throw new IllegalStateException("the harness printed no figures: " + text);
        }
        return m;
    }

    private static double[] concat(List<double[]> parts) {
        return parts.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private static double num(Report r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static void print(Report r) {
        System.out.println();
        System.out.println("icd benchmark (" + r.get("icd_device") + " through Ferry's ICD; native: "
                + r.get("native_platform") + " / " + r.get("native_device") + "; " + r.get("machine") + ")");
        System.out.printf(Locale.ROOT, "  %-34s %12s %12s %7s %12s   %s%n", "figure", "Ferry ICD", "native", "ratio",
                "Java lib", "goal");
        call(r, "blocking 4-byte write p50 (µs)", "write4_us_p50", "java_write4_us_p50", "icd_minus_java_write4_us");
        call(r, "launch + finish p50 (µs)", "launch_finish_us_p50", "java_launch_finish_us_p50",
                "icd_minus_java_launch_finish_us");
        copy(r, "64 MiB write, malloc'd (GB/s)", "write_gbs", COPY_GOAL);
        copy(r, "64 MiB read, malloc'd (GB/s)", "read_gbs", COPY_GOAL);
        copy(r, "64 MiB map/fill/unmap, AHP (GB/s)", "map_gbs", MAP_GOAL);
        double icd = num(r, "icd_enqueues_per_s");
        double nat = num(r, "native_enqueues_per_s");
        System.out.printf(Locale.ROOT, "  %-34s %12.0f %12.0f %7.2f %12s%n", "NDRange enqueues per s", icd, nat,
                icd / nat, "");
        System.out.println("  verified: " + r.get("verified"));
    }

    private static void call(Report r, String what, String key, String javaKey, String diffKey) {
        double icd = num(r, "icd_" + key);
        double nat = num(r, "native_" + key);
        double java = num(r, javaKey);
        double diff = num(r, diffKey);
        double alone = num(r, "icd_alone_" + key);
        System.out.printf(Locale.ROOT, "  %-34s %12.2f %12.2f %7.2f %12.2f   ICD alone %.2f − Java %+.2f µs ≤ %.0f %s%n",
                what, icd, nat, icd / nat, java, alone, diff, CALL_GOAL_US, diff <= CALL_GOAL_US ? "✓" : "✗");
    }

    private static void copy(Report r, String what, String key, double goal) {
        double icd = num(r, "icd_" + key);
        double nat = num(r, "native_" + key);
        System.out.printf(Locale.ROOT, "  %-34s %12.2f %12.2f %7.2f %12s   ratio ≥ %.2f %s%n", what, icd, nat,
                icd / nat, "", goal, icd / nat >= goal ? "✓" : "✗");
    }
}
