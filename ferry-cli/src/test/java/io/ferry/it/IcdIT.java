package io.ferry.it;

import static io.ferry.it.NativePrograms.BUILD;
import static io.ferry.it.NativePrograms.ICD;
import static io.ferry.it.NativePrograms.TIMEOUT_SECONDS;
import static io.ferry.it.NativePrograms.environment;
import static io.ferry.it.NativePrograms.run;
import static io.ferry.it.NativePrograms.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import io.ferry.it.NativePrograms.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The native OpenCL ICD ({@code ferry-icd}, {@code libferry-opencl.so}) against a real host, through the system's
 * ICD loader: C programs, as an unmodified application would be, with {@code OCL_ICD_VENDORS} naming the ICD's
 * build directory and the guest's environment ({@code FERRY_HOST}, {@code FERRY_GUEST}, {@code FERRY_SECRET_FILE}).
 *
 * <p>Every {@code ferry-icd/build/tests/*_test} (from {@code tests/*_test.c}) is one dynamic test against a shared
 * host; the error rules of issue 14 (a lost host, a refused quota) are programs in {@code tests/errors/} with a
 * set-up of their own. The ICD and its tests are built first with {@code make -C ferry-icd}.
 */
class IcdIT {

    private static TestHost host;
    private static Path secret;

    @BeforeAll
    static void buildAndStart() throws Exception {
        Result make = run(List.of("make", "-C", ICD.toString()), Map.of());
        assertEquals(0, make.exit(), "make -C ferry-icd failed (the ICD needs gcc, make, opencl-headers and "
                + "ocl-icd-opencl-dev; ./ferry test installs them):\n" + make.output());
        host = TestHost.start("icd");
        secret = secretFile(host.dir, host.host, "icd");
    }

    @AfterAll
    static void stop() throws IOException {
        if (host != null) {
            host.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyTestProgramPassesAgainstARealHost() throws IOException {
        List<Path> programs;
        try (Stream<Path> files = Files.list(BUILD.resolve("tests"))) {
            programs = files.filter(p -> p.getFileName().toString().endsWith("_test") && Files.isExecutable(p))
                    .sorted().toList();
        }
        assertFalse(programs.isEmpty(), "no test programs in " + BUILD.resolve("tests"));
        return programs.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            Result r = run(List.of(p.toString()), guestEnv(host.host, "icd", secret));
            assertEquals(0, r.exit(), p.getFileName() + " failed:\n" + r.output());
        }));
    }

    /** Held: the log manager keeps loggers weakly. */
    private static final java.util.logging.Logger AUDIT = java.util.logging.Logger.getLogger("ferry.audit");

    /**
     * A program that leaves without releasing its buffers, five times: its device worker, serving the session,
     * answers the GOODBYE and then still releases 128 MiB while the process is already gone. Each session must end
     * as the guest said (goodbye), not as a guest gone: the host used to see the process leave before the worker's
     * word in about a quarter of clpeak's runs.
     */
    @Test
    void aProgramThatSaysGoodbyeAndLeavesAtOnceEndsItsSessionAsAGoodbye() throws Exception {
        List<String> ends = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler log = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                String m = r.getMessage();
                if (m != null && m.startsWith("guest icd session ")
                        && (m.contains(": closed (") || m.contains("gone"))) {
                    ends.add(m);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        AUDIT.addHandler(log);
        try {
            for (int i = 0; i < 5; i++) {
                int before = ends.size();
                Result r = run(List.of(BUILD.resolve("tests/errors/leave").toString()),
                        guestEnv(host.host, "icd", secret));
                assertEquals(0, r.exit(), "leave failed:\n" + r.output());
                long until = System.nanoTime() + 10_000_000_000L;
                while (ends.size() == before && System.nanoTime() < until) {
                    Thread.sleep(20);
                }
            }
        } finally {
            AUDIT.removeHandler(log);
        }
        assertEquals(5, ends.stream().filter(m -> m.contains(": closed (")).count(), "sessions ended: " + ends);
        assertTrue(ends.stream().allMatch(m -> m.contains("(OK: guest said goodbye)")),
                "every session should end as a goodbye: " + ends);
    }

    /**
     * The host goes away under a program holding a context, a queue and a buffer: its next calls answer OpenCL
     * errors, and it ends normally (no crash, no hang).
     */
    @Test
    void aLostHostGivesOpenClErrorsNotACrash() throws Exception {
        TestHost lost = TestHost.start("lost");
        Map<String, String> env;
        try {
            env = guestEnv(lost.host, "lost", secretFile(lost.dir, lost.host, "lost"));
        } catch (IOException | RuntimeException e) {
            lost.close();
            throw e;
        }
        NativePrograms.lostHost(BUILD.resolve("tests/errors/lost_host"), env, lost);
    }

    /**
     * A buffer over the guest's device-memory quota fails at clCreateBuffer with an allocation error, the session
     * goes on, and with {@code FERRY_LOG=1} the host's message with the figures reaches stderr.
     */
    @Test
    void aRefusedQuotaGivesAnAllocationErrorAndTheHostsMessage() throws Exception {
        try (Hosts hosts = Hosts.start(List.of(Hosts.guest("small", null, new Quotas(1L << 20, 4096, 4096))))) {
            Path secretFile = secretFile(hosts.dir, hosts.host, "small");
            Result r = run(List.of(BUILD.resolve("tests/errors/quota").toString()),
                    guestEnv(hosts.host, "small", secretFile));
            assertEquals(0, r.exit(), "quota failed:\n" + r.output());
            assertTrue(r.output().contains("device memory quota") && r.output().contains("limit 1048576"),
                    "FERRY_LOG=1 did not print the host's quota message:\n" + r.output());
        }
    }

    /**
     * The host restarts under a program holding a context, a queue and a buffer (stopped, then started with the same
     * config: the region reopened in place, a new epoch): its next calls answer OpenCL errors and, with
     * {@code FERRY_LOG=1}, the ICD says the host restarted and the session's objects are lost.
     */
    @Test
    void aRestartedHostGivesOpenClErrorsAndSaysSo() throws Exception {
        Path dir = Hosts.newDir();
        HostConfig cfg = new HostConfig(dir, false, List.of(), // regions kept: the host restarts under the program
                List.of(new HostConfig.GuestConfig("rs", 16L << 20).withLanes(1)));
        Devices devices = Devices.discover(List.of());
        FerryHost first = FerryHost.start(cfg, devices);
        FerryHost second = null;
        Process p = null;
        Path errors = Files.createTempFile("ferry-icd-restarted", ".stderr");
        try {
            Path secretFile = secretFile(dir, first, "rs");
            ProcessBuilder pb = new ProcessBuilder(BUILD.resolve("tests/errors/restarted_host").toString())
                    .redirectError(errors.toFile());
            environment(pb, guestEnv(first, "rs", secretFile));
            p = pb.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Process started = p;
            String ready = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return null;
                }
            }).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertEquals("ready", ready, () -> "restarted_host did not get ready:\n" + uncheckedText(errors));
            first.close();
            second = FerryHost.start(cfg, devices);
            assertArrayEquals(first.secret("rs"), second.secret("rs"), "no configured secret: the credential is kept");
            try (Writer in = started.outputWriter()) {
                in.write("go\n");
            }
            StringBuilder rest = new StringBuilder();
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> out.lines().forEach(
                    l -> rest.append(l).append('\n')));
            boolean ended = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            reader.get(10, TimeUnit.SECONDS);
            String output = rest + text(errors);
            assertTrue(ended, "restarted_host did not end:\n" + output);
            assertEquals(0, p.exitValue(), "restarted_host:\n" + output);
            assertTrue(output.contains("the host restarted (epoch") && output.contains("this session's objects are "
                    + "lost; connect again"), "FERRY_LOG=1 did not print the restart error:\n" + output);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
            first.close();
            if (second != null) {
                second.close();
            }
            devices.close();
            Files.deleteIfExists(errors);
            Hosts.deleteTree(dir);
        }
    }

    private static String uncheckedText(Path file) {
        try {
            return text(file);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    /** The guest's secret, raw, in a file only its owner may read (the ICD refuses one others can read). */
    private static Path secretFile(Path dir, FerryHost host, String guest) throws IOException {
        Path file = Files.createFile(dir.resolve(guest + ".secret"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, host.secret(guest));
        return file;
    }

    /** What a guest process needs: the host's socket, the guest, its secret file, the ICD; FERRY_LOG for failures. */
    private static Map<String, String> guestEnv(FerryHost host, String guest, Path secretFile) {
        return Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", guest,
                "FERRY_SECRET_FILE", secretFile.toString(), "OCL_ICD_VENDORS", BUILD.toString(), "FERRY_LOG", "1");
    }
}
