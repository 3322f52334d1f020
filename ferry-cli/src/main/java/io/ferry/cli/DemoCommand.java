package io.ferry.cli;

import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.host.tee.TeeBackends;
import io.ferry.tee.DevTee;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ferry demo}: the main job. Starts a host in this process and guest JVMs as separate processes; each guest
 * runs every workload through the host and checks it against a Java reference; a summary table follows, and the
 * last line is {@code demo: N verified, M failed}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a host and guest processes, run every workload through it, verify, summarize.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--guests", defaultValue = "2", description = "number of guest processes (default ${DEFAULT-VALUE})")
    int guests;

    @Option(names = "--device", description = "device name or backend to use (default: the host's first device)")
    String device;

    /** One row of the summary: parsed from a guest's RESULT line. */
    record Row(String guest, String workload, String size, String device, double millis, double error,
               boolean verified, String detail) {
    }

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-demo-");
        List<HostConfig.GuestConfig> gs = new ArrayList<>();
        for (int i = 0; i < guests; i++) {
            gs.add(new HostConfig.GuestConfig(guestName(i), 64L << 20));
        }
        HostConfig cfg = new HostConfig(dir, true, List.of(), gs);
        List<Row> rows = Collections.synchronizedList(new ArrayList<>());
        java.util.Map<String, Long> pids = new java.util.concurrent.ConcurrentHashMap<>();
        int failedProcesses = 0;
        // The TEE: a software TEE process whose policy lets the first guest use the storage and keys TAs.
        TeePolicy policy = TeePolicy.of(List.of(TeePolicy.allow(gs.getFirst().name(), BuiltinTas.STORAGE),
                TeePolicy.allow(gs.getFirst().name(), BuiltinTas.KEYS)));
        try (Devices devices = Devices.discover(List.of());
             TeeServiceFactory tee = TeeBackends.start(DevTee.prepare(dir.resolve("tee"), 2).config(), "soft-tee", policy);
             FerryHost host = FerryHost.start(cfg, devices, tee)) {
            if (devices.all().isEmpty()) {
                System.out.println("demo: the host found no compute device: " + devices.noDeviceMessage());
                System.out.println("demo: 0 verified, 1 failed");
                return 1;
            }
            System.out.println("host: " + devices.all().size() + " device(s): "
                    + devices.all().stream().map(d -> d.info().name() + " [" + d.backend().name() + "]").toList());
            List<Process> procs = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            for (HostConfig.GuestConfig g : gs) {
                Process p = startGuest(g.name(), host, g == gs.getFirst());
                procs.add(p);
                pids.put(g.name(), p.pid());
                System.out.println("guest " + g.name() + ": started as process " + p.pid());
                readers.add(Thread.ofPlatform().start(() -> collect(g.name(), p, rows)));
            }
            for (int i = 0; i < procs.size(); i++) {
                Process p = procs.get(i);
                if (!p.waitFor(10, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    System.out.println("guest " + gs.get(i).name() + ": timed out");
                }
                readers.get(i).join();
                if (p.exitValue() != 0 && p.exitValue() != 1) {
                    failedProcesses++;
                    System.out.println("guest " + gs.get(i).name() + ": exited with " + p.exitValue());
                }
            }
        } finally {
            deleteQuietly(dir);
        }
        int verified = 0;
        int failed = failedProcesses;
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %-8s %-8s %-14s %-34s %10s %10s  %s%n", "guest", "process", "workload",
                "size", "device", "time ms", "rel.err", "verdict");
        List<Row> sorted = new ArrayList<>(rows);
        sorted.sort((a, b) -> (a.guest + a.workload).compareTo(b.guest + b.workload));
        for (Row r : sorted) {
            System.out.printf(Locale.ROOT, "%-8s %-8s %-8s %-14s %-34s %10s %10s  %s%n", r.guest,
                    String.valueOf(pids.getOrDefault(r.guest, 0L)), r.workload, r.size, shorten(r.device, 34),
                    Double.isNaN(r.millis) ? "-" : String.format(Locale.ROOT, "%.2f", r.millis),
                    r.workload.equals("tee") ? "-" : String.format(Locale.ROOT, "%.2e", r.error),
                    r.verified ? "verified" : "FAILED " + r.detail);
            if (r.verified) {
                verified++;
            } else {
                failed++;
            }
        }
        if (rows.isEmpty()) {
            failed++;
        }
        System.out.println();
        System.out.println("demo: " + verified + " verified, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    private static String guestName(int i) {
        String[] names = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};
        return i < names.length ? names[i] : "guest" + i;
    }

    private Process startGuest(String guest, FerryHost host, boolean withTee) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "example", "all", "--guest", guest, "--host", "unix:" + host.guestSocket(), "--report"));
        if (withTee) {
            cmd.add("--tee");
        }
        if (device != null) {
            cmd.add("--device");
            cmd.add(device);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // The guest proves the secret the host made for it; it gets its region over the guest socket.
        pb.environment().put("FERRY_SECRET", Base64.getEncoder().encodeToString(host.secret(guest)));
        pb.environment().remove("FERRY_SECRET_FILE");
        return pb.start();
    }

    private static void collect(String guest, Process p, List<Row> rows) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("RESULT\t")) {
                    String[] f = line.split("\t", -1);
                    if (f.length >= 10) {
                        rows.add(new Row(f[1], f[2], f[3], f[4], parse(f[5]), parse(f[7]),
                                Boolean.parseBoolean(f[8]), f[9]));
                    }
                } else {
                    System.out.println("  [" + guest + "] " + line);
                }
            }
        } catch (IOException e) {
            System.out.println("guest " + guest + ": lost its output: " + e.getMessage());
        }
    }

    private static double parse(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String shorten(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            System.err.println("demo: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
