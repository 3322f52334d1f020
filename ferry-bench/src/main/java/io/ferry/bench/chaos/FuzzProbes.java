package io.ferry.bench.chaos;

import io.ferry.testkit.FuzzSeeds;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bounded coverage-guided fuzzing campaigns: each target of {@code io.ferry.testkit.FuzzTargets} (ring frame, calls,
 * TEE parameters, HELLO, region header) runs under Jazzer's standalone driver in a child JVM (libFuzzer ends its process, and runs
 * one target per process) with {@code -max_total_time}, starting from the seed corpus in a temporary directory.
 * The figures are parsed from the driver's output: executions from {@code "Done N runs"} (or the last
 * {@code "#N ..."} status line), findings from {@code "== Java Exception"} lines ({@code --keep_going} lets a run
 * go on after one) and from a driver that ended without its summary.
 *
 * <p>Chaos keys: {@code fuzz_jazzer_execs} (> 0) and {@code fuzz_jazzer_failures} (0 expected; count these with
 * {@code fuzz_host_failures}).
 */
public final class FuzzProbes {
    /** The Jazzer targets, by the name of their seed folder. */
    public static final Map<String, String> TARGETS = Map.of(
            "ring", "io.ferry.testkit.FuzzTargets$Ring",
            "calls", "io.ferry.testkit.FuzzTargets$Calls",
            "tee", "io.ferry.testkit.FuzzTargets$Tee",
            "hello", "io.ferry.testkit.FuzzTargets$Hello",
            "header", "io.ferry.testkit.FuzzTargets$Header",
            "all", "io.ferry.testkit.FuzzTargets$All");
    private static final List<String> ORDER = List.of("ring", "calls", "tee", "hello", "header", "all");
    private static final Pattern DONE = Pattern.compile("Done (\\d+) runs in");
    private static final Pattern STATUS = Pattern.compile("^#(\\d+)\\s", Pattern.MULTILINE);
    private static final Pattern FINDING = Pattern.compile("^== Java Exception: (.*)$", Pattern.MULTILINE);

    private FuzzProbes() {
    }

    /** One target's run. {@code findings} holds the first line of each finding (with its stack in the log). */
    public record Run(String target, long execs, int failures, List<String> findings, int exitCode, String logTail) {
    }

