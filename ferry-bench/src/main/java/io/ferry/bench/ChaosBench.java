package io.ferry.bench;

import io.ferry.bench.chaos.BoundsProbes;
import io.ferry.bench.chaos.FuzzProbes;
import io.ferry.bench.chaos.RegionProbes;
import io.ferry.bench.chaos.SandboxProbes;
import io.ferry.bench.chaos.TeeProbes;
import io.ferry.channel.RegionDescriptor;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.config.HostConfig;
import io.ferry.testkit.SessionFuzzer;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./ferry bench chaos}: hostile and unlucky guests with real processes. A guest killed with SIGKILL (how fast
 * its objects and device memory are reclaimed, and what is left); a bystander guest verifying vector adds all along;
 * a kernel writing through a wild pointer; a region with a wrong secret; the host killed under a connected guest
 * (how fast the guest notices) and a new host taking the guest back; then the session fuzzer.
 */
public final class ChaosBench {
    static final String VADD = "__kernel void vadd(__global const float* a, __global float* b) {"
            + " size_t i = get_global_id(0); b[i] = a[i] + 1.0f; }";
    static final String WILD = "__kernel void wild(__global int* a) { __global int* p = (__global int*) 0x10;"
            + " p[get_global_id(0) * 4096] = 42; }";

    private final boolean quick;
    private final Path json;

    public ChaosBench(boolean quick, Path json) {
        this.quick = quick;
        this.json = json;
    }

    public int run() throws Exception {
        FuzzProbes.requireDriver(); // before minutes of scenarios, not after
        Report r = new Report("chaos");
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-chaos-");
        try {
            guestScenarios(dir.resolve("g"), r);
            hostKill(dir.resolve("h"), r);
            isolationScenarios(dir, r);
            long cases = quick ? 30_000 : 1_000_000;
            Duration limit = quick ? Duration.ofSeconds(25) : Duration.ofMinutes(10);
            System.out.println("chaos: fuzzing (" + cases + " cases or " + limit.toSeconds() + " s)");
            try (Devices devices = Devices.discover(List.of())) {
                SessionFuzzer.Result f = SessionFuzzer.run(20261126L, cases, limit, devices,
                        line -> System.out.println("  " + line));
                r.put("fuzz_cases", f.cases());
                r.put("fuzz_cases_per_s", f.casesPerSecond());
                System.out.println("chaos: Jazzer, every guest decoder (" + (quick ? 15 : 120) + " s)");
                Map<String, Object> jazzer = FuzzProbes.probe(Duration.ofSeconds(quick ? 15 : 120));
                long jazzerFailures = ((Number) jazzer.get("fuzz_jazzer_failures")).longValue();
                r.put("fuzz_jazzer_execs", jazzer.get("fuzz_jazzer_execs"));
                r.put("fuzz_jazzer_failures", jazzerFailures);
                // one key for the acceptance: failures of the seeded session fuzzer and findings of Jazzer together
                r.put("fuzz_host_failures", f.hostFailures() + jazzerFailures);
                for (String failure : f.failures()) {
                    System.out.println("  FUZZ FAILURE: " + failure);
                }
            }
        } finally {
            TransportBench.deleteTree(dir);
        }
        r.stamp();
        System.out.println();
        System.out.println("chaos benchmark (" + r.get("machine") + ")");
        for (String k : List.of("guest_kill_reclaim_ms", "guest_kill_leftover_bytes", "other_guest_verified",
                "host_kill_detect_ms", "reconnect_ok", "bad_secret_refused", "wild_kernel_contained", "fuzz_cases",
                "fuzz_cases_per_s", "fuzz_jazzer_execs", "fuzz_host_failures", "kernel_reads_other_region",
                "kernel_reads_config", "truncate_survived", "oneway_flood_host_rss_mib", "include_host_file_leaked",
                "build_log_bomb_bounded", "symlink_dir_refused", "endless_kernel_reclaimed_ms",
                "tee_cross_guest_denied")) {
            Object v = r.get(k);
            System.out.printf(Locale.ROOT, "  %-28s %s%n", k, v instanceof Double d ? String.format(Locale.ROOT,
                    "%.1f", d) : v);
        }
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
    }

