package io.ferry.host.endpoint;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What keeps sealed regions across host restarts: the fd holder (a real detached process), systemd's fd store
 * (its messages and parsing, sent to a datagram socket of the test's own: no real systemd here), and the
 * RegionStore on top of them.
 */
class RegionKeepersTest {
    private static final RegionLayout SMALL = new RegionLayout(8192, 4096, 64 * 1024);
    private Path dir;

    @BeforeEach
    void dir() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-keep-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    @AfterEach
    void removeDir() throws IOException {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** The holder process serving {@code socket}, if one runs. */
    private static Optional<ProcessHandle> holder(Path socket) {
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(a -> List.of(a)
                .contains(socket.toString())).orElse(false)).findFirst();
    }

    private static boolean gone(ProcessHandle p) throws InterruptedException {
        for (int i = 0; i < 200 && p.isAlive(); i++) {
            Thread.sleep(50);
        }
        return !p.isAlive();
    }

    @Test
    void theHolderKeepsAMemfdAcrossItsClientsAndExitsWhenItHoldsNothing() throws Exception {
        FdHolderClient client = new FdHolderClient(dir);
        assertEquals(-1, client.take("ferry-region-alice"), "no holder yet: nothing held, and none started");
        assertTrue(holder(client.socket()).isEmpty());
        try (Region r = Region.createSealed("alice", SMALL, null)) {
            r.heap().set(ValueLayout.JAVA_LONG, 0, 0xA11CEL);
            client.keep("ferry-region-alice", r.fd());
        }
        ProcessHandle h = holder(client.socket()).orElseThrow(() -> new AssertionError("no holder process runs"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(client.socket())));
        int fd = new FdHolderClient(dir).take("ferry-region-alice");
        assertTrue(fd >= 0, "the memfd came back");
        try (Region again = Region.openFd(fd)) {
            assertEquals(0xA11CEL, again.heap().get(ValueLayout.JAVA_LONG, 0), "the same memory");
        }
        assertEquals(-1, client.take("ferry-region-bob"));
        client.drop("ferry-region-alice");
        assertTrue(gone(h), "the holder exits once it holds nothing");
        assertFalse(Files.exists(client.socket()), "and removes its socket");
    }

    @Test
    void theHolderExitsWhenItsRegionDirectoryGoes() throws Exception {
        FdHolderClient client = new FdHolderClient(dir);
        try (Region r = Region.createSealed("alice", SMALL, null)) {
            client.keep("ferry-region-alice", r.fd());
        }
        ProcessHandle h = holder(client.socket()).orElseThrow();
        Files.delete(client.socket());
        assertTrue(gone(h), "a holder whose socket is gone (the directory removed) exits");
    }

    @Test
    void systemdFdStoreMessagesAndListenFds() throws Exception {
        assertEquals("FDSTORE=1\nFDNAME=ferry-region-alice",
                new String(SystemdFdStore.storeMessage("ferry-region-alice"), StandardCharsets.UTF_8));
        assertEquals("FDSTOREREMOVE=1\nFDNAME=ferry-region-alice",
                new String(SystemdFdStore.removeMessage("ferry-region-alice"), StandardCharsets.UTF_8));
        assertThrows(IllegalArgumentException.class, () -> SystemdFdStore.checkedName("a:b"));
        Map<String, String> env = Map.of("LISTEN_PID", "77", "LISTEN_FDS", "3",
                "LISTEN_FDNAMES", "ferry-region-alice:stored:ferry-region-bob");
        assertEquals(Map.of("ferry-region-alice", 3, "stored", 4, "ferry-region-bob", 5),
                SystemdFdStore.listenFds(env, 77));
        assertEquals(Map.of(), SystemdFdStore.listenFds(env, 78), "descriptors meant for another process");
        assertEquals(Map.of(), SystemdFdStore.listenFds(Map.of("LISTEN_PID", "77", "LISTEN_FDS", "x"), 77));
        // The datagram with its descriptor, as systemd's notify socket would receive it.
        Path notify = dir.resolve("notify");
        try (UnixSocket systemd = UnixSocket.bindDatagram(notify); Region r = Region.createSealed("alice", SMALL, null)) {
            r.heap().set(ValueLayout.JAVA_LONG, 0, 0x5D);
            SystemdFdStore store = new SystemdFdStore(notify.toString(), Map.of());
            store.keep("ferry-region-alice", r.fd());
            byte[] message = SystemdFdStore.storeMessage("ferry-region-alice");
            byte[] got = new byte[message.length];
            int[] fd = {-1};
            systemd.receiveFully(got, fd);
            assertArrayEquals(message, got);
            try (Region stored = Region.openFd(fd[0])) {
                assertEquals(0x5D, stored.heap().get(ValueLayout.JAVA_LONG, 0));
            }
            assertEquals(-1, store.take("ferry-region-alice"), "only what systemd handed back at start is taken");
        }
    }

    @Test
    void aRegionStoreReopensMemfdAndFileRegionsOfThePreviousHostWithANewEpoch() throws Exception {
        var alice = new HostConfig.GuestConfig("alice", 4L << 20);
        var bob = new HostConfig.GuestConfig("bob", 4L << 20).withRegion(HostConfig.RegionKind.FILE);
        HostConfig config = new HostConfig(dir, false, List.of(), List.of(alice, bob));
        byte[] aliceCredential;
        byte[] bobCredential;
        long epoch;
        Object bobInode;
        RegionStore first = new RegionStore(config);
        try (first) {
            Region a = first.open(alice, fresh(1));
            Region b = first.open(bob, fresh(2));
            aliceCredential = a.credential();
            bobCredential = b.credential();
            epoch = a.hostEpoch();
            assertEquals(first.epoch(), epoch);
            assertEquals(epoch, b.hostEpoch());
            a.heap().set(ValueLayout.JAVA_LONG, 0, 0xA);
            b.heap().set(ValueLayout.JAVA_LONG, 0, 0xB);
            a.connectRequest(99);
            a.connectAck(99);
            bobInode = Files.getAttribute(RegionStore.regionFile(dir, "bob"), "unix:ino");
            assertTrue(first.keeper().contains("fd holder"), first.keeper());
        }
        try (RegionStore second = new RegionStore(config)) {
            Region a = second.open(alice, fresh(3));
            Region b = second.open(bob, fresh(4));
            assertNotEquals(epoch, second.epoch());
            assertEquals(second.epoch(), a.hostEpoch(), "a new epoch in every region");
            assertEquals(0xA, a.heap().get(ValueLayout.JAVA_LONG, 0), "the same memfd");
            assertEquals(0xB, b.heap().get(ValueLayout.JAVA_LONG, 0), "the same file");
            assertEquals(bobInode, Files.getAttribute(RegionStore.regionFile(dir, "bob"), "unix:ino"));
            assertArrayEquals(aliceCredential, a.credential(), "no configured secret: the credential is kept");
            assertArrayEquals(bobCredential, b.credential());
            assertEquals(0, a.connectRequest());
            assertEquals(0, a.connectAck());
            long before = a.hostEpoch();
            Region reset = second.reset("alice");
            assertSame(a, reset, "a reset keeps the mapping");
            assertNotEquals(before, reset.hostEpoch());
            ProcessHandle h = holder(dir.resolve(FdHolder.SOCKET)).orElseThrow();
            second.release("bob", true);
            assertFalse(Files.exists(RegionStore.regionFile(dir, "bob")), "a removed guest's file goes");
            second.release("alice", true);
            assertTrue(gone(h), "a removed guest's memfd is dropped: the holder, holding nothing, exits");
        }
    }

    private static byte[] fresh(int v) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    static {
        // the descriptors this test passes around are closed with their regions; nothing to set up
        Memfd.class.getName();
    }
}
