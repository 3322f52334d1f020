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
     * This JVM's class path: the test class path under Surefire (which runs tests from a manifest-only jar), else
     * {@code java.class.path} (in the shaded ferry.jar, that jar: Jazzer is inside it).
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
        return String.join(java.io.File.pathSeparator, entries);
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
