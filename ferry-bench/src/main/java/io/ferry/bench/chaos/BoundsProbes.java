package io.ferry.bench.chaos;

import io.ferry.bench.BenchHost;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.Kernel;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Chaos probes of the bounds on guest resources (issue 11, item 3), for {@code ./ferry bench chaos}.
 *
 * <p>{@link #onewayFlood}: a host in a child JVM ({@code -Xmx512m}, as in the report that found the leak) serves a
 * guest that sends one-way calls (kernel arguments, queue hints) with no synchronous call for several seconds.
 * Before the fix the host's bookkeeping grew by about 50 bytes a call and the host died of {@code OutOfMemoryError}
 * in about 6 s; now the calls over the session's {@code oneWayOutstanding} quota are refused and the host's resident
 * memory stays flat. The figure is the growth of the host's {@code VmRSS} (MiB) over the flood, measured against a
 * baseline taken after a warm-up that runs the same calls with synchronous calls between them (so JIT and the
 * young generation's first touch are not counted).
 */
public final class BoundsProbes {
    static final String SCALE = "__kernel void scale(__global float* a, float f) {"
            + " size_t i = get_global_id(0); a[i] = a[i] * f; }";

    private BoundsProbes() {
    }

    /** What the one-way flood did to the host. */
    public record FloodResult(double hostRssGrowthMib, double baselineRssMib, double peakRssMib, long calls,
                              double seconds, boolean refusedWithQuota, boolean hostAlive, String refusal) {
    }

    /**
     * The chaos keys of this probe: {@code oneway_flood_host_rss_mib} (acceptance: at most 64), with
     * {@code oneway_flood_calls}, {@code oneway_flood_refused} (true: refused naming the quota) and
     * {@code oneway_flood_host_alive} beside it.
     *
     * @param dir   an empty scratch directory (a host's regions and config go there; removed by the caller)
     * @param quick a shorter warm-up (the flood itself lasts 5 s either way)
     */
    public static Map<String, Object> probe(Path dir, boolean quick) throws Exception {
        FloodResult f = onewayFlood(dir, quick ? 1_000 : 3_000, 5_000);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("oneway_flood_host_rss_mib", Math.round(f.hostRssGrowthMib() * 10) / 10.0);
        out.put("oneway_flood_calls", f.calls());
        out.put("oneway_flood_refused", f.refusedWithQuota());
        out.put("oneway_flood_host_alive", f.hostAlive());
        return out;
    }

    /**
     * Floods a host in a child JVM with one-way calls for {@code floodMillis} ms after a warm-up of
     * {@code warmupMillis} ms, and measures the host's resident memory.
     */
    public static FloodResult onewayFlood(Path dir, long warmupMillis, long floodMillis) throws Exception {
        Files.createDirectories(dir);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("flood", 16L << 20).withSecret(HostConfig.newSecret())));
        Path yaml = dir.resolve("ferry.yaml");
        cfg.save(yaml);
        Process host = startHost(yaml);
        try {
            String line = new BufferedReader(new InputStreamReader(host.getInputStream())).readLine();
            if (!"READY".equals(line)) {
                throw new IllegalStateException("the flood probe's host did not start (said: " + line + ")");
            }
            long pid = host.pid();
            long calls = 0;
            double baseline = Double.NaN;
            double peak = Double.NaN;
            boolean refused = false;
            String refusal = null;
            long t0 = System.nanoTime();
            try (Ferry ferry = io.ferry.bench.BenchHost.connect(cfg, "flood");
                 Context ctx = ferry.createContext(ferry.defaultDevice());
                 CommandQueue q = ctx.createQueue();
                 Program p = ctx.buildProgram(SCALE);
                 Kernel k = p.kernel("scale");
                 DeviceBuffer a = ctx.createBuffer(4096)) {
                // Warm-up: the same calls, drained by a finish every 60 000 (within the quota), and one refusal.
                long end = System.nanoTime() + warmupMillis * 1_000_000;
                while (System.nanoTime() < end) {
                    for (int i = 0; i < 60_000; i += 3) {
                        k.arg(1, 2.0f);
                        k.arg(0, a);
                        q.hint(i & 7, null);
                    }
                    q.finish();
                }
                for (int i = 0; i < 70_000; i++) {
                    k.arg(1, 2.0f);
                }
                try {
                    q.finish();
                } catch (FerryException e) {
                    // expected: over the quota; the next round counts afresh
                }
                Thread.sleep(300);
                baseline = rssMib(pid);
                peak = baseline;
                // The flood: one-way calls only, no synchronous call, for floodMillis.
                t0 = System.nanoTime();
                end = t0 + floodMillis * 1_000_000;
                try {
                    while (System.nanoTime() < end) {
                        for (int i = 0; i < 65_536; i += 4) {
                            k.arg(1, 2.0f);
                            k.arg(0, a);
                            k.arg(1, 0.5f);
                            q.hint(i & 7, null);
                        }
                        calls += 65_536;
                        peak = Math.max(peak, rssMib(pid));
                    }
                    q.flush();
                    Thread.sleep(500); // let the host read what is left in the ring
                    peak = Math.max(peak, rssMib(pid));
                    q.finish();
                } catch (FerryException e) {
                    refused = e.status() == Status.QUOTA_EXCEEDED && e.getMessage().contains("oneWayOutstanding");
                    refusal = e.getMessage();
                }
            } catch (FerryException e) {
                if (refusal == null) {
                    refusal = e.getMessage(); // the host went away (out of memory)
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean alive = host.isAlive();
            if (alive) {
                peak = Math.max(peak, rssMib(pid));
            }
            return new FloodResult(peak - baseline, baseline, peak, calls, seconds, refused, alive, refusal);
        } finally {
            host.getOutputStream().close();
            if (!host.waitFor(10, TimeUnit.SECONDS)) {
                host.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private static Process startHost(Path yaml) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xss512k", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), BenchHost.class.getName(), yaml.toString()));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** The resident set of process {@code pid} (VmRSS), MiB. */
    static double rssMib(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        throw new IOException("no VmRSS in /proc/" + pid + "/status");
    }

    /** {@code BoundsProbes [--quick]}: runs the probes in a scratch directory and prints their keys. */
    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-bounds-");
        try {
            for (var e : probe(dir, quick).entrySet()) {
                System.out.printf(Locale.ROOT, "%-28s %s%n", e.getKey(), e.getValue());
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
