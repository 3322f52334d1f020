package io.ferry.bench;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeSharedMemory;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.soft.TaRuntime;
import io.ferry.tee.storage.SecureStorage;
import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * {@code ./ferry bench tee}: the GP TEE call path beside its baseline in the same run. The {@code hello} TA's
 * increment guest → software TEE process → TA → back over the session's direct lane ({@code invoke_rtt_us_p50/p99};
 * called every 100 ms instead of back to back: {@code invoke_rtt_us_p50_sporadic}), the same through the host
 * ({@code invoke_rtt_us_p50_ring}, {@code invoke_rtt_us_p50_sporadic_ring}: a session without a direct lane), the
 * same TA called
 * in-process with no remoting ({@code invoke_rtt_us_p50_direct}), and a 1 MiB registered memref read by the TA
 * ({@code memref_1mib_gbs}), and the increment from a C program through Ferry's libteec as a second guest
 * ({@code invoke_rtt_us_p50_native_client}, {@link TeeNativeClient}). The host runs in this JVM on its own endpoint
 * thread; the TEE in its own process.
 */
public final class TeeBench {
    /** The guest of the C client through libteec ({@link TeeNativeClient}). */
    static final String NATIVE_GUEST = "native";
    /** The pause between two calls of {@code invoke_rtt_us_p50_sporadic}: longer than a TEE lane's yield phase. */
    static final long SPORADIC_GAP_MILLIS = 100;
    private final boolean quick;
    private final Path json;

    public TeeBench(boolean quick, Path json) {
        this.quick = quick;
        this.json = json;
    }

