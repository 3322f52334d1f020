package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.Main;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Restarts keep guests, with real processes: a real {@code ferry host} process and two guest processes
 * ({@link RestartGuestMain}): alice on a sealed memfd over the guest socket (kept by the fd holder while no host
 * runs), bob on a region file without a configured secret (its credential kept in the file). The host is killed
 * (SIGKILL) and started again, then stopped cleanly (SIGTERM, exit status 0) and started again; each time the
 * guests' next call fails with the restart message, they reconnect on the same mapping and verify a vector add.
 */
class HostRestartIT {
    private Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();

    @AfterEach
    void cleanUp() throws IOException {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        if (dir != null) {
            Hosts.deleteTree(dir); // the fd holder sees its socket go and exits
        }
        for (Path l : logs) {
            Files.deleteIfExists(l);
        }
    }

    /**
     * A process whose output (stdout and stderr) goes to a file the test reads: a pipe would be held open by the
     * host's device workers, and what a process writes as it exits could be lost to the test with it.
     */
    private final class Proc {
        final Process process;
        final Path log;
        final PrintWriter stdin;
        private int seen;

        Proc(List<String> cmd) throws IOException {
            log = Files.createTempFile("ferry-restart-", ".log");
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            processes.add(process);
            logs.add(log);
            stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        }

        String all() {
            try {
                return Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(cannot read " + log + ": " + e + ")";
            }
        }

        /** Waits for the process to end; returns its exit status. */
        int exit() throws InterruptedException {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the process did not end\n" + all());
            return process.exitValue();
        }

        /** The next line (after those an earlier await returned or passed) that {@code want} accepts. */
        String await(Predicate<String> want, String what) throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < until) {
                String text = all();
                int end = text.lastIndexOf('\n') + 1;
                boolean alive = process.isAlive();
                for (String l : text.substring(Math.min(seen, end), end).split("\n")) {
                    if (want.test(l)) {
                        seen = text.indexOf(l + "\n", seen) + l.length() + 1;
                        return l;
                    }
                    if (l.startsWith("FAIL")) {
                        throw new AssertionError(what + ": " + l + "\n" + text);
                    }
                }
                if (!alive) {
                    throw new AssertionError(what + ": the process ended (" + process.exitValue() + ")\n" + all());
                }
                Thread.sleep(200);
            }
            throw new AssertionError(what + ": not seen within 120 s\n" + all());
        }
    }

    private static List<String> java(String main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Proc host(Path config) throws Exception {
        Proc h = new Proc(java(Main.class.getName(), "host", "-c", config.toString()));
        h.await(l -> l.contains("ferry host: serving"), "the host starts");
        return h;
    }

    private static void assertRestartSeen(Proc guest, String who) throws InterruptedException {
        guest.stdin.println("AGAIN");
        String error = guest.await(l -> l.startsWith("ERROR") || l.startsWith("NO-ERROR"), who + "'s next call");
        assertTrue(error.startsWith("ERROR SESSION_CLOSED") && error.contains("the host restarted (epoch")
                && error.contains("this session's objects are lost; connect again"), who + ": " + error);
    }

    @Test
    void guestsGoOnAfterTheHostIsKilledAndAfterItStopsCleanly() throws Exception {
        dir = Hosts.newDir();
        byte[] secret = HostConfig.newSecret();
        Path config = dir.resolve("ferry.yaml");
        new HostConfig(dir, false, List.of(), List.of(Hosts.guest("alice", secret, Quotas.DEFAULT),
                Hosts.guest("bob", null, Quotas.DEFAULT).withRegion(HostConfig.RegionKind.FILE))).save(config);
        Path socket = HostConfig.defaultGuestSocket(dir);
        Path bobRegion = dir.resolve("bob.region");

        Proc host = host(config);
        Proc alice = new Proc(java(RestartGuestMain.class.getName(), "socket", socket.toString(), "alice",
                Base64.getEncoder().encodeToString(secret)));
        Proc bob = new Proc(java(RestartGuestMain.class.getName(), "file", bobRegion.toString()));
        alice.await(l -> l.startsWith("VERIFIED 1 alice"), "alice verifies");
        bob.await(l -> l.startsWith("VERIFIED 1 bob"), "bob verifies");
        Object bobInode = Files.getAttribute(bobRegion, "unix:ino");

        // 1. The host crashes (SIGKILL) and starts again with the same config.
        host.process.destroyForcibly();
        host.process.waitFor(30, TimeUnit.SECONDS);
        host = host(config);
        assertTrue(host.all().contains("guest alice: region reopened")
                && host.all().contains("guest bob: region reopened"), host.all());
        assertEquals(bobInode, Files.getAttribute(bobRegion, "unix:ino"), "bob's region file is the same file");
        assertRestartSeen(alice, "alice");
        assertRestartSeen(bob, "bob");
        alice.await(l -> l.startsWith("VERIFIED 2 alice"), "alice verifies again after the crash");
        bob.await(l -> l.startsWith("VERIFIED 2 bob"), "bob verifies again (its kept credential still passes)");

        // 2. The host stops cleanly on SIGTERM (exit status 0) and starts again.
        host.process.destroy();
        assertEquals(0, host.exit(), "SIGTERM: exit 0 after a clean stop\n" + host.all());
        assertTrue(host.all().contains("ferry host: stopped cleanly"), host.all());
        host = host(config);
        assertRestartSeen(alice, "alice");
        assertRestartSeen(bob, "bob");
        alice.await(l -> l.startsWith("VERIFIED 3 alice"), "alice verifies again after the clean restart");
        bob.await(l -> l.startsWith("VERIFIED 3 bob"), "bob verifies again after the clean restart");
        assertEquals(bobInode, Files.getAttribute(bobRegion, "unix:ino"));

        alice.stdin.println("END");
        bob.stdin.println("END");
        assertTrue(alice.process.waitFor(30, TimeUnit.SECONDS) && bob.process.waitFor(30, TimeUnit.SECONDS));
        host.process.destroy();
        assertEquals(0, host.exit(), host.all());
    }
}
