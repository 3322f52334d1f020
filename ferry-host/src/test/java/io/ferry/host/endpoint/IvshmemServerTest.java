package io.ferry.host.endpoint;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.Region;
import io.ferry.channel.os.EventFd;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ivshmem server speaks QEMU's ivshmem-server protocol and hands over the sealed region. */
class IvshmemServerTest {

    /** One message: the int64 and the descriptor that came with it (-1: none). */
    private record Msg(long value, int fd) {
    }

    private static Msg read(UnixSocket s) throws IOException {
        byte[] b = new byte[8];
        int[] fd = new int[1];
        s.receiveFully(b, fd);
        return new Msg(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(), fd[0]);
    }

    @Test
    void aPeerGetsVersionIdTheSealedRegionAndTheEventfdsInQemusOrder() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-ivs-");
        try (FerryHost host = FerryHost.start(new HostConfig(dir.resolve("r"), true, List.of(), List.of(
                new HostConfig.GuestConfig("vm1", 1L << 20).withRegion(HostConfig.RegionKind.IVSHMEM))),
                Devices.of(List.of(), List.of()))) {
            Path sock = FerryHost.ivshmemPath(dir.resolve("r"), "vm1");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
            try (UnixSocket qemu = UnixSocket.connect(sock)) {
                assertEquals(new Msg(0, -1), read(qemu), "protocol version 0");
                Msg id = read(qemu);
                assertEquals(-1, id.fd());
                assertTrue(id.value() >= 1);
                Msg shm = read(qemu);
                assertEquals(-1, shm.value());
                assertTrue(shm.fd() >= 0);
                assertEquals(Memfd.SEALS_FIXED_SIZE, Memfd.seals(shm.fd()) & Memfd.SEALS_FIXED_SIZE);
                try (Region r = Region.openFd(shm.fd())) {
                    assertEquals("vm1", r.header().guestName());
                }
                Msg hostPeer = read(qemu);
                assertEquals(IvshmemServer.HOST_PEER, hostPeer.value());
                assertTrue(hostPeer.fd() >= 0);
                Msg own = read(qemu);
                assertEquals(id.value(), own.value());
                assertTrue(own.fd() >= 0);
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (host.ivshmemPeers("vm1") != 1 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(1, host.ivshmemPeers("vm1"));
                // A second peer is announced to the first.
                try (UnixSocket second = UnixSocket.connect(sock)) {
                    for (int i = 0; i < 5; i++) {
                        read(second);
                    }
                    Msg announce = read(qemu);
                    assertEquals(id.value() + 1, announce.value());
                    Memfd.closeQuietly(announce.fd());
                }
                Msg gone = read(qemu);
                assertEquals(new Msg(id.value() + 1, -1), gone, "the second peer's departure");
                EventFd.signal(hostPeer.fd()); // what QEMU does on a doorbell write to peer 0
                Memfd.closeQuietly(hostPeer.fd());
                Memfd.closeQuietly(own.fd());
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
