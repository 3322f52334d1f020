package io.ferry.it;

import static io.ferry.it.NativePrograms.BUILD;
import static io.ferry.it.NativePrograms.run;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: prints round trips over {@code ferry+tcp} on loopback against a real host with PoCL (the Java client's
 * NOP and blocking 4-byte write, beside the same calls over the host's shared memory; the ICD's write4 and
 * launch+finish through {@code icd_bench --calls-only}). Run with {@code -Dferry.probe=true
 * -Dtest=StreamLatencyProbeIT} ({@code -Dferry.probe.what=shm,java,icd} picks, {@code -Dferry.probe.n} sets the
 * count); asserts nothing.
 */
@EnabledIfSystemProperty(named = "ferry.probe", matches = "true")
class StreamLatencyProbeIT {
    static final int N = Integer.getInteger("ferry.probe.n", 20_000);

    @Test
    void roundTrips() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-probe-");
        try (Devices devices = Devices.discover(List.of())) {
            HostConfig cfg = new HostConfig(dir, true, List.of(),
                    List.of(new HostConfig.GuestConfig("net", 64L << 20).withLanes(HostConfig.LANES_AUTO)))
                    .withNet(new NetConfig(List.of(), 0, null));
            try (FerryHost host = FerryHost.start(cfg, devices)) {
                int port = host.net().insecureAddress().getPort();
                URI uri = URI.create("ferry+tcp://127.0.0.1:" + port + "/net");
                String what = System.getProperty("ferry.probe.what", "java,icd");
                for (String how : List.of("shm", "java")) {
                    if (!what.contains(how)) {
                        continue;
                    }
                    try (Ferry f = how.equals("shm") ? Ferry.connect(host.guestSocket(), "net", host.secret("net"))
                            : Ferry.connect(uri, host.secret("net"))) {
                        for (int round = 0; round < 3; round++) {
                            long[] t = new long[N];
                            for (int i = 0; i < N; i++) {
                                long t0 = System.nanoTime();
                                f.nop(i);
                                t[i] = System.nanoTime() - t0;
                            }
                            System.out.println("PROBE " + how + " nop " + figures(t));
                        }
                        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
                             DeviceBuffer b = ctx.createBuffer(4); Arena arena = Arena.ofConfined()) {
                            MemorySegment four = arena.allocate(4, 4);
                            for (int round = 0; round < 3; round++) {
                                long[] t = new long[N / 4];
                                for (int i = 0; i < t.length; i++) {
                                    four.set(ValueLayout.JAVA_INT, 0, i);
                                    long t0 = System.nanoTime();
                                    q.write(b, 0, four).finish();
                                    t[i] = System.nanoTime() - t0;
                                }
                                System.out.println("PROBE " + how + " write4 " + figures(t));
                            }
                        }
                    }
                }
                if (what.contains("icd")) {
                    Path secret = Files.createFile(dir.resolve("net.secret"),
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.write(secret, host.secret("net"));
                    Map<String, String> env = Map.of("FERRY_HOST", "ferry+tcp://127.0.0.1:" + port + "/net",
                            "FERRY_SECRET_FILE", secret.toString(), "OCL_ICD_VENDORS", BUILD.toString());
                    for (int round = 0; round < 3; round++) {
                        NativePrograms.Result r = run(List.of(BUILD.resolve("icd_bench").toString(), "--calls-only",
                                "--rounds", "3"), env);
                        System.out.println("PROBE icd " + r.output().replaceAll("\\s+", " "));
                    }
                }
            }
        } finally {
            Hosts.deleteTree(dir);
        }
    }

    static String figures(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "p50 %.1f us  p90 %.1f  p99 %.1f", s[s.length / 2] / 1e3,
                s[s.length * 9 / 10] / 1e3, s[s.length * 99 / 100] / 1e3);
    }
}
