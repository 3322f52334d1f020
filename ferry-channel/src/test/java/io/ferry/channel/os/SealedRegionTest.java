package io.ferry.channel.os;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** Sealed memfd regions: their size is fixed for every holder, and the memory is the same through every fd. */
class SealedRegionTest {
    private static final RegionLayout SMALL = new RegionLayout(8192, 4096, 64 * 1024);

    @Test
    void aSealedRegionCannotShrinkOrGrowEvenThroughItsOwnFd() throws IOException {
        try (Region r = Region.createSealed("alice", SMALL, null)) {
            assertTrue(r.sealed());
            assertEquals(Memfd.SEALS_FIXED_SIZE, Memfd.seals(r.fd()) & Memfd.SEALS_FIXED_SIZE);
            long size = r.header().regionSize();
            ErrnoException shrink = assertThrows(ErrnoException.class, () -> Memfd.truncate(r.fd(), 4096));
            assertTrue(shrink.isPermissionDenied(), shrink.getMessage());
            ErrnoException grow = assertThrows(ErrnoException.class, () -> Memfd.truncate(r.fd(), size * 2));
            assertTrue(grow.isPermissionDenied(), grow.getMessage());
            assertThrows(ErrnoException.class, () -> Memfd.addSeals(r.fd(), 0x0008), "F_SEAL_SEAL forbids more seals");
            // the mapping is whole and usable
            r.heap().set(java.lang.foreign.ValueLayout.JAVA_LONG, r.heap().byteSize() - 8, 42L);
        }
    }

    @Test
    void aReopenedSealedRegionKeepsItsSealsAndItsSize() throws IOException {
        try (Region r = Region.createSealed("alice", SMALL, null);
             FileChannel ch = FileChannel.open(r.path(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertTrue(r.path().toString().startsWith("/proc/" + ProcessHandle.current().pid() + "/fd/"), r.path().toString());
            assertThrows(IOException.class, () -> ch.truncate(0), "truncate through a re-opened path");
            assertEquals(r.header().regionSize(), ch.size());
        }
    }

    @Test
    void aRegionPassedOverASocketPairIsTheSameMemoryAndStaysSealed() throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket host = pair[0]; UnixSocket guest = pair[1];
             Region r = Region.createSealed("alice", SMALL, new byte[32])) {
            host.send(new byte[] {1, 2, 3}, r.fd());
            byte[] got = new byte[3];
            int[] fd = new int[1];
            guest.receiveFully(got, fd);
            assertArrayEquals(new byte[] {1, 2, 3}, got);
            assertTrue(fd[0] >= 0, "a descriptor arrived");
            ErrnoException e = assertThrows(ErrnoException.class, () -> Memfd.truncate(fd[0], 0));
            assertTrue(e.isPermissionDenied());
            try (Region mine = Region.openFd(fd[0])) {
                assertEquals("alice", mine.header().guestName());
                r.hostHeartbeat(1234);
                assertEquals(1234, mine.hostHeartbeat());
            }
        }
    }

    @Test
    void aReceiverThatAsksForNoDescriptorGetsNone() throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Region r = Region.createSealed("alice", SMALL, null)) {
            a.send(new byte[] {7}, r.fd());
            byte[] got = new byte[1];
            b.receiveFully(got, null);
            assertEquals(7, got[0]);
        }
    }

    @Test
    void aRealSocketPassesTheFdAndReportsThePeersPidAndUid() throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("ferry-sock");
        Path sock = dir.resolve("s");
        try (UnixSocket server = UnixSocket.listen(sock, 4);
             UnixSocket client = UnixSocket.connect(sock);
             UnixSocket accepted = server.accept();
             Region r = Region.createSealed("bob", SMALL, null)) {
            PeerCredentials peer = accepted.peerCredentials();
            assertEquals(ProcessHandle.current().pid(), peer.pid());
            assertEquals(uid(), peer.uid());
            accepted.send("hi".getBytes(), r.fd());
            int[] fd = new int[1];
            byte[] got = new byte[2];
            client.receiveFully(got, fd);
            try (Region mine = Region.openFd(fd[0])) {
                assertEquals("bob", mine.header().guestName());
            }
        } finally {
            java.nio.file.Files.deleteIfExists(sock);
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void aSilentPeerTimesOutInsteadOfHoldingTheThread() throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            a.timeouts(java.time.Duration.ofMillis(50), java.time.Duration.ofMillis(50));
            ErrnoException e = assertThrows(ErrnoException.class, () -> a.receiveFully(new byte[1], null));
            assertTrue(e.isTimeout(), e.getMessage());
        }
    }

    @Test
    void aClosedPeerIsAnEndOfFile() throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]) {
            pair[1].close();
            assertThrows(java.io.EOFException.class, () -> a.receiveFully(new byte[4], new int[1]));
        }
    }

    private static int uid() throws IOException {
        return (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
}
