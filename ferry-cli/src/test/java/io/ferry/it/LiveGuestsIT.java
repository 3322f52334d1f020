package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.channel.Region;
import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Live guest changes with real processes: a host process ({@code ferry host}) gets a guest added, removed and added
 * on SIGHUP while another guest process keeps verifying; a guest whose region header is scribbled is reset by the
 * host itself and by the operator, and a fresh client process of it verifies again.
 */
class LiveGuestsIT {
    private static final long REGION = 16L << 20;

    /** A child JVM whose output lines are collected as they come. */
    static final class Child implements AutoCloseable {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();

        Child(String mainClass, String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    mainClass));
            cmd.addAll(List.of(args));
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Thread.ofPlatform().daemon(true).start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            });
        }

        long count(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).count();
        }

        /** Waits (up to 60 s) until more than {@code seen} lines start with {@code prefix}; returns the last one. */
        String await(String prefix, long seen) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (count(prefix) <= seen) {
                if (System.nanoTime() > deadline || (!process.isAlive() && count(prefix) <= seen)) {
                    Thread.sleep(200); // the reader may still be taking the last lines
                    if (count(prefix) > seen) {
                        break;
                    }
                    fail("no '" + prefix + "' line (" + (process.isAlive() ? "still running" : "exited "
                            + process.exitValue()) + "); output: " + lines);
                }
                Thread.sleep(20);
            }
            return lines.stream().filter(l -> l.startsWith(prefix)).reduce((a, b) -> b).orElseThrow();
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly().waitFor();
        }
    }

    private static Child guest(Path socket, String name, byte[] secret) throws IOException {
        return new Child(LiveGuestMain.class.getName(), socket.toString(), name,
                Base64.getEncoder().encodeToString(secret));
    }

    /** {@code ferry ARGS} in a process of its own, as an operator runs it; returns its exit code and output. */
    private static Map.Entry<Integer, String> ferry(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "io.ferry.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        return Map.entry(p.exitValue(), out);
    }

    @SuppressWarnings("unchecked")
    private static List<String> guestNames(Path admin) throws IOException {
        Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(StatusIT.ask(admin, "status\n"));
        return ((List<Object>) doc.get("guests")).stream().map(g -> (String) ((Map<String, Object>) g).get("name"))
                .toList();
    }

    private static void awaitHost(Child host, Path admin) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                guestNames(admin);
                return;
            } catch (IOException e) {
                assertTrue(host.process.isAlive(), "the host exited " + (host.process.isAlive() ? ""
                        : host.process.exitValue()));
                assertTrue(System.nanoTime() < deadline, "the host did not answer on " + admin);
                Thread.sleep(100);
            }
        }
    }

    @Test
    void aGuestAddedRemovedAndAddedOnSighupWhileAnotherKeepsVerifying() throws Exception {
        Path dir = Hosts.newDir();
        HostConfig cfg = new HostConfig(dir, false, List.of(), List.of(
                new HostConfig.GuestConfig("vm1", REGION).withSecret(HostConfig.newSecret()).withLanes(1)));
        Path yaml = dir.resolve("ferry.yaml");
        cfg.save(yaml);
        try (Child host = new Child("io.ferry.cli.Main", "host", "-c", yaml.toString())) {
            awaitHost(host, cfg.adminSocket());
            try (Child vm1 = guest(cfg.guestSocket(), "vm1", cfg.guest("vm1").secret())) {
                vm1.await("VERIFIED", 0);

                // hot add: the CLI edits the config and the running host serves the new guest at once
                var add = ferry("guest", "add", "vm2", "-c", yaml.toString(), "--region-size", "16MiB");
                assertEquals(0, add.getKey(), add.getValue());
                assertTrue(add.getValue().contains("guest vm2 added: region sealed memfd"), add.getValue());
                assertTrue(add.getValue().contains("serving"), add.getValue());
                byte[] secret2 = HostConfig.load(yaml).guest("vm2").secret();
                long vm1Before = vm1.count("VERIFIED");
                try (Child vm2 = guest(cfg.guestSocket(), "vm2", secret2)) {
                    vm2.await("VERIFIED", 2);
                    vm1.await("VERIFIED", vm1Before);
                    assertEquals(List.of("vm1", "vm2"), guestNames(cfg.adminSocket()));

                    // hot remove: vm2's session ends with the reason, the host serves it no more
                    var remove = ferry("guest", "remove", "vm2", "-c", yaml.toString());
                    assertEquals(0, remove.getKey(), remove.getValue());
                    assertTrue(remove.getValue().contains("guest vm2 removed"), remove.getValue());
                    String ended = vm2.await("ENDED", 0);
                    assertTrue(ended.startsWith("ENDED SESSION_CLOSED"), ended);
                    assertTrue(ended.contains("removed from the host"), ended);
                    assertEquals(List.of("vm1"), guestNames(cfg.adminSocket()));
                }
                assertEquals(0, vm1.count("ENDED") + vm1.count("FAIL"), vm1.lines.toString());

                // SIGHUP: the host reloads the file it was started with
                HostConfig now = HostConfig.load(yaml);
                now.withGuests(List.of(now.guest("vm1"), new HostConfig.GuestConfig("vm3", REGION)
                        .withSecret(HostConfig.newSecret()).withLanes(1))).save(yaml);
                assertEquals(0, new ProcessBuilder("kill", "-HUP", String.valueOf(host.process.pid())).start()
                        .waitFor());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!guestNames(cfg.adminSocket()).contains("vm3")) {
                    assertTrue(System.nanoTime() < deadline, "no vm3 after SIGHUP: " + guestNames(cfg.adminSocket()));
                    Thread.sleep(50);
                }
                try (Child vm3 = guest(cfg.guestSocket(), "vm3", HostConfig.load(yaml).guest("vm3").secret())) {
                    vm3.await("VERIFIED", 0);
                }
                var reset = ferry("guest", "reset", "vm3", "-c", yaml.toString());
                assertEquals(0, reset.getKey(), reset.getValue());
                assertTrue(reset.getValue().contains("guest vm3 reset"), reset.getValue());
                var unknown = ferry("guest", "reset", "nobody", "-c", yaml.toString());
                assertEquals(1, unknown.getKey(), unknown.getValue());
                assertTrue(unknown.getValue().contains("no guest 'nobody' on this host"), unknown.getValue());
                long vm1Now = vm1.count("VERIFIED");
                vm1.await("VERIFIED", vm1Now);
                assertEquals(0, vm1.count("ENDED") + vm1.count("FAIL"), vm1.lines.toString());
            }
            host.process.destroy(); // SIGTERM: a clean stop
            host.process.waitFor(30, TimeUnit.SECONDS);
            var after = ferry("guest", "add", "vm4", "-c", yaml.toString(), "--region-size", "16MiB");
            assertEquals(0, after.getKey(), after.getValue());
            assertTrue(after.getValue().contains("config updated; no host is running on " + cfg.adminSocket()),
                    after.getValue());
            var reset = ferry("guest", "reset", "vm1", "-c", yaml.toString());
            assertEquals(1, reset.getKey(), reset.getValue());
            assertTrue(reset.getValue().contains("no host is running"), reset.getValue());
        } finally {
            Hosts.deleteTree(dir);
        }
    }

    /** Starts fresh client processes of {@code guest} until one verifies (the reset may not have run yet). */
    private static void aFreshClientVerifies(Hosts hosts, String guest) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<String> tries = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            try (Child fresh = guest(hosts.host.guestSocket(), guest, hosts.host.secret(guest))) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (fresh.count("VERIFIED") < 2 && fresh.process.isAlive() && System.nanoTime() < end) {
                    Thread.sleep(20);
                }
                if (fresh.count("VERIFIED") >= 2) {
                    return;
                }
                Thread.sleep(100);
                tries.add(fresh.lines.toString());
            }
        }
        fail("no fresh client of " + guest + " verified: " + tries);
    }

    @Test
    void aScribbledHeaderIsResetByTheHostAndByTheOperatorAndAFreshClientVerifies() throws Exception {
        try (Hosts hosts = Hosts.start(List.of(Hosts.guest("victim", null, Quotas.DEFAULT),
                Hosts.guest("bystander", null, Quotas.DEFAULT)));
             Child bystander = guest(hosts.host.guestSocket(), "bystander", hosts.host.secret("bystander"))) {
            bystander.await("VERIFIED", 0);
            try (Child victim = guest(hosts.host.guestSocket(), "victim", hosts.host.secret("victim"))) {
                victim.await("VERIFIED", 0);
                // the guest's region, as the host's uid reopens it (/proc/HOSTPID/fd/N): garbage over the header's
                // static part (magic, sizes, lane table), as a hostile program or a VM rebooting with junk does
                try (Region region = Region.open(hosts.region("victim"))) {
                    byte[] junk = new byte[256];
                    new java.util.Random(15).nextBytes(junk);
                    MemorySegment.copy(junk, 0, region.segment(), ValueLayout.JAVA_BYTE, 0, junk.length);
                }
                // SESSION_CLOSED; the reason ("the host reset the region ...") reaches a client that waits in a call
                // when it ends, not one that finds its session over at its next call
                String ended = victim.await("ENDED", 0);
                assertTrue(ended.startsWith("ENDED SESSION_CLOSED"), ended);
                assertTrue(!ended.contains("host closed the session:") || ended.contains("reset"), ended);
            }
            aFreshClientVerifies(hosts, "victim");

            // the operator's reset: the session ends, the region is written afresh, a fresh client verifies
            try (Child victim = guest(hosts.host.guestSocket(), "victim", hosts.host.secret("victim"))) {
                victim.await("VERIFIED", 0);
                var reply = StatusIT.ask(hosts.dir.resolve("admin.sock"), "reset victim\n");
                assertTrue(reply.contains("\"reset\": \"victim\""), reply);
                String ended = victim.await("ENDED", 0);
                assertTrue(ended.startsWith("ENDED SESSION_CLOSED"), ended);
                assertTrue(!ended.contains("host closed the session:") || ended.contains("operator reset"), ended);
            }
            aFreshClientVerifies(hosts, "victim");
            long seen = bystander.count("VERIFIED");
            bystander.await("VERIFIED", seen);
            assertEquals(0, bystander.count("ENDED") + bystander.count("FAIL"), bystander.lines.toString());
        }
    }
}