    /**
     * The attacks of issue 11, each against a real host of its own: a guest kernel reading another region or the
     * config, a truncated region, a flood of one-way calls, host files in kernel builds, a build-log bomb, a planted
     * symlink in the region directory, an endless kernel, and one guest's TEE state from another guest.
     */
    private void isolationScenarios(Path dir, Report r) throws Exception {
        System.out.println("chaos: worker sandbox (wild kernels, host includes, log bomb, endless kernel)");
        putAll(r, SandboxProbes.probe());
        System.out.println("chaos: regions (truncation, planted symlink)");
        putAll(r, RegionProbes.run(Path.of("/dev/shm"))); // short paths: a Unix socket path holds 107 bytes
        System.out.println("chaos: one-way flood against a host with a 512 MiB heap");
        putAll(r, BoundsProbes.probe(dir.resolve("b"), quick));
        System.out.println("chaos: TEE state across guests");
        putAll(r, TeeProbes.run());
    }

    private static void putAll(Report r, Map<String, Object> figures) {
        for (Map.Entry<String, Object> e : figures.entrySet()) {
            r.put(e.getKey(), e.getValue());
        }
    }

    /** Guest kill, wild kernel and bad secret, with a bystander verifying throughout. */
    private static void guestScenarios(Path dir, Report r) throws Exception {
        List<HostConfig.GuestConfig> gs = List.of(new HostConfig.GuestConfig("victim", 32L << 20),
                new HostConfig.GuestConfig("wild", 16L << 20), new HostConfig.GuestConfig("bystander", 16L << 20),
                new HostConfig.GuestConfig("intruder", 16L << 20));
        try (Devices devices = Devices.discover(List.of());
             FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(), gs), devices)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong verified = new AtomicLong();
            AtomicBoolean bystanderOk = new AtomicBoolean(true);
            Thread bystander = Thread.ofPlatform().name("chaos-bystander").start(() -> {
                try {
                    verifyLoop(BenchHost.connect(host, "bystander"), stop, verified);
                } catch (Throwable e) {
                    System.out.println("chaos: bystander failed: " + e);
                    bystanderOk.set(false);
                }
            });
            // 1. SIGKILL a guest process holding device memory.
            Process victim = TransportBench.startJava(ChaosGuest.class, host.guestSocket().toString(), "victim",
                    java.util.Base64.getEncoder().encodeToString(host.secret("victim")),
                    "8", Long.toString(1L << 20));
            try {
                String line = new BufferedReader(new InputStreamReader(victim.getInputStream())).readLine();
                if (!"READY".equals(line)) {
                    throw new IllegalStateException("victim guest did not start: " + line);
                }
                long held = view(host, "victim").deviceMemoryBytes();
                long killed = System.nanoTime();
                victim.destroyForcibly();
                HostViews.GuestView v;
                do {
                    Thread.sleep(5);
                    v = view(host, "victim");
                } while ((v.connected() || v.objects() != 0 || v.deviceMemoryBytes() != 0)
                        && System.nanoTime() - killed < 10_000_000_000L);
                long ms = (System.nanoTime() - killed) / 1_000_000;
                r.put("guest_kill_reclaim_ms", ms);
                r.put("guest_kill_leftover_bytes", v.deviceMemoryBytes());
                System.out.println("chaos: killed a guest holding " + held + " bytes: reclaimed in " + ms + " ms");
            } finally {
                victim.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            // 2. A kernel writing through a wild pointer.
            boolean contained;
            long before = verified.get();
            try (Ferry wild = BenchHost.connect(host, "wild");
                 Context ctx = wild.createContext(wild.defaultDevice()); CommandQueue q = ctx.createQueue();
                 Program p = ctx.buildProgram(WILD); Kernel k = p.kernel("wild"); DeviceBuffer b = ctx.createBuffer(64)) {
                k.arg(0, b);
                q.launch(k, NDRange.of(64));
                try {
                    q.finish();
                    contained = false;
                    System.out.println("chaos: the wild kernel did not fault (nothing to contain)");
                } catch (FerryException e) {
                    contained = e.status() == Status.DEVICE_LOST;
                    System.out.println("chaos: wild kernel: " + e.status() + ": " + e.getMessage());
                }
            }
            long waitUntil = System.nanoTime() + 3_000_000_000L;
            while (verified.get() < before + 3 && System.nanoTime() < waitUntil) {
                Thread.sleep(10);
            }
            contained &= verified.get() >= before + 3 && bystanderOk.get();
            r.put("wild_kernel_contained", contained);
            // 3. A region whose secret is not the provisioned one.
            Path intruder = host.regionPath("intruder");
            try (FileChannel ch = FileChannel.open(intruder, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[32]), RegionDescriptor.CREDENTIAL_OFFSET);
            }
            boolean refused;
            try (Ferry f = Ferry.connect(intruder)) {
                refused = false;
            } catch (FerryException e) {
                refused = e.status() == Status.BAD_CREDENTIAL;
                System.out.println("chaos: wrong secret: " + e.getMessage());
            }
            r.put("bad_secret_refused", refused);
            stop.set(true);
            bystander.join(10_000);
            r.put("other_guest_verified", bystanderOk.get() && verified.get() > 0);
            System.out.println("chaos: bystander verified " + verified.get() + " vector adds throughout");
        }
    }

    /** A bystander: vector adds on {@code f}, each checked, until {@code stop}; counts them; closes {@code f}. */
    public static void verifyLoop(Ferry f, AtomicBoolean stop, AtomicLong verified) {
        int n = 4096;
        try (f; Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(VADD); Kernel k = p.kernel("vadd");
             DeviceBuffer a = ctx.createBuffer(4L * n); DeviceBuffer b = ctx.createBuffer(4L * n);
             HeapBlock in = f.heap().allocate(4L * n); HeapBlock out = f.heap().allocate(4L * n)) {
            k.arg(0, a).arg(1, b);
            for (int round = 0; !stop.get(); round++) {
                for (int i = 0; i < n; i++) {
                    in.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i + round);
                }
                q.write(a, 0, in.segment()).launch(k, NDRange.of(n)).read(b, 0, out.segment()).finish();
                for (int i = 0; i < n; i++) {
                    if (out.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i) != i + round + 1.0f) {
                        throw new IllegalStateException("bystander result wrong at " + i + " in round " + round);
                    }
                }
                verified.incrementAndGet();
            }
        }
    }

    private static HostViews.GuestView view(FerryHost host, String name) {
        return host.guests().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow();
    }

    /** Kill the host under a connected guest; a new host with the same config takes the guest back. */
    private static void hostKill(Path dir, Report r) throws Exception {
        Files.createDirectories(dir);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("survivor", 16L << 20).withSecret(HostConfig.newSecret())));
        Path yaml = dir.resolve("ferry.yaml");
        cfg.save(yaml);
        Process host = TransportBench.startJava(BenchHost.class, yaml.toString());
        long detectMs = -1;
        boolean reconnect = false;
        try {
            String line = new BufferedReader(new InputStreamReader(host.getInputStream())).readLine();
            if (!"READY".equals(line)) {
                throw new IllegalStateException("bench host did not start: " + line);
            }
            Ferry f = BenchHost.connect(cfg, "survivor");
            f.nop(1);
            long killed = System.nanoTime();
            host.destroyForcibly().waitFor();
            while (System.nanoTime() - killed < 10_000_000_000L) {
                try {
                    f.nop(2);
                    Thread.sleep(1);
                } catch (FerryException e) {
                    if (e.status() == Status.HOST_UNAVAILABLE) {
                        detectMs = (System.nanoTime() - killed) / 1_000_000;
                    }
                    break;
                }
            }
            f.close();
            System.out.println("chaos: host killed: the guest's calls failed after " + detectMs + " ms");
            try (Devices devices = Devices.discover(List.of());
                 FerryHost again = FerryHost.start(cfg, devices); Ferry back = BenchHost.connect(cfg, "survivor")) {
                reconnect = back.nop(3) == 3;
            }
        } finally {
            host.destroyForcibly();
        }
        r.put("host_kill_detect_ms", detectMs);
        r.put("reconnect_ok", reconnect);
    }
}