    public int run() throws Exception {
        Logger.getLogger("").setLevel(Level.WARNING);
        int samples = quick ? 20_000 : 200_000;
        int memrefReps = quick ? 50 : 500;
        Report r = new Report("tee");
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-tee-bench-");
        try {
            DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
            direct(setup, r, samples);
            TeePolicy policy = TeePolicy.of(List.of(TeePolicy.allow("bench", BuiltinTas.HELLO),
                    TeePolicy.allow(NATIVE_GUEST, BuiltinTas.HELLO)));
            HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                    List.of(new HostConfig.GuestConfig("bench", 16L << 20),
                            new HostConfig.GuestConfig(NATIVE_GUEST, 16L << 20)));
            try (TeeServiceFactory tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"), policy,
                    TeeLimits.DEFAULT);
                 FerryHost host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
                 Ferry transport = BenchHost.connect(host, "bench");
                 TeeContext ctx = TeeContext.initialize(null, transport.teeTransport());
                 TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
                TeeOperation op = TeeOperation.of(TeeParam.valueInout(0, 0));
                Histogram h = invokes(s, op, samples);
                r.put("invoke_rtt_us_p50", h.getValueAtPercentile(50) / 1000.0);
                r.put("invoke_rtt_us_p99", h.getValueAtPercentile(99) / 1000.0);
                r.put("invoke_rtt_us_p50_sporadic", sporadic(s, op, quick ? 20 : 50));
                // the same through the host, as a session without a direct lane makes it (the ring)
                System.setProperty("ferry.tee.direct", "false");
                try (TeeSession ring = ctx.openSession(BuiltinTas.HELLO)) {
                    TeeOperation ringOp = TeeOperation.of(TeeParam.valueInout(0, 0));
                    r.put("invoke_rtt_us_p50_ring", invokes(ring, ringOp, samples).getValueAtPercentile(50) / 1000.0);
                    r.put("invoke_rtt_us_p50_sporadic_ring", sporadic(ring, ringOp, quick ? 20 : 50));
                } finally {
                    System.clearProperty("ferry.tee.direct");
                }
                try (TeeSharedMemory m = ctx.allocateSharedMemory(1 << 20, TeeSharedMemory.INPUT)) {
                    m.segment().fill((byte) 1);
                    TeeOperation mop = TeeOperation.of(TeeParam.whole(m), TeeParam.valueOutput());
                    double[] t = new double[memrefReps];
                    for (int i = 0; i < memrefReps * 2; i++) {
                        long t0 = System.nanoTime();
                        s.invoke(BuiltinTas.HELLO_CHECKSUM, mop);
                        long t1 = System.nanoTime();
                        if (i >= memrefReps) {
                            t[i - memrefReps] = t1 - t0;
                        }
                    }
                    Arrays.sort(t);
                    r.put("memref_1mib_gbs", (1 << 20) / t[memrefReps / 2]);
                }
                Double nativeClient = TeeNativeClient.p50(host, NATIVE_GUEST, dir, samples, true);
                if (nativeClient != null) {
                    r.put("invoke_rtt_us_p50_native_client", nativeClient);
                    Double ring = TeeNativeClient.p50(host, NATIVE_GUEST, dir, samples, false);
                    if (ring != null) {
                        r.put("invoke_rtt_us_p50_native_client_ring", ring);
                    }
                    floors(r, quick);
                }
            }
            computingGuest(setup, dir, r, samples / 4);
            r.put("invoke_rtt_ratio", (Double) r.get("invoke_rtt_us_p50") / (Double) r.get("invoke_rtt_us_p50_direct"));
            r.stamp();
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        for (String k : List.of("invoke_rtt_us_p50", "invoke_rtt_us_p99", "invoke_rtt_us_p50_ring",
                "invoke_rtt_us_p50_sporadic", "invoke_rtt_us_p50_sporadic_ring",
                "invoke_rtt_us_p50_direct",
                "invoke_rtt_ratio", "memref_1mib_gbs", "invoke_rtt_us_p50_computing_guest",
                "invoke_rtt_us_p50_native_client", "invoke_rtt_us_p50_native_client_ring",
                "handoff_floor_us_p50_2_processes", "handoff_floor_us_p50_3_processes",
                "handoff_floor_us_p50_4_processes")) {
            if (r.get(k) == null) {
                continue;
            }
            System.out.printf(Locale.ROOT, "%-32s %10.3f%n", k, (Double) r.get(k));
        }
        System.out.println("machine: " + r.get("machine"));
        if (json != null) {
            r.write(json);
            System.out.println("wrote " + json);
        }
        return 0;
    }

    /**
     * The floors under the round trips of real guests, measured in the same run: a token passed, with no work,
     * through two processes, each yielding (a guest and its TA instance over a direct lane: docs/protocol.md, "Direct
     * TEE lanes"), through three (a guest process, the host, the TA's: a call on the ring), the middle one
     * spinning and the others yielding (of the waiting policies tried, the fewest context switches where two of
     * the three share a core: docs/benchmarks.md, "tee"), and through four (a guest whose device worker serves its
     * session: the computing guest's), each yielding (a spinner among four processes on two cores leaves one of
     * them no core until the scheduler's tick). A figure at its floor has no Ferry cost left to cut.
     */
    private static void floors(Report r, boolean quick) throws IOException, InterruptedException {
        int runs = quick ? 3 : 5;
        int rounds = quick ? 5_000 : 20_000;
        Double two = TeeNativeClient.floor("yy", runs, rounds);
        if (two != null) {
            r.put("handoff_floor_us_p50_2_processes", two);
        }
        Double three = TeeNativeClient.floor("ysy", runs, rounds);
        Double four = TeeNativeClient.floor("yyyy", runs, rounds);
        if (three != null) {
            r.put("handoff_floor_us_p50_3_processes", three);
        }
        if (four != null) {
            r.put("handoff_floor_us_p50_4_processes", four);
        }
    }

    /**
     * The same invoke from a guest that also computes: once it has a device context, its device worker serves its
     * session (on a host whose devices are CPU devices) and forwards TEE calls to the host: one more hop. Skipped
     * (no key) where the host has no compute device.
     */
    private static void computingGuest(DevTee.Setup setup, Path dir, Report r, int samples) throws Exception {
        TeePolicy policy = TeePolicy.of(List.of(TeePolicy.allow("mixed", BuiltinTas.HELLO)));
        HostConfig cfg = new HostConfig(dir.resolve("regions-mixed"), true, List.of(),
                List.of(new HostConfig.GuestConfig("mixed", 16L << 20)));
        try (Devices devices = Devices.discover(List.of());
             TeeServiceFactory tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"), policy,
                     TeeLimits.DEFAULT);
             FerryHost host = FerryHost.start(cfg, devices, tee);
             Ferry ferry = BenchHost.connect(host, "mixed")) {
            if (devices.all().isEmpty()) {
                return;
            }
            // the guest computes first: from then on its device worker serves its session, TEE calls included
            try (Context context = ferry.createContext(ferry.defaultDevice());
                 CommandQueue queue = context.createQueue()) {
                queue.finish();
            }
            try (TeeContext ctx = TeeContext.initialize(null, ferry.teeTransport());
                 TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
                Histogram h = invokes(s, TeeOperation.of(TeeParam.valueInout(0, 0)), samples);
                r.put("invoke_rtt_us_p50_computing_guest", h.getValueAtPercentile(50) / 1000.0);
            }
        }
    }

    /**
     * The hello TA's increment called back to back: as many calls as {@code samples} and at least
     * {@link Warmup#CALL_MIN_NANOS} to warm up (the TA instance and a computing guest's device worker are JVMs just
     * started), then {@code samples} timed ones; checks the TA counted every call. Their round trips in ns.
     */
    private static Histogram invokes(TeeSession s, TeeOperation op, int samples) {
        long calls = Warmup.calls(samples, i -> s.invoke(BuiltinTas.HELLO_INCREMENT, op));
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (int i = 0; i < samples; i++) {
            long t0 = System.nanoTime();
            s.invoke(BuiltinTas.HELLO_INCREMENT, op);
            h.recordValue(System.nanoTime() - t0);
        }
        calls += samples;
        if (op.value(0).a() != (int) calls) {
            throw new IllegalStateException("hello counted " + op.value(0).a() + ", expected " + calls);
        }
        return h;
    }

    /**
     * The increment called every {@link #SPORADIC_GAP_MILLIS} ms, as most real clients call a TA, rather than back to
     * back: every party of the round trip has gone to sleep by then (the TEE's lane thread after its yield phase),
     * so each call pays their wake-ups. The median in µs.
     */
    private static double sporadic(TeeSession s, TeeOperation op, int calls) throws InterruptedException {
        double[] t = new double[calls];
        for (int i = 0; i < calls; i++) {
            Thread.sleep(SPORADIC_GAP_MILLIS);
            long t0 = System.nanoTime();
            s.invoke(BuiltinTas.HELLO_INCREMENT, op);
            t[i] = (System.nanoTime() - t0) / 1e3;
        }
        Arrays.sort(t);
        return t[calls / 2];
    }

    /** The same TA and command in this process: signature-verified load, no remoting. */
    private static void direct(DevTee.Setup setup, Report r, int samples) throws Exception {
        TaRuntime rt = new TaRuntime(setup.config().taDir(),
                List.of(TaImage.publicKey(setup.config().trustedKeys().getFirst())),
                new SecureStorage(setup.config().rootKey(), setup.config().storageDir()));
        TaParams p = new TaParams();
        TaRuntime.Result open = rt.open("bench", BuiltinTas.HELLO, 0, new UUID(0, 0), p, () -> false);
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (int i = 0; i < samples * 2; i++) {
            long t0 = System.nanoTime();
            p.set(0, TaCodes.VALUE_INOUT, i, 0, null, 0);
            rt.invoke(open.session(), BuiltinTas.HELLO_INCREMENT, p, () -> false);
            long t1 = System.nanoTime();
            if (i >= samples) {
                h.recordValue(t1 - t0);
            }
        }
        rt.close(open.session());
        r.put("invoke_rtt_us_p50_direct", h.getValueAtPercentile(50) / 1000.0);
    }

    public static void main(String[] args) throws Exception {
        boolean quick = Arrays.asList(args).contains("--quick");
        int j = Arrays.asList(args).indexOf("--json");
        System.exit(new TeeBench(quick, j >= 0 ? Path.of(args[j + 1]) : null).run());
    }
}
