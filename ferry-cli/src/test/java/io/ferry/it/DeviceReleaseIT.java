package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.bench.chaos.SandboxProbes;
import io.ferry.cli.Main;
import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.Kernel;
import io.ferry.client.Program;
import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A running host gives a device up for VFIO assignment, and takes it back: a real {@code ferry host} process whose
 * PoCL CPU device is given a PCI address by the test seam {@code -Dferry.test.pciBusIds} (PoCL reports none), two
 * guests doing vector adds on it through their device workers (real sandboxed processes). {@code release-device}
 * on the admin socket ends both workers and answers once they are gone; the guests' next device calls fail
 * DEVICE_LOST saying the device was assigned away by the operator; the host stays healthy (other calls, status),
 * whose device list no longer has the device; a reconnecting guest is offered no device. Then
 * {@code rediscover} serves it again, and a reconnecting guest verifies a vector add.
 */
class DeviceReleaseIT {
    static final String BDF = "0000:00:1f.0";
    private Path dir;
    private Process host;
    private Path log;

    @AfterEach
    void cleanUp() throws Exception {
        if (host != null) {
            host.destroy();
            host.waitFor(30, TimeUnit.SECONDS);
            host.destroyForcibly();
        }
        if (dir != null) {
            Hosts.deleteTree(dir);
        }
        if (log != null) {
            Files.deleteIfExists(log);
        }
    }

    private String log() throws Exception {
        return Files.readString(log);
    }

    /** The processes of {@code guest}'s device workers under the host process (bwrap, its child, the JVM). */
    private List<ProcessHandle> workers(String guest) {
        return host.toHandle().descendants().filter(p -> {
            List<String> a = SandboxProbes.cmdline(p.pid());
            return a.contains(guest) && (a.contains("io.ferry.host.worker.WorkerMain")
                    || a.contains("io.ferry.host.compute.InWorker"));
        }).toList();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> devices(Path admin) throws Exception {
        Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(StatusIT.ask(admin, "status\n"));
        return (List<Map<String, Object>>) doc.get("devices");
    }

    private static Ferry connect(Path socket, String guest, byte[] secret) {
        return Ferry.connect(socket, guest, secret);
    }

    @Test
    void aRunningHostGivesUpADeviceItsGuestsSeeWhyAndItServesItAgainAfterRediscover() throws Exception {
        dir = Hosts.newDir();
        byte[] alice = HostConfig.newSecret();
        byte[] bob = HostConfig.newSecret();
        Path config = dir.resolve("ferry.yaml");
        new HostConfig(dir, false, List.of(), List.of(Hosts.guest("alice", alice, Quotas.DEFAULT).withLanes(2),
                Hosts.guest("bob", bob, Quotas.DEFAULT))).save(config);
        Path socket = HostConfig.defaultGuestSocket(dir);
        Path admin = HostConfig.load(config).adminSocket();
        log = Files.createTempFile("ferry-release-", ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dferry.test.pciBusIds=opencl/0=" + BDF,
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "host", "-c", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FERRY_VFIO_STATE", dir.resolve("vfio.json").toString()); // none recorded
        host = pb.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!log().contains("ferry host: serving")) {
            assertTrue(host.isAlive() && System.nanoTime() < until, "the host starts\n" + log());
            Thread.sleep(100);
        }
        assertTrue(log().contains("TEST SEAM: opencl device 0 is given PCI address " + BDF), log());
        assertEquals(BDF, devices(admin).getFirst().get("pci_bus_id"));

        try (Ferry a = connect(socket, "alice", alice); Context actx = a.createContext(a.defaultDevice());
             CommandQueue aq = actx.createQueue(); Program ap = actx.buildProgram(SandboxIT.VADD);
             Kernel ak = ap.kernel("vadd");
             Ferry b = connect(socket, "bob", bob); Context bctx = b.createContext(b.defaultDevice());
             CommandQueue bq = bctx.createQueue(); Program bp = bctx.buildProgram(SandboxIT.VADD);
             Kernel bk = bp.kernel("vadd")) {
            SandboxIT.vaddVerified(a, actx, aq, ak, 1024);
            SandboxIT.vaddVerified(b, bctx, bq, bk, 1024);
            List<ProcessHandle> before = new ArrayList<>(workers("alice"));
            assertFalse(before.isEmpty(), "alice's device worker runs");
            assertFalse(workers("bob").isEmpty(), "bob's device worker runs");
            before.addAll(workers("bob")); // each: the sandbox, the launcher, the worker's JVM

            // the operator's VFIO assign asks the host to give the device up
            String reply = StatusIT.ask(admin, "release-device " + BDF + "\n");
            Map<?, ?> done = (Map<?, ?>) StatusJson.parse(reply);
            assertEquals(BDF, done.get("released"), reply);
            assertEquals(List.of(0L), ((List<?>) done.get("devices")).stream().map(o -> ((Number) o).longValue())
                    .toList(), reply);
            for (ProcessHandle w : before) {
                assertFalse(w.isAlive(), "the host answered only once worker " + w.pid() + " was gone");
            }
            assertTrue(devices(admin).isEmpty(), "status no longer lists the device");

            for (var guest : List.of(List.of(a, actx, aq, ak), List.of(b, bctx, bq, bk))) {
                FerryException e = assertThrows(FerryException.class, () -> SandboxIT.vaddVerified(
                        (Ferry) guest.get(0), (Context) guest.get(1), (CommandQueue) guest.get(2),
                        (Kernel) guest.get(3), 1024));
                assertEquals(Status.DEVICE_LOST, e.status(), e.getMessage());
                assertTrue(e.getMessage().contains("was assigned away by the operator (VFIO"), e.getMessage());
            }
            assertEquals(3, b.nop(3), "the guest's session goes on for what is not device work");
            assertTrue(host.isAlive(), "the host stays up");
            assertTrue(workers("alice").isEmpty() && workers("bob").isEmpty());

            // a guest that reconnects is offered no device (the host answers its DEVICE_INFO with NO_DEVICE)
            try (Ferry again = connect(socket, "alice", alice)) {
                assertTrue(again.devices().isEmpty(), again.devices().toString());
                assertEquals(5, again.nop(5));
            }
            String twice = StatusIT.ask(admin, "release-device " + BDF + "\n");
            assertTrue(twice.contains("\"released\""), "releasing again is no error: " + twice);
        }

        // ferry device release asks the host to serve it again
        String reply = StatusIT.ask(admin, "rediscover\n");
        assertTrue(reply.contains("\"served_again\": [0]"), reply);
        assertEquals(BDF, devices(admin).getFirst().get("pci_bus_id"));
        try (Ferry a = connect(socket, "alice", alice); Context actx = a.createContext(a.defaultDevice());
             CommandQueue aq = actx.createQueue(); Program ap = actx.buildProgram(SandboxIT.VADD);
             Kernel ak = ap.kernel("vadd")) {
            SandboxIT.vaddVerified(a, actx, aq, ak, 1024);
        }

        String bad = StatusIT.ask(admin, "release-device 0000:09:00.0\n");
        assertTrue(bad.contains("\"error\"") && bad.contains("no device with PCI address 0000:09:00.0"), bad);
        host.destroy();
        assertEquals(0, host.waitFor(60, TimeUnit.SECONDS) ? host.exitValue() : -1, log());
        assertTrue(log().contains("withdrawn by the operator (VFIO)") || log().contains("no longer served"), log());
    }
}
