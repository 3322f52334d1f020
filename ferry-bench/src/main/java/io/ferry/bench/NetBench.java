package io.ferry.bench;

import io.ferry.client.Ferry;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * {@code ./ferry bench net}: Ferry over TCP on loopback, plain ({@code insecure-loopback}) and with TLS 1.3, each
 * beside the bare TCP floors between two processes measured in the same run ({@link TcpFloor}), and launch + finish
 * beside the same backend called in this process. The host runs in a process of its own ({@link BenchHost}) with
 * both listeners; the TLS guests' bundles are issued by the host's own CA code, as {@code ferry guest add --tls}
 * does. Each mode has its own guests: {@code bench} (one lane, the measuring connection) and four guests of
 * {@link NetCalls#LANES} lanes for the other 63 connections.
 */
public final class NetBench {
    static final long TRANSFER = 64L << 20;
    /** The issue's goals (docs/network.md). */
    static final double NULL_CALL_GOAL = 2.0;
    static final double WRITE4_GOAL_US = 25;
    static final double LAUNCH_GOAL_US = 25;
    static final double STREAM_GOAL = 0.8;
    static final double STREAM_GOAL_TLS = 0.6;
    static final double CLIENTS_GOAL = 1.5;
    static final String[] MODES = {"", "_tls"};

    private final boolean quick;
    private final Path json;

    public NetBench(boolean quick, Path json) {
        this.quick = quick;
        this.json = json;
    }

    public int run() throws Exception {
        Report r = new Report("net");
        int samples = quick ? 5_000 : 50_000;
        int streamReps = quick ? 3 : 7;
        Path dir = Files.createTempDirectory("ferry-bench-net-");
        try {
            Path store = TcpFloor.keystore(dir);
            floors(r, null, "", samples, streamReps, store);
            floors(r, TcpFloor.context(store), "_tls", samples, streamReps, store);
            remote(r, dir, NetCalls.Sizes.of(quick));
            TransportBench.nativeBaselines(r, NetCalls.Sizes.of(quick).smallCalls());
        } finally {
            TransportBench.deleteTree(dir);
        }
        r.put("tls_provider_host", "jdk"); // HostTls.serverContext(): Netty SslProvider.JDK (docs/network.md)
        derive(r);
        r.stamp();
        print(r);
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
    }

    /** Starts the host with both listeners and measures each mode through it. */
    private static void remote(Report r, Path dir, NetCalls.Sizes sizes) throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(dir.resolve("tls"));
        List<HostConfig.GuestConfig> guests = new ArrayList<>();
        Map<String, byte[]> secrets = new HashMap<>();
        for (String mode : new String[] {"p-", "t-"}) {
            guests.add(new HostConfig.GuestConfig(mode + "bench", 256L << 20));
            for (int i = 0; i < NetCalls.CLIENTS / NetCalls.LANES; i++) {
                guests.add(new HostConfig.GuestConfig(mode + "many" + i, 32L << 20).withLanes(NetCalls.LANES));
            }
        }
        for (int i = 0; i < guests.size(); i++) {
            byte[] secret = HostConfig.newSecret();
            secrets.put(guests.get(i).name(), secret);
            guests.set(i, guests.get(i).withSecret(secret));
            if (guests.get(i).name().startsWith("t-")) {
                String g = guests.get(i).name();
                GuestBundle.write(dir.resolve("bundle-" + g), g, ca.issue(g, 2), ca.certificate());
            }
        }
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), guests)
                .withNet(new NetConfig(List.of(new NetConfig.Address("127.0.0.1", 0)), 0, null, dir.resolve("tls")));
        Path config = dir.resolve("host.yaml");
        cfg.save(config);
        Process host = TransportBench.startJava(BenchHost.class, config.toString());
        try {
            int[] ports = netPorts(host);
            NetCalls.measure(r, "", g -> Ferry.connect(URI.create("ferry+tcp://127.0.0.1:" + ports[0] + "/" + g),
                    secrets.get(g)), "p-bench", many("p-"), host.pid(), sizes);
            NetCalls.measure(r, "_tls", g -> Ferry.connect(URI.create("ferry+tls://127.0.0.1:" + ports[1] + "/" + g),
                    dir.resolve("bundle-" + g)), "t-bench", many("t-"), host.pid(), sizes);
        } finally {
            host.getOutputStream().close();
            if (!host.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                host.destroyForcibly();
            }
        }
    }

    private static List<String> many(String mode) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < NetCalls.CLIENTS / NetCalls.LANES; i++) {
            names.add(mode + "many" + i);
        }
        return names;
    }

    /** The host's {@code NET PLAIN TLS} line, then its READY. */
    private static int[] netPorts(Process host) throws java.io.IOException {
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(host.getInputStream()));
        String net = in.readLine();
        String ready = in.readLine();
        if (net == null || !net.startsWith("NET ") || !"READY".equals(ready)) {
            throw new IllegalStateException("the bench host did not start its listeners (said: " + net + ")");
        }
        String[] f = net.split(" ");
        return new int[] {Integer.parseInt(f[1]), Integer.parseInt(f[2])};
    }

    /** The ratios and differences the goals are about, each mode against its own floor. */
    static void derive(Report r) {
        int met = 0;
        int total = 0;
        for (String m : MODES) {
            double streamGoal = m.isEmpty() ? STREAM_GOAL : STREAM_GOAL_TLS;
            r.put("null_call_floor_ratio" + m, num(r, "null_call_us_p50" + m) / num(r, "tcp_floor_rtt_us_p50" + m));
            r.put("launch_finish_over_native_us" + m, num(r, "launch_finish_us" + m)
                    - num(r, "launch_finish_us_native"));
            r.put("write_floor_ratio" + m, num(r, "write_gbs" + m) / num(r, "tcp_stream_write_gbs" + m));
            r.put("read_floor_ratio" + m, num(r, "read_gbs" + m) / num(r, "tcp_stream_read_gbs" + m));
            r.put("clients_64_null_call_ratio" + m, num(r, "null_call_us_p50_64_clients" + m)
                    / num(r, "null_call_us_p50" + m));
            r.put("clients_64_calling_null_call_ratio" + m, num(r, "null_call_us_p50_64_calling" + m)
                    / num(r, "null_call_us_p50" + m));
            boolean[] goals = {
                num(r, "null_call_floor_ratio" + m) <= NULL_CALL_GOAL,
                num(r, "write4_blocking_us_p50" + m) <= WRITE4_GOAL_US,
                num(r, "launch_finish_over_native_us" + m) <= LAUNCH_GOAL_US,
                num(r, "write_floor_ratio" + m) >= streamGoal,
                num(r, "read_floor_ratio" + m) >= streamGoal,
                num(r, "clients_64_null_call_ratio" + m) <= CLIENTS_GOAL};
            for (boolean g : goals) {
                met += g ? 1 : 0;
                total++;
            }
        }
        r.put("goals_met", met);
        r.put("goals_total", total);
    }

    private static void floors(Report r, SSLContext tls, String suffix, int samples, int reps, Path store)
            throws Exception {
        Process echo = tls == null ? TransportBench.startJava(TcpFloor.class)
                : TransportBench.startJava(TcpFloor.class, "tls", store.toString());
        try {
            int port = readyPort(echo);
            TcpFloor.Figures f = TcpFloor.measure(port, tls, samples, TRANSFER, reps);
            r.put("tcp_floor_rtt_us_p50" + suffix, f.rttUsP50());
            r.put("tcp_floor_rtt_us_p99" + suffix, f.rttUsP99());
            r.put("tcp_stream_write_gbs" + suffix, f.writeGbs());
            r.put("tcp_stream_read_gbs" + suffix, f.readGbs());
        } finally {
            echo.getOutputStream().close();
            if (!echo.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                echo.destroyForcibly();
            }
        }
    }

    static int readyPort(Process p) throws java.io.IOException {
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        if (line == null || !line.startsWith("READY ")) {
            throw new IllegalStateException("the TCP floor's echo process did not start (said: " + line + ")");
        }
        return Integer.parseInt(line.substring(6).trim());
    }

    private static void print(Report r) {
        System.out.println();
        System.out.println("net benchmark (" + r.get("device") + "; loopback; host TLS provider "
                + r.get("tls_provider_host") + "; " + r.get("machine") + ")");
        System.out.printf(Locale.ROOT, "  %-32s %9s %9s   %-21s %-15s %-16s %s%n", "figure", "plain", "TLS",
                "baseline plain / TLS", "ratio pl / TLS", "goal", "met");
        both(r, "TCP floor RTT p50 (µs)", "tcp_floor_rtt_us_p50", null, null, "", Double.NaN, Double.NaN, 0);
        both(r, "TCP stream write (GB/s)", "tcp_stream_write_gbs", null, null, "", Double.NaN, Double.NaN, 0);
        both(r, "TCP stream read (GB/s)", "tcp_stream_read_gbs", null, null, "", Double.NaN, Double.NaN, 0);
        both(r, "null call p50 (µs)", "null_call_us_p50", "tcp_floor_rtt_us_p50", "null_call_floor_ratio",
                "≤ 2× floor", NULL_CALL_GOAL, NULL_CALL_GOAL, -1);
        both(r, "blocking 4-byte write p50 (µs)", "write4_blocking_us_p50", null, null, "≤ 25 µs",
                WRITE4_GOAL_US, WRITE4_GOAL_US, -1);
        both(r, "launch + finish p50 (µs)", "launch_finish_us", "launch_finish_us_native",
                "launch_finish_over_native_us", "≤ native + 25 µs", LAUNCH_GOAL_US, LAUNCH_GOAL_US, -1);
        both(r, "64 MiB write (GB/s)", "write_gbs", "tcp_stream_write_gbs", "write_floor_ratio", "≥ 0.8 / 0.6 ×",
                STREAM_GOAL, STREAM_GOAL_TLS, 1);
        both(r, "64 MiB read (GB/s)", "read_gbs", "tcp_stream_read_gbs", "read_floor_ratio", "≥ 0.8 / 0.6 ×",
                STREAM_GOAL, STREAM_GOAL_TLS, 1);
        both(r, "null p50, 64 connected (µs)", "null_call_us_p50_64_clients", "null_call_us_p50",
                "clients_64_null_call_ratio", "≤ 1.5× one", CLIENTS_GOAL, CLIENTS_GOAL, -1);
        both(r, "null p50, 64 all calling (µs)", "null_call_us_p50_64_calling", "null_call_us_p50",
                "clients_64_calling_null_call_ratio", "", Double.NaN, Double.NaN, 0);
        both(r, "  calls per s, 64 all calling", "null_calls_per_s_64_calling", null, null, "", Double.NaN,
                Double.NaN, 0);
        both(r, "host RSS per client (MiB)", "host_rss_mib_per_client", null, null, "", Double.NaN, Double.NaN, 0);
        System.out.println("  goals met: " + r.get("goals_met") + " of " + r.get("goals_total")
                + " (launch + finish: the difference to native is the ratio column)");
    }

    /** One row: plain and TLS, their baselines and ratios, and the goal (sense -1: at most, 1: at least). */
    private static void both(Report r, String what, String key, String base, String ratio, String goal,
                             double goalPlain, double goalTls, int sense) {
        double p = num(r, key);
        double t = num(r, key + "_tls");
        String baseline = "";
        if (base != null && base.endsWith("_native")) {
            baseline = String.format(Locale.ROOT, "%9.2f (both)", num(r, base));
        } else if (base != null) {
            baseline = String.format(Locale.ROOT, "%9.2f / %-9.2f", num(r, base), num(r, base + "_tls"));
        }
        String ratios = ratio == null ? "" : String.format(Locale.ROOT, "%6.2f / %-6.2f", num(r, ratio),
                num(r, ratio + "_tls"));
        String met = "";
        if (sense != 0) {
            met = mark(num(r, ratio == null ? key : ratio), goalPlain, sense) + " / "
                    + mark(num(r, (ratio == null ? key : ratio) + "_tls"), goalTls, sense);
        }
        System.out.printf(Locale.ROOT, "  %-32s %9.2f %9.2f   %-21s %-15s %-16s %s%n", what, p, t, baseline, ratios,
                goal, met);
    }

    private static String mark(double v, double goal, int sense) {
        return (sense < 0 ? v <= goal : v >= goal) ? "✓" : "✗";
    }

    static double num(Report r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
