package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Guest death and host death with real processes and SIGKILL. */
class LifecycleIT {

    private static Process java(String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        return pb.start();
    }

    /** Reads lines until one starts with {@code word}; fails after 60 s or at end of output. */
    private static String await(Process p, String word) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String line;
        while ((line = r.readLine()) != null) {
            if (line.startsWith(word)) {
                return line;
            }
            if (System.nanoTime() > deadline) {
                break;
            }
        }
        p.destroyForcibly();
        fail("child process ended or did not print " + word);
        return null;
    }

    @Test
    void aKilledGuestsObjectsAndDeviceMemoryAreReleasedWithinTwoSeconds() throws Exception {
        try (Hosts hosts = Hosts.start(List.of(Hosts.guest("victim", null, Quotas.DEFAULT)))) {
            Process guest = java(GuestMain.class.getName(), hosts.host.guestSocket().toString(), "victim",
                    java.util.Base64.getEncoder().encodeToString(hosts.host.secret("victim")), "4", "65536");
            try {
                long session = Long.parseLong(await(guest, "READY").split(" ")[1]);
                HostViews.GuestView before = hosts.view("victim");
                assertTrue(before.connected());
                assertEquals(session, before.sessionId());
                assertEquals(guest.pid(), before.pid());
                assertTrue(before.objects() >= 6, before.toString());
                assertEquals(4 * 65536, before.deviceMemoryBytes());

                long killed = System.nanoTime();
                guest.destroyForcibly();
                HostViews.GuestView after;
                do {
                    Thread.sleep(20);
                    after = hosts.view("victim");
                } while ((after.connected() || after.objects() != 0 || after.deviceMemoryBytes() != 0)
                        && System.nanoTime() - killed < 5_000_000_000L);
                long ms = (System.nanoTime() - killed) / 1_000_000;
                assertTrue(!after.connected() && after.objects() == 0 && after.deviceMemoryBytes() == 0,
                        "after " + ms + " ms: " + after);
                assertTrue(ms <= 2_000, "reclaimed after " + ms + " ms");
                System.err.println("guest kill reclaimed in " + ms + " ms");
            } finally {
                guest.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void aKilledHostFailsTheGuestsNextCallsWithHostUnavailableAndANewHostTakesItBack() throws Exception {
        Path dir = Hosts.newDir();
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("survivor", 16L << 20).withSecret(HostConfig.newSecret())));
        Path yaml = dir.resolve("ferry.yaml");
        cfg.save(yaml);
        Process hostProcess = java("io.ferry.bench.BenchHost", yaml.toString());
        try {
            await(hostProcess, "READY");
            byte[] secret = cfg.guest("survivor").secret();
            Ferry ferry = Ferry.connect(cfg.guestSocket(), "survivor", secret);
            assertEquals(1, ferry.nop(1));

            long killed = System.nanoTime();
            hostProcess.destroyForcibly().waitFor();
            FerryException syncFailure = null;
            while (System.nanoTime() - killed < 5_000_000_000L) {
                try {
                    ferry.nop(2);
                    Thread.sleep(10);
                } catch (FerryException e) {
                    syncFailure = e;
                    break;
                }
            }
            long ms = (System.nanoTime() - killed) / 1_000_000;
            assertNotNull(syncFailure, "no call failed within 5 s of the host's death");
            assertEquals(Status.HOST_UNAVAILABLE, syncFailure.status(), syncFailure.getMessage());
            assertTrue(ms <= 1_500, "the guest noticed the host's death after " + ms + " ms");
            System.err.println("host kill detected by the guest in " + ms + " ms");
            // One-way calls fail as well from now on, never hang.
            FerryException oneWay = null;
            try {
                ferry.nopOneWay(3);
            } catch (FerryException e) {
                oneWay = e;
            }
            assertNotNull(oneWay);
            assertEquals(Status.HOST_UNAVAILABLE, oneWay.status());
            ferry.close();

            try (FerryHost again = FerryHost.start(cfg, Devices.discover(List.of()));
                 Ferry back = Ferry.connect(cfg.guestSocket(), "survivor", secret)) {
                assertEquals(4, back.nop(4));
                assertTrue(again.guests().getFirst().connected());
            }
        } finally {
            hostProcess.destroyForcibly().waitFor();
            Hosts.deleteTree(dir);
        }
    }
}
