package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.HandoverDescriptor;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.endpoint.GuestSocket;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The guest socket: a guest proves its secret (and, where configured, its uid) and gets its sealed region. */
class GuestSocketIT {

    @Test
    void aGuestWithItsSecretGetsASealedRegionAndVerifiesAVadd() throws Exception {
        try (Hosts h = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT)));
             Ferry ferry = h.connect("alice")) {
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(h.host.guestSocket())));
            assertFalse(h.host.guestSocket().startsWith(h.dir), "the guest socket lies outside the region directory");
            assertTrue(RegionChecks.vaddVerifies(ferry));
            assertTrue(h.view("alice").connected());
            assertEquals(ProcessHandle.current().pid(), h.view("alice").pid());
        }
    }

    @Test
    void aWrongSecretAndAnUnknownGuestGetTheSameAnswerAndBothAreAudited() throws Exception {
        try (Hosts h = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT)));
             RegionChecks.Audit audit = new RegionChecks.Audit()) {
            FerryException wrong = assertThrows(FerryException.class,
                    () -> Ferry.connect(h.host.guestSocket(), "alice", new byte[32]));
            FerryException unknown = assertThrows(FerryException.class,
                    () -> Ferry.connect(h.host.guestSocket(), "mallory", h.host.secret("alice")));
            assertEquals(Status.BAD_CREDENTIAL, wrong.status());
            assertEquals(Status.BAD_CREDENTIAL, unknown.status());
            assertEquals(wrong.getMessage().replace("alice", "X"), unknown.getMessage().replace("mallory", "X"),
                    "names cannot be probed");
            long pid = ProcessHandle.current().pid();
            assertTrue(audit.has("guest alice", "refused", "pid " + pid, "wrong secret"), audit.lines().toString());
            assertTrue(audit.has("guest mallory", "refused", "pid " + pid, "no such guest"), audit.lines().toString());
            try (Ferry ok = h.connect("alice")) {
                assertEquals(7, ok.nop(7));
            }
        }
    }

    @Test
    void aUidNotInTheGuestsListIsRefusedEvenWithTheRightSecret() throws Exception {
        int me = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int other = me == 4242 ? 4243 : 4242;
        try (Hosts h = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT).withUids(List.of(other)),
                Hosts.guest("bob", null, Quotas.DEFAULT).withUids(List.of(me))));
             RegionChecks.Audit audit = new RegionChecks.Audit()) {
            FerryException e = assertThrows(FerryException.class, () -> h.connect("alice"));
            assertEquals(Status.BAD_CREDENTIAL, e.status());
            assertTrue(e.getMessage().contains("uid " + me) && e.getMessage().contains("[" + other + "]"),
                    e.getMessage());
            assertTrue(audit.has("guest alice", "refused", "uid " + me + " not in uids"), audit.lines().toString());
            try (Ferry bob = h.connect("bob")) {
                assertEquals(1, bob.nop(1));
            }
        }
    }

    @Test
    void aFloodOfIdleConnectionsDoesNotLockAGuestOut() throws Exception {
        try (Hosts h = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT)))) {
            List<UnixSocket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 200; i++) {
                    flood.add(UnixSocket.connect(h.host.guestSocket()));
                }
                try (Ferry ferry = h.connect("alice")) {
                    assertEquals(3, ferry.nop(3));
                }
            } finally {
                flood.forEach(UnixSocket::close);
            }
        }
    }

    @Test
    void theReceivedRegionCannotBeResizedByTheGuest() throws Exception {
        try (Hosts h = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT)));
             UnixSocket s = UnixSocket.connect(h.host.guestSocket())) {
            s.send(HandoverDescriptor.request("alice", h.host.secret("alice")), -1);
            byte[] header = new byte[HandoverDescriptor.REPLY_HEADER_SIZE];
            int[] fd = new int[1];
            s.receiveFully(header, fd);
            assertEquals(Status.OK.code(), HandoverDescriptor.readReply(header).status());
            assertTrue(fd[0] >= 0);
            try {
                assertEquals(Memfd.SEALS_FIXED_SIZE, Memfd.seals(fd[0]) & Memfd.SEALS_FIXED_SIZE);
                var shrink = assertThrows(io.ferry.channel.os.ErrnoException.class, () -> Memfd.truncate(fd[0], 0));
                assertTrue(shrink.isPermissionDenied(), shrink.getMessage());
                var grow = assertThrows(io.ferry.channel.os.ErrnoException.class,
                        () -> Memfd.truncate(fd[0], 1L << 40));
                assertTrue(grow.isPermissionDenied(), grow.getMessage());
            } finally {
                Memfd.closeQuietly(fd[0]);
            }
            try (Ferry ferry = h.connect("alice")) {
                assertTrue(RegionChecks.vaddVerifies(ferry), "the host serves the guest as before");
            }
        }
    }

    /**
     * A host binds its guest socket before it has offered its guests' regions; a guest that connects in between (a
     * guest reconnecting at once while its host restarts) waits for the offer instead of being refused as unknown.
     */
    @Test
    void aGuestThatConnectsBeforeTheHostOffersItsRegionWaitsForIt() throws Exception {
        Path dir = Hosts.newDir();
        byte[] secret = HostConfig.newSecret();
        int fd = Memfd.create("ferry-it-early");
        try (GuestSocket socket = GuestSocket.open(dir.resolve("guest.sock"), java.util.Map.of(), (g, p) -> { });
             UnixSocket s = UnixSocket.connect(dir.resolve("guest.sock"))) {
            Memfd.truncate(fd, 1 << 20);
            s.send(HandoverDescriptor.request("alice", secret), -1); // before the offer: queued, not refused
            socket.offer("alice", new GuestSocket.Offer(Hosts.guest("alice", secret, Quotas.DEFAULT), secret.clone(),
                    fd, 1 << 20));
            socket.serve();
            byte[] header = new byte[HandoverDescriptor.REPLY_HEADER_SIZE];
            int[] got = new int[1];
            s.receiveFully(header, got);
            HandoverDescriptor.Reply reply = HandoverDescriptor.readReply(header);
            assertEquals(Status.OK.code(), reply.status(), reply.problem());
            assertTrue(got[0] >= 0);
            Memfd.closeQuietly(got[0]);
        } finally {
            Memfd.closeQuietly(fd);
            Hosts.deleteTree(dir);
        }
    }

    @Test
    void aFileRegionGuestIsToldToUseItsFileOrDevice() throws Exception {
        try (Hosts h = Hosts.start(List.of(Hosts.guest("vm", null, Quotas.DEFAULT)
                .withRegion(HostConfig.RegionKind.FILE)))) {
            FerryException e = assertThrows(FerryException.class, () -> h.connect("vm"));
            assertEquals(Status.UNSUPPORTED, e.status());
            assertTrue(e.getMessage().contains("region: file"), e.getMessage());
            try (Ferry ferry = Ferry.connect(h.region("vm"))) {
                assertEquals(2, ferry.nop(2));
            }
        }
    }

    @Test
    void withoutASecretTheClientSaysWhereToPutIt() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("FERRY_SECRET") == null
                && System.getenv("FERRY_SECRET_FILE") == null);
        FerryException e = assertThrows(FerryException.class, () -> Ferry.connect("alice"));
        assertEquals(Status.NOT_CONFIGURED, e.status());
        assertTrue(e.getMessage().contains("no secret for guest 'alice': set FERRY_SECRET or FERRY_SECRET_FILE"),
                e.getMessage());
    }

    @Test
    void theConfigReadsSocketRegionAndUids() {
        HostConfig c = HostConfig.parse("""
                socket: /run/x/guest.sock
                guests:
                  - {name: a, region: file, uids: [1000, 1001]}
                  - {name: b}
                """, "test");
        assertEquals(Path.of("/run/x/guest.sock"), c.guestSocket());
        assertEquals(HostConfig.RegionKind.FILE, c.guest("a").region());
        assertEquals(List.of(1000, 1001), c.guest("a").uids());
        assertEquals(HostConfig.RegionKind.MEMFD, c.guest("b").region());
        assertEquals(c, HostConfig.parse(c.toYaml(), "again").withGuests(c.guests()));
        assertEquals(HostConfig.DEFAULT_GUEST_SOCKET,
                HostConfig.parse("guests: []", "t").guestSocket(), "default socket for the default regionDir");
    }
}
