package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.client.Ferry;
import io.ferry.client.VmInterrupts;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The doorbells of a {@code region: ivshmem} guest, with this test in QEMU's place: it connects to the host's ivshmem
 * server as QEMU does, takes the sealed region and the eventfds, and gives the client exactly what a VM's guest
 * library gets through QEMU: the host's eventfd to signal (QEMU signals it on the guest's DOORBELL write to peer 0)
 * and its own vector's eventfd to sleep on (QEMU turns a signal on it into the guest's MSI-X interrupt). The real VM
 * path (VFIO in a q35 guest) is {@code VmBootTest}'s.
 */
class VmDoorbellIT {

    private static long[] read(UnixSocket s) throws IOException {
        byte[] b = new byte[8];
        int[] fd = new int[1];
        s.receiveFully(b, fd);
        return new long[] {ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(), fd[0]};
    }

    @Test
    void theGuestsDoorbellWakesTheHostAndTheHostInterruptsASleepingGuest() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-vmdb-");
        Path regions = dir.resolve("r");
        try (FerryHost host = FerryHost.start(new HostConfig(regions, true, List.of(), List.of(
                new HostConfig.GuestConfig("vm1", 4L << 20).withRegion(HostConfig.RegionKind.IVSHMEM))),
                Devices.of(List.of(), List.of()));
             UnixSocket qemu = UnixSocket.connect(FerryHost.ivshmemPath(regions, "vm1"))) {
            read(qemu);                       // protocol version
            read(qemu);                       // our peer id
            int shm = (int) read(qemu)[1];    // -1 + the sealed region
            int hostFd = (int) read(qemu)[1]; // peer 0 (the host) + its eventfd
            int ownFd = (int) read(qemu)[1];  // our id + our vector's eventfd
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (host.ivshmemPeers("vm1") != 1 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            try (Ferry ferry = Ferry.connect(Path.of("/proc/self/fd/" + shm))) {
                // 1. Guest -> host: after an idle pause the host's endpoint sleeps on its eventfd; each call rings it.
                VmInterrupts vm = VmInterrupts.attachEventFds(ferry, ownFd, hostFd);
                for (int i = 0; i < 20; i++) {
                    Thread.sleep(5);
                    assertEquals(i, ferry.nop(i));
                }
                assertTrue(vm.doorbellsRung() > 0, "the guest rang the sleeping host");
                assertTrue(host.ivshmemDoorbells("vm1")[0] > 0, "the host's endpoint woke on the guest's doorbell: "
                        + host.ivshmemDoorbells("vm1")[0]);

                // 2. Host -> guest: a guest that does not ring makes the host answer on its own timeout (up to 50 ms),
                // so the guest falls asleep on its interrupt eventfd and the host's completion wakes it.
                VmInterrupts quiet = VmInterrupts.attachEventFds(ferry, ownFd, -1);
                for (int i = 0; i < 20; i++) {
                    Thread.sleep(5);
                    assertEquals(i, ferry.nop(i));
                }
                assertTrue(host.ivshmemDoorbells("vm1")[1] > 0, "the host interrupted the sleeping guest");
                assertTrue(quiet.interruptsReceived() > 0, "the guest woke on its interrupt eventfd");
                assertEquals(0, quiet.doorbellsRung());

                // 3. Interrupts off: the client naps and still gets its answers.
                quiet.enable(false);
                assertEquals(7, ferry.nop(7));
            } finally {
                for (int fd : new int[] {shm, hostFd, ownFd}) {
                    Memfd.closeQuietly(fd);
                }
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
