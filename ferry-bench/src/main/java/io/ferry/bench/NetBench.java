package io.ferry.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.net.ssl.SSLContext;

/**
 * {@code ./ferry bench net}: Ferry over TCP on loopback, plain ({@code insecure-loopback}) and with TLS 1.3, each
 * beside the bare TCP floors between two processes measured in the same run ({@link TcpFloor}).
 */
public final class NetBench {
    static final long TRANSFER = 64L << 20;

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
        } finally {
            TransportBench.deleteTree(dir);
        }
        r.stamp();
        print(r);
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
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
        System.out.println("net benchmark (" + r.get("machine") + ")");
        for (String suffix : new String[] {"", "_tls"}) {
            String t = suffix.isEmpty() ? "plain" : "TLS 1.3";
            System.out.printf(Locale.ROOT, "  TCP floor RTT p50, %-8s %10.1f µs (p99 %.1f)%n", t,
                    num(r, "tcp_floor_rtt_us_p50" + suffix), num(r, "tcp_floor_rtt_us_p99" + suffix));
            System.out.printf(Locale.ROOT, "  TCP stream, %-8s write %6.2f GB/s   read %6.2f GB/s%n", t,
                    num(r, "tcp_stream_write_gbs" + suffix), num(r, "tcp_stream_read_gbs" + suffix));
        }
    }

    static double num(Report r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
