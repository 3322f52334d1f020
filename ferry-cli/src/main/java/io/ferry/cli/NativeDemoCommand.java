package io.ferry.cli;

import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ferry native-demo}: unmodified OpenCL programs through Ferry's native ICD ({@code ferry-icd/}). Starts a
 * host in this process with one guest, then runs four programs as that guest, one after another, each a child
 * process that finds Ferry only through the standard loader (ocl-icd) and {@code OCL_ICD_VENDORS}:
 * <ol>
 *   <li>Debian's {@code clinfo} (the rule its output must meet: {@link ClinfoCheck});</li>
 *   <li>{@code ferry-icd/build/native_demo}, a plain OpenCL 1.2 C program (ferry-icd/demo/native_demo.c);</li>
 *   <li>{@link NativeDemoJocl} through JOCL in a child JVM;</li>
 *   <li>{@code ferry-icd/demo/native_demo.py} through Debian's python3-pyopencl;</li>
 *   <li>{@code tee}: a GP TEE client in C through Ferry's libteec in two guests of a second host, one with the
 *   software TEE ({@link NativeTeeDemo}).</li>
 * </ol>
 * Each gets one line, verified or FAILED (with the program's output on failure or with {@code --verbose}); the last
 * line is {@code native-demo: N verified, M failed}. The host itself never gets the ICD's environment. Builds
 * nothing: the launcher builds the ICD ({@code make -C ferry-icd}).
 */
@Command(name = "native-demo", mixinStandardHelpOptions = true,
        description = {"Start a host and run unmodified OpenCL programs through Ferry's native ICD as its guest:"
                + " clinfo, a C program, a JOCL program, a PyOpenCL script; then a GP TEE client in C through"
                + " Ferry's libteec in two guests of a host with the software TEE; verify each.",
                "Last line: native-demo: N verified, M failed. Needs ferry-icd/build (make -C ferry-icd; ./ferry"
                        + " builds it), clinfo and python3-pyopencl (the launcher installs them as root)."})
public final class NativeDemoCommand implements Callable<Integer> {
    static final String GUEST = "native";
    static final String PLATFORM = "Ferry";
    static final String PYTHON = "/usr/bin/python3";
    static final List<String> ALL = List.of("clinfo", "c", "jocl", "python", "tee");

    @Option(names = "--verbose", description = "show every program's output, not only a failed one's")
    boolean verbose;

    @Option(names = "--timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "kill a program that runs longer than this (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--only", split = ",", paramLabel = "LIST",
            description = "run only these of clinfo,c,jocl,python,tee (default: all five)")
    List<String> only;

    /** One program's verdict. */
    record Outcome(String name, boolean verified, String detail, String output) {
    }

    /** A program's exit and what it printed (stdout, then stderr). */
    record Run(int exit, boolean timedOut, String stdout, String stderr) {
        String output() {
            return stdout + (stderr.isBlank() ? "" : (stdout.endsWith("\n") || stdout.isEmpty() ? "" : "\n")
                    + "--- stderr ---\n" + stderr);
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<String> programs = only == null || only.isEmpty() ? ALL : only;
        for (String p : programs) {
            if (!ALL.contains(p)) {
                out.println("native-demo: --only takes " + String.join(", ", ALL) + "; not '" + p + "'");
                return 2;
            }
        }
        Path home = home();
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-native-demo-");
        List<Outcome> outcomes = new ArrayList<>();
        try {
            List<String> opencl = programs.stream().filter(p -> !p.equals("tee")).toList();
            if (!opencl.isEmpty()) {
                outcomes.addAll(openCl(out, home, dir, opencl));
            }
            if (programs.contains("tee")) {
                outcomes.addAll(new NativeTeeDemo(this).run(out, home, dir));
            }
        } finally {
            deleteQuietly(dir);
        }
        long verified = outcomes.stream().filter(Outcome::verified).count();
        long failed = outcomes.size() - verified;
        out.println();
        out.println("native-demo: " + verified + " verified, " + failed + " failed");
        return failed == 0 && verified > 0 ? 0 : 1;
    }

    /** The OpenCL programs, each through the ICD as guest {@link #GUEST} of a host with compute devices. */
    private List<Outcome> openCl(PrintStream out, Path home, Path dir, List<String> programs) throws Exception {
        Path icd = home.resolve("ferry-icd");
        Path lib = icd.resolve("build/libferry-opencl.so");
        if (!Files.isRegularFile(lib)) {
            return failedAll(out, programs, lib + " is missing: build the ICD with  make -C " + icd
                    + "  (./ferry builds it when it is stale)");
        }
        List<Outcome> outcomes = new ArrayList<>();
        // A vendors directory holding only ferry.icd: the children see the Ferry platform and nothing else.
        Path vendors = Files.createDirectory(dir.resolve("vendors"));
        Files.writeString(vendors.resolve("ferry.icd"), lib.toAbsolutePath() + "\n");
        HostConfig.GuestConfig guest = new HostConfig.GuestConfig(GUEST, 128L << 20).withLanes(4);
        Path regions = Files.createDirectory(dir.resolve("host"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        HostConfig cfg = new HostConfig(regions, true, List.of(), List.of(guest));
        try (Devices devices = Devices.discover(List.of()); FerryHost host = FerryHost.start(cfg, devices)) {
            if (devices.all().isEmpty()) {
                return failedAll(out, programs, "the host found no compute device: " + devices.noDeviceMessage());
            }
            out.println("host: " + devices.all().size() + " device(s): " + devices.all().stream()
                    .map(d -> d.info().name() + " [" + d.backend().name() + "]").toList() + "; guest " + GUEST
                    + " on " + host.guestSocket());
            Path secret = dir.resolve("secret");
            Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(secret, host.secret(GUEST));
            Map<String, String> env = Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", GUEST,
                    "FERRY_SECRET_FILE", secret.toString(), "OCL_ICD_VENDORS", vendors.toString(),
                    "FERRY_LOG", "1");
            for (String p : programs) {
                long before = sessions(host);
                Outcome o = switch (p) {
                    case "clinfo" -> clinfo(env, dir);
                    case "c" -> cProgram(icd, env, dir);
                    case "jocl" -> jocl(env, dir);
                    default -> python(icd, env, dir);
                };
                long through = sessions(host) - before;
                if (o.verified() && through <= 0) {
                    o = new Outcome(o.name(), false, "the host served no session: the program did not run"
                            + " through Ferry", o.output());
                } else if (o.verified()) {
                    o = new Outcome(o.name(), true, o.detail() + " (" + through + " session"
                            + (through == 1 ? "" : "s") + " with the host)", o.output());
                }
                report(out, o);
                outcomes.add(o);
            }
        }
        return outcomes;
    }

    /** Every program failed for one reason, said once. */
    private static List<Outcome> failedAll(PrintStream out, List<String> programs, String why) {
        out.println("native-demo: " + why);
        return programs.stream().map(p -> new Outcome(p, false, why, "")).toList();
    }

    void report(PrintStream out, Outcome o) {
        out.printf(Locale.ROOT, "%-8s %s  %s%n", o.name(), o.verified() ? "verified" : "FAILED  ", o.detail());
        if ((verbose || !o.verified()) && !o.output().isBlank()) {
            for (String line : o.output().split("\n", -1)) {
                out.println("    | " + line);
            }
        }
    }

    /** Sessions the host has served the guest: a program that reached the host through the ICD adds one. */
    private static long sessions(FerryHost host) {
        return host.guests().stream().filter(g -> g.name().equals(GUEST)).mapToLong(HostViews.GuestView::sessions)
                .sum();
    }

    private Outcome clinfo(Map<String, String> env, Path dir) throws IOException, InterruptedException {
        String clinfo = onPath("clinfo");
        if (clinfo == null) {
            return new Outcome("clinfo", false, "clinfo is not installed: apt-get install -y clinfo", "");
        }
        Run r = run(List.of(clinfo), env, dir);
        if (r.timedOut()) {
            return new Outcome("clinfo", false, "timed out after " + timeoutSeconds + " s", r.output());
        }
        ClinfoCheck.Verdict v = ClinfoCheck.check(r.exit(), r.stdout(), PLATFORM);
        return new Outcome("clinfo", v.ok(), v.detail(), r.output());
    }

    private Outcome cProgram(Path icd, Map<String, String> env, Path dir) throws IOException, InterruptedException {
        Path exe = icd.resolve("build/native_demo");
        if (!Files.isExecutable(exe)) {
            return new Outcome("C", false, exe + " is missing: build it with  make -C " + icd, "");
        }
        return parts("C", run(List.of(exe.toString(), PLATFORM), env, dir), 4);
    }

    private Outcome jocl(Map<String, String> env, Path dir) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return parts("JOCL", run(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), NativeDemoJocl.class.getName(), PLATFORM), env, dir), 2);
    }

    private Outcome python(Path icd, Map<String, String> env, Path dir) throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            return new Outcome("Python", false, PYTHON + " is missing: apt-get install -y python3-pyopencl", "");
        }
        // The import alone touches no OpenCL: run it without Ferry's environment.
        Run probe = run(List.of(PYTHON, "-c", "import pyopencl"), Map.of(), dir);
        if (probe.exit() != 0) {
            return new Outcome("Python", false, "Debian's PyOpenCL is not installed for " + PYTHON
                    + ": apt-get install -y python3-pyopencl", probe.output());
        }
        return parts("Python", run(List.of(PYTHON, icd.resolve("demo/native_demo.py").toString(), PLATFORM), env,
                dir), 3);
    }

    private static final Pattern PART = Pattern.compile("(?m)^(\\S+)\\s+(verified|FAILED)\\b");
    private static final Pattern PLATFORM_LINE = Pattern.compile("(?m)^platform: ([^;]*); device: (.*)$");

    /** A demo program's verdict: exit 0, on the Ferry platform, and {@code expected} parts verified, none failed. */
    Outcome parts(String name, Run r, int expected) {
        if (r.timedOut()) {
            return new Outcome(name, false, "timed out after " + timeoutSeconds + " s", r.output());
        }
        List<String> ok = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        Matcher m = PART.matcher(r.stdout());
        while (m.find()) {
            (m.group(2).equals("verified") ? ok : bad).add(m.group(1));
        }
        Matcher pm = PLATFORM_LINE.matcher(r.stdout());
        String where = pm.find() ? pm.group(1).strip() + " / " + pm.group(2).strip() : "?";
        if (r.exit() == 0 && bad.isEmpty() && ok.size() == expected && where.startsWith(PLATFORM)) {
            return new Outcome(name, true, String.join(", ", ok) + " on " + where, r.output());
        }
        String why = r.exit() != 0 ? "exit " + r.exit() : !where.startsWith(PLATFORM) ? "ran on platform " + where
                : ok.size() + " of " + expected + " parts verified";
        return new Outcome(name, false, why + (bad.isEmpty() ? "" : "; failed: " + String.join(", ", bad)),
                r.output());
    }

    /** Runs a program with Ferry's guest environment added (never the host's), output to files, with the timeout. */
    Run run(List<String> cmd, Map<String, String> env, Path dir) throws IOException, InterruptedException {
        Path stdout = Files.createTempFile(dir, "out-", ".txt");
        Path stderr = Files.createTempFile(dir, "err-", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> e = pb.environment();
        // Only the demo's host: no other way of finding a host or a platform may leak in from this shell.
        for (String k : List.of("FERRY_SECRET", "FERRY_SOCKET", "FERRY_REGION_DIR", "OPENCL_VENDOR_PATH",
                "OCL_ICD_FILENAMES", "OCL_ICD_PLATFORM_SORT", "OCL_ICD_DEFAULT_PLATFORM")) {
            e.remove(k);
        }
        e.putAll(env);
        Process p = pb.start();
        boolean timedOut = !p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (timedOut) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        return new Run(timedOut ? -1 : p.exitValue(), timedOut, Files.readString(stdout, StandardCharsets.UTF_8),
                Files.readString(stderr, StandardCharsets.UTF_8));
    }

    private static String onPath(String name) {
        String path = System.getenv("PATH");
        for (String d : (path == null ? "/usr/bin:/bin" : path + ":/usr/bin").split(":")) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /** The repository: -Dferry.home (the launcher sets it), else the first parent of the working directory or of
     * ferry.jar that has ferry-icd/Makefile. */
    static Path home() {
        List<Path> starts = new ArrayList<>();
        String home = System.getProperty("ferry.home");
        if (home != null) {
            starts.add(Path.of(home));
        }
        starts.add(Path.of(System.getProperty("user.dir")));
        try {
            starts.add(Path.of(NativeDemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (Exception e) {
            // no code source: the other starting points remain
        }
        for (Path start : starts) {
            for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
                if (Files.isRegularFile(p.resolve("ferry-icd/Makefile"))) {
                    return p;
                }
            }
        }
        return starts.getFirst().toAbsolutePath();
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            System.err.println("native-demo: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
