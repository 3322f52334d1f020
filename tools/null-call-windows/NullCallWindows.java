import io.ferry.bench.BenchHost;
import io.ferry.client.Ferry;
import io.ferry.host.config.HostConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Null calls in windows: a bench host in its own process (its command prefixed with HOST_PREFIX, e.g. "taskset -c
 * 0"), one guest in this one, 100,000 calls of warm-up, then WINDOWS windows of 20,000 calls, each window's p50, p99
 * and maximum, and over all of them p50, p99, p99.9 and the share of calls over 5 µs. Run by
 * tools/null-call-windows.sh.
 */
public final class NullCallWindows {
    public static void main(String[] args) throws Exception {
        int windows = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-windows-");
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("windows", 64L << 20).withSecret(HostConfig.newSecret())));
        Path config = dir.resolve("host.yaml");
        cfg.save(config);
        List<String> cmd = new ArrayList<>();
        String prefix = System.getenv("HOST_PREFIX");
        if (prefix != null && !prefix.isBlank()) {
            cmd.addAll(List.of(prefix.trim().split("\\s+")));
        }
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), BenchHost.class.getName(),
                config.toString()));
        Process host = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String ready = new BufferedReader(new InputStreamReader(host.getInputStream())).readLine();
            if (!"READY".equals(ready)) {
                throw new IllegalStateException("the bench host did not start (said: " + ready + ")");
            }
            try (Ferry ferry = BenchHost.connect(cfg, "windows")) {
                for (int i = 0; i < 100_000; i++) {
                    ferry.nop(i);
                }
                Histogram all = new Histogram(3_600_000_000L, 3);
                for (int w = 0; w < windows; w++) {
                    Histogram h = new Histogram(3_600_000_000L, 3);
                    for (int i = 0; i < 20_000; i++) {
                        long t0 = System.nanoTime();
                        ferry.nop(i);
                        h.recordValue(System.nanoTime() - t0);
                    }
                    all.add(h);
                    System.out.printf("window %2d  p50 %6d ns  p99 %7d ns  max %9d ns%n", w,
                            h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue());
                }
                long slow = all.getTotalCount() - all.getCountBetweenValues(0, 5_000);
                System.out.printf("all        p50 %6d ns  p99 %7d ns  p99.9 %7d ns  over 5 us %.2f %%%n",
                        all.getValueAtPercentile(50), all.getValueAtPercentile(99), all.getValueAtPercentile(99.9),
                        100.0 * slow / all.getTotalCount());
            }
        } finally {
            host.getOutputStream().close();
            host.waitFor();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
