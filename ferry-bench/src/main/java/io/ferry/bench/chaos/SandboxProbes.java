package io.ferry.bench.chaos;

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
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chaos probes of the device-worker sandbox (issue 11, items 1, 4, 5, 7), against a real host with default limits in
 * a temporary directory, a bystander guest verifying vector adds throughout. {@link #probe()} returns:
 * <ul>
 *   <li>{@code kernel_reads_other_region} (false): another guest's region is mapped in, or reachable from, the spy
 *       guest's worker (the only place its kernels run);</li>
 *   <li>{@code kernel_reads_config} (false): the host's config (with a marker secret) is visible in the worker's
 *       filesystem, or its bytes come back from an {@code #include} of it;</li>
 *   <li>{@code include_host_file_leaked} (false): any host file's bytes come back from {@code #include} of a host
 *       file, or {@code -I}/{@code -include} are accepted;</li>
 *   <li>{@code build_log_bomb_bounded} (true): a 236 KB build log comes back cut to at most 16 KiB and the worker
 *       goes on;</li>
 *   <li>{@code endless_kernel_reclaimed_ms}: from the launch of a kernel that never ends to its guest's DEVICE_LOST
 *       with the worker gone, under the default overrunLimit (2 s); -1 if it was not reclaimed within 30 s.</li>
 * </ul>
 */
public final class SandboxProbes {
    static final String VADD = "__kernel void vadd(__global const float* a, __global float* b) {"
            + " size_t i = get_global_id(0); b[i] = a[i] + 1.0f; }";
    static final String SPIN = "__kernel void spin(__global volatile int* a) { while (a[0] != 12345) { a[1]++; } }";
    static final String MARKER = "FERRY_CHAOS_SECRET_7e3b91";

    private SandboxProbes() {
    }

    /** Runs every probe; the keys above with their figures. */
    public static Map<String, Object> probe() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-sandbox-probe-");
        try {
            Path config = dir.resolve("ferry.yaml");
            Files.writeString(config, "#error " + MARKER + "\nguests: []\n");
            List<HostConfig.GuestConfig> gs = List.of(new HostConfig.GuestConfig("spy", 16L << 20),
                    new HostConfig.GuestConfig("victim", 16L << 20).withRegion(HostConfig.RegionKind.FILE),
                    new HostConfig.GuestConfig("looper", 16L << 20),
                    new HostConfig.GuestConfig("bystander", 16L << 20));
            try (Devices devices = Devices.discover(List.of());
                 FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(), gs), devices)) {
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong verified = new AtomicLong();
                AtomicBoolean bystanderOk = new AtomicBoolean(true);
                Thread bystander = Thread.ofPlatform().name("sandbox-probe-bystander").start(() -> {
                    try {
                        io.ferry.bench.ChaosBench.verifyLoop(Ferry.connect(host.guestSocket(), "bystander", host.secret("bystander")), stop, verified);
                    } catch (Throwable e) {
                        System.out.println("sandbox probe: bystander failed: " + e);
                        bystanderOk.set(false);
                    }
                });
                try {
                    spy(host, dir, config, out);
                    out.put("build_log_bomb_bounded", logBomb(host));
                    out.put("endless_kernel_reclaimed_ms", endless(host));
                } finally {
                    stop.set(true);
                    bystander.join(30_000);
                }
                out.put("sandbox_bystander_verified", bystanderOk.get() && verified.get() > 0);
            }
        } finally {
            io.ferry.bench.TransportBench.deleteTree(dir);
        }
        return out;
    }

    /** The spy's worker: what it maps and sees, and what includes of host files give back. */
    private static void spy(FerryHost host, Path dir, Path config, Map<String, Object> out) throws Exception {
        try (Ferry victim = Ferry.connect(FerryHost.regionPath(dir, "victim"));
             Context vctx = victim.createContext(victim.defaultDevice()); CommandQueue vq = vctx.createQueue();
             HeapBlock secret = victim.heap().allocate(4096);
             Ferry spy = Ferry.connect(host.guestSocket(), "spy", host.secret("spy"));
             Context ctx = spy.createContext(spy.defaultDevice()); CommandQueue q = ctx.createQueue()) {
            secret.segment().setString(0, MARKER);
            vq.finish();
            q.finish();
            ProcessHandle w = workerJvm("spy");
            Path proc = Path.of("/proc", String.valueOf(w.pid()));
            Path victimRegion = FerryHost.regionPath(dir, "victim");
            String maps = Files.readString(proc.resolve("maps"));
            boolean otherRegion = maps.contains(victimRegion.getFileName().toString())
                    || Files.exists(proc.resolve("root").resolve(victimRegion.toString().substring(1)))
                    || Files.exists(proc.resolve("root").resolve(dir.toString().substring(1)));
            out.put("kernel_reads_other_region", otherRegion);

            String fromConfig = buildMessage(ctx, "#include \"" + config + "\"\n__kernel void k() {}\n", null);
            out.put("kernel_reads_config", Files.exists(proc.resolve("root").resolve(config.toString().substring(1)))
                    || fromConfig.contains(MARKER));

            boolean leaked = false;
            for (String file : List.of("/etc/passwd", "/etc/hostname", "/etc/shadow", config.toString())) {
                String m = buildMessage(ctx, "#include \"" + file + "\"\n__kernel void k() {}\n", null);
                leaked |= m.contains(MARKER) || m.contains("root:x:0") || !m.contains("not found");
            }
            for (String opt : List.of("-I/etc", "-include " + config, "@" + config)) {
                String m = buildMessage(ctx, "#include \"passwd\"\n__kernel void k() {}\n", opt);
                leaked |= !m.startsWith("REFUSED") || m.contains(MARKER) || m.contains("root:x:0");
            }
            out.put("include_host_file_leaked", leaked);
        }
    }

    /** The message of a build that should fail ("REFUSED: ..." for a refused option; "BUILT" if it built). */
    private static String buildMessage(Context ctx, String source, String options) {
        try (Program p = ctx.buildProgram(source, options == null ? "" : options)) {
            return "BUILT " + p.buildLog();
        } catch (FerryException e) {
            return (e.status() == Status.INVALID_ARGUMENT ? "REFUSED: " : "") + e.getMessage();
        }
    }

    private static boolean logBomb(FerryHost host) {
        String source = ("#warning " + "w".repeat(150) + "\n").repeat(600)
                + "__kernel void k(__global int* a) { a[0] = 1; }\n";
        try (Ferry spy = Ferry.connect(host.guestSocket(), "spy", host.secret("spy"));
             Context ctx = spy.createContext(spy.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(source); Kernel k = p.kernel("k")) {
            String log = p.buildLog();
            q.finish();
            return log.length() <= 16 * 1024 && log.contains("log cut at") && k.argCount() == 1;
        } catch (FerryException e) {
            System.out.println("sandbox probe: log bomb: " + e.getMessage());
            return false;
        }
    }

    private static long endless(FerryHost host) throws Exception {
        try (Ferry bad = Ferry.connect(host.guestSocket(), "looper", host.secret("looper"));
             Context ctx = bad.createContext(bad.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SPIN); Kernel k = p.kernel("spin"); DeviceBuffer b = ctx.createBuffer(64)) {
            q.finish();
            ProcessHandle worker = workerJvm("looper");
            k.arg(0, b);
            long start = System.nanoTime();
            q.launch(k, NDRange.of(1));
            try {
                q.finish();
                return -1;
            } catch (FerryException e) {
                if (e.status() != Status.DEVICE_LOST) {
                    System.out.println("sandbox probe: endless kernel: " + e.getMessage());
                    return -1;
                }
            }
            worker.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
            return (System.nanoTime() - start) / 1_000_000;
        } catch (java.util.concurrent.TimeoutException e) {
            return -1;
        }
    }

    /**
     * The JVM of {@code guest}'s device worker: a descendant of this JVM, inside its sandbox (a worker that serves
     * the guest's session, or one that serves its device commands).
     */
    public static ProcessHandle workerJvm(String guest) {
        return ProcessHandle.current().descendants()
                .filter(p -> {
                    List<String> a = cmdline(p.pid());
                    return !a.isEmpty() && a.getFirst().endsWith("/bin/java") && a.contains(guest)
                            && (a.contains("io.ferry.host.worker.WorkerMain")
                            || a.contains("io.ferry.host.compute.InWorker"));
                })
                .findFirst().orElseThrow(() -> new IllegalStateException("no device worker of " + guest));
    }

    /**
     * A process's arguments from /proc/PID/cmdline, empty when gone. Not {@link ProcessHandle.Info}: it reads
     * /proc/PID/exe, which an unprivileged user may not read of a process in the sandbox's user namespace.
     */
    public static List<String> cmdline(long pid) {
        try {
            String all = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/" + pid + "/cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8);
            return all.isEmpty() ? List.of() : List.of(all.split("\0"));
        } catch (java.io.IOException e) {
            return List.of();
        }
    }

    /** Runs the probes and prints the figures (for a manual run). */
    public static void main(String[] args) throws Exception {
        probe().forEach((k, v) -> System.out.println(k + " = " + v));
    }
}
