package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real QEMU accepts the host's ivshmem server: its ivshmem-doorbell device connects, takes the sealed region
 * and the eventfds, and the machine comes up (paused: the handshake happens while the device is realized).
 */
class IvshmemQemuIT {

    @Test
    void qemusIvshmemDoorbellTakesTheSealedRegionFromTheHost() throws Exception {
        Path qemu = Path.of("/usr/bin/qemu-system-x86_64");
        assumeTrue(Files.isExecutable(qemu), "needs qemu-system-x86_64");
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-ivq-");
        Path regions = dir.resolve("r");
        try (FerryHost host = FerryHost.start(new HostConfig(regions, true, List.of(), List.of(
                new HostConfig.GuestConfig("vm1", 4L << 20).withRegion(HostConfig.RegionKind.IVSHMEM))),
                Devices.of(List.of(), List.of()))) {
            Path sock = FerryHost.ivshmemPath(regions, "vm1");
            Process p = new ProcessBuilder(qemu.toString(), "-S", "-accel", "tcg", "-display", "none", "-nodefaults",
                    "-no-user-config", "-monitor", "none", "-serial", "none",
                    "-chardev", "socket,path=" + sock + ",id=ferry",
                    "-device", "ivshmem-doorbell,chardev=ferry,vectors=1").redirectErrorStream(true).start();
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (host.ivshmemPeers("vm1") != 1 && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Thread.sleep(1_000); // QEMU reads the setup and realizes the device; a refusal makes it exit
                assertTrue(p.isAlive(), () -> "QEMU exited: " + output(p));
                assertEquals(1, host.ivshmemPeers("vm1"));
            } finally {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (host.ivshmemPeers("vm1") != 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, host.ivshmemPeers("vm1"), "the server notices QEMU leave");
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path f : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static String output(Process p) {
        try {
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