    /** All targets' runs. */
    public record Result(long execs, int failures, List<Run> runs) {
        /** The chaos keys. */
        public Map<String, Object> keys() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fuzz_jazzer_execs", execs);
            m.put("fuzz_jazzer_failures", failures);
            return m;
        }
    }

    /**
     * The chaos probe: the combined target ({@code FuzzTargets$All}: ring, calls, TEE, HELLO, region header picked
     * by the first input byte) for {@code total}, in one child JVM.
     *
     * @return {@code fuzz_jazzer_execs} and {@code fuzz_jazzer_failures}
     */
    public static Map<String, Object> probe(Duration total) {
        return run(total, List.of("all")).keys();
    }

    /**
     * Runs {@code targets} one after another, splitting {@code total} between them: "ring", "calls", "tee", "hello",
     * "header" (one target each), "all" (the five in one process), or the name of any class on the class path
     * with a {@code fuzzerTestOneInput} method.
     */
    public static Result run(Duration total, List<String> targets) {
        long each = Math.max(2, total.toSeconds() / Math.max(1, targets.size()));
        Path dir;
        try {
            dir = Files.createTempDirectory("ferry-jazzer-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            List<Run> runs = new ArrayList<>();
            long execs = 0;
            int failures = 0;
            for (String t : targets) {
                Run r = runOne(t, each, dir);
                runs.add(r);
                execs += r.execs();
                failures += r.failures();
            }
            return new Result(execs, failures, List.copyOf(runs));
        } finally {
            delete(dir);
        }
    }

    private static Run runOne(String target, long seconds, Path dir) {
        String cls = TARGETS.getOrDefault(target, target.contains(".") ? target : null);
        if (cls == null) {
            throw new IllegalArgumentException("no fuzz target '" + target + "'; known: " + ORDER
                    + ", or a class name with fuzzerTestOneInput");
        }
        try {
            Path corpus = Files.createDirectories(dir.resolve(target + "-corpus"));
            Path artifacts = Files.createDirectories(dir.resolve(target + "-findings"));
            for (var t : FuzzSeeds.all().entrySet()) {
                for (var seed : t.getValue().entrySet()) {
                    if (target.equals("all")) {
                        Files.write(corpus.resolve(t.getKey() + "-" + seed.getKey()),
                                io.ferry.testkit.FuzzTargets.allSeed(t.getKey(), seed.getValue()));
                    } else if (target.equals(t.getKey())) {
                        Files.write(corpus.resolve(seed.getKey()), seed.getValue());
                    }
                }
            }
            Path log = dir.resolve(target + ".log");
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m", "-XX:+EnableDynamicAgentLoading", "--enable-native-access=ALL-UNNAMED",
                    "-cp", classPath(),
                    "com.code_intelligence.jazzer.Jazzer",
                    "--target_class=" + cls,
                    "--instrumentation_includes=io.ferry.**",
                    "--keep_going=100",
                    "-max_total_time=" + seconds,
                    "-rss_limit_mb=2048",
                    "-print_final_stats=0",
                    "-artifact_prefix=" + artifacts + "/",
                    corpus.toString()));
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            boolean ended = p.waitFor(seconds + 120, TimeUnit.SECONDS);
            if (!ended) {
                p.destroyForcibly().waitFor();
            }
            String out = Files.readString(log, StandardCharsets.ISO_8859_1);
            long execs = 0;
            Matcher m = DONE.matcher(out);
            boolean done = false;
            while (m.find()) {
                execs = Long.parseLong(m.group(1));
                done = true;
            }
            if (!done) {
                Matcher s = STATUS.matcher(out);
                while (s.find()) {
                    execs = Math.max(execs, Long.parseLong(s.group(1)));
                }
            }
            List<String> findings = new ArrayList<>();
            Matcher f = FINDING.matcher(out);
            while (f.find()) {
                findings.add(f.group(1));
            }
            int failures = findings.size();
            if (!done && failures == 0) {
                failures = 1;
                findings.add("the driver ended without its summary (exit " + (ended ? p.exitValue() : "timeout")
                        + ")");
            }
            String tail = out.length() > 4000 ? out.substring(out.length() - 4000) : out;
            return new Run(target, execs, failures, List.copyOf(findings), ended ? p.exitValue() : -1, tail);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fuzzing " + target, e);
        }
    }

    /**
     * The child's class path: this JVM's (the test class path under Surefire, which runs tests from a manifest-only
     * jar; else {@code java.class.path}, in an installation ferry.jar), plus Jazzer's driver where this JVM lacks it.
     */
    private static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        // absolute: the child runs in the temporary directory
        List<String> entries = new ArrayList<>();
        for (String e : cp.split(java.io.File.pathSeparator)) {
            if (!e.isEmpty()) {
                entries.add(Path.of(e).toAbsolutePath().toString());
            }
        }
        if (!hasDriver()) {
            entries.add(driverJar().toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    /**
     * Checks, before a long run, that the child JVM will find Jazzer's driver.
     *
     * @throws IllegalStateException saying what is missing and how to get it
     */
    public static void requireDriver() {
        if (!hasDriver()) {
            driverJar();
        }
    }

    private static boolean hasDriver() {
        return FuzzProbes.class.getClassLoader().getResource("com/code_intelligence/jazzer/Jazzer.class") != null;
    }

    /**
     * Jazzer's standalone driver (8 MB, a fuzzer: ferry.jar does not carry it): {@code FERRY_JAZZER_JAR} if set, else
     * the version Ferry was built with, in the local Maven repository, where building Ferry put it.
     *
     * @throws IllegalStateException naming the jar and how to get it, when it is not there
     */
    static Path driverJar() {
        String set = System.getenv("FERRY_JAZZER_JAR");
        if (set != null && !set.isBlank()) {
            Path p = Path.of(set).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("FERRY_JAZZER_JAR names " + p + ", which is not a file: point it at "
                        + "jazzer-" + jazzerVersion() + ".jar (com.code-intelligence:jazzer), or unset it");
            }
            return p;
        }
        return driverJar(localRepositories(), jazzerVersion());
    }

    /** The first of {@code repositories} that holds Jazzer's driver of {@code version}. */
    static Path driverJar(List<Path> repositories, String version) {
        Path relative = Path.of("com", "code-intelligence", "jazzer", version, "jazzer-" + version + ".jar");
        for (Path repo : repositories) {
            Path jar = repo.resolve(relative);
            if (Files.isRegularFile(jar)) {
                return jar;
            }
        }
        throw new IllegalStateException("the fuzzing probe needs Jazzer's driver, which Ferry's jars do not carry, and "
                + "no local Maven repository holds it (looked for " + relative + " in " + repositories + "): fetch it "
                + "with 'mvn dependency:get -Dartifact=com.code-intelligence:jazzer:" + version + "' (building Ferry "
                + "with ./ferry does), or set FERRY_JAZZER_JAR to the jar");
    }

    /**
     * Where Maven keeps artifacts here, in Maven's order: {@code -Dmaven.repo.local}, the {@code localRepository} of
     * ~/.m2/settings.xml, then ~/.m2/repository.
     */
    static List<Path> localRepositories() {
        List<Path> repos = new ArrayList<>();
        String local = System.getProperty("maven.repo.local");
        if (local != null && !local.isBlank()) {
            repos.add(Path.of(local));
        }
        Path m2 = Path.of(System.getProperty("user.home"), ".m2");
        try {
            Matcher m = Pattern.compile("<localRepository>\\s*([^<]+?)\\s*</localRepository>")
                    .matcher(Files.readString(m2.resolve("settings.xml")));
            if (m.find()) {
                repos.add(Path.of(m.group(1).replace("${user.home}", System.getProperty("user.home"))));
            }
        } catch (IOException | RuntimeException e) {
            // no settings.xml, or one that names no repository: the default below
        }
        repos.add(m2.resolve("repository"));
        return repos;
    }

    /** The Jazzer version Ferry was built with (the parent pom's {@code jazzer.version}, filtered in). */
    private static String jazzerVersion() {
        try (var in = FuzzProbes.class.getResourceAsStream("jazzer.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (v.matches("[0-9][0-9A-Za-z.-]*")) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall through to the message below
        }
        throw new IllegalStateException("this jar has no io/ferry/bench/chaos/jazzer.properties (built outside "
                + "Maven?): rebuild it with ./ferry, or set FERRY_JAZZER_JAR to Jazzer's driver jar");
    }

    private static void delete(Path dir) {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a temporary directory left behind is not worth failing a probe over
        }
    }
}
