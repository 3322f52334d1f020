package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What the tests of Ferry's native guest libraries (the OpenCL ICD in {@code IcdIT}, libteec in {@code LibteecIT})
 * share: where they are built, running a C program as a guest with a clean environment, and the lost-host
 * handshake of their {@code lost_host} programs.
 */
final class NativePrograms {
    static final Path ICD = Path.of("").toAbsolutePath().getParent().resolve("ferry-icd");
    static final Path BUILD = ICD.resolve("build");
    static final long TIMEOUT_SECONDS = 120;

    private NativePrograms() {
    }

    record Result(int exit, String output) {}

    /** The guest's environment on {@code pb}: the test JVM's Ferry and OpenCL loader variables left out. */
    static void environment(ProcessBuilder pb, Map<String, String> env) {
        pb.environment().keySet().removeIf(k -> k.startsWith("FERRY_") || k.equals("OPENCL_VENDOR_PATH")
                || k.equals("CLTEST_PLATFORM"));
        pb.environment().putAll(env);
    }

    /** A file's text (a program's output may hold bytes that are not UTF-8). */
    static String text(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    /** Runs cmd to its end (or kills it after the timeout, with its threads' stacks), stdout and stderr together. */
    static Result run(List<String> cmd, Map<String, String> env) throws Exception {
        Path log = Files.createTempFile("ferry-native", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            environment(pb, env);
            Process p = pb.start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                String stacks = stacks(p.pid());
                p.destroyForcibly().waitFor();
                return new Result(-1, String.join(" ", cmd) + " did not end within " + TIMEOUT_SECONDS + " s:\n"
                        + text(log) + stacks);
            }
            return new Result(p.exitValue(), text(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /**
     * Runs a {@code lost_host} program as a guest of {@code host}: once it prints {@code ready} (it holds its
     * objects), the host is closed and the program told {@code go}; it must then end by itself, exit 0. The host is
     * closed in every case.
     */
    static void lostHost(Path program, Map<String, String> env, AutoCloseable host) throws Exception {
        boolean closed = false;
        Path errors = Files.createTempFile("ferry-lost-host", ".stderr");
        Process p = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(program.toString()).redirectError(errors.toFile());
            environment(pb, env);
            p = pb.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return null;
                }
            }).completeOnTimeout(null, TIMEOUT_SECONDS, TimeUnit.SECONDS).get();
            if (!"ready".equals(first)) {
                p.destroyForcibly().waitFor();
                fail("lost_host did not get ready (first line: " + first + "):\n" + text(errors));
            }
            host.close();
            closed = true;
            try (Writer in = p.outputWriter()) {
                in.write("go\n");
            }
            StringBuilder rest = new StringBuilder();
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> out.lines().forEach(
                    l -> rest.append(l).append('\n')));
            boolean ended = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!ended) {
                p.destroyForcibly().waitFor();
            }
            reader.get(10, TimeUnit.SECONDS);
            String output = rest + text(errors);
            assertTrue(ended, "lost_host did not end within " + TIMEOUT_SECONDS + " s of the host closing:\n" + output);
            assertEquals(0, p.exitValue(), "lost_host (exit " + p.exitValue() + "):\n" + output);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
            if (!closed) {
                host.close();
            }
            Files.deleteIfExists(errors);
        }
    }

    /** The threads' stacks of a process that hangs, by gdb where it is installed (else ""). */
    private static String stacks(long pid) {
        try {
            Path out = Files.createTempFile("ferry-native-gdb", ".out");
            try {
                Process gdb = new ProcessBuilder("gdb", "-batch", "-p", Long.toString(pid), "-ex", "thread apply all bt")
                        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!gdb.waitFor(30, TimeUnit.SECONDS)) {
                    gdb.destroyForcibly().waitFor();
                }
                return "\nits threads (gdb):\n" + text(out).lines()
                        .filter(l -> l.startsWith("#") || l.startsWith("Thread")).reduce("", (a, b) -> a + b + "\n");
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException | InterruptedException e) {
            return "";
        }
    }
}
