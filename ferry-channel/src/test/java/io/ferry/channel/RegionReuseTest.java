package io.ferry.channel;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.os.UnixSocket;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A region that outlives its host: reopened in place, re-initialised in place, or created anew. */
class RegionReuseTest {
    private static final RegionLayout TWO_LANES = new RegionLayout(8192, 4096, 2 * 64 * 1024, 2);
    private static final RegionLayout ONE_LANE = new RegionLayout(8192, 4096,
            2 * 64 * 1024 + RegionDescriptor.sectionSizeFor(8192) + RegionDescriptor.sectionSizeFor(4096), 1);

    @TempDir
    Path dir;

    private static byte[] bytes(int v) {
        byte[] b = new byte[32];
        Arrays.fill(b, (byte) v);
        return b;
    }

    private static Object inode(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    /** The words an old host's session left: a request, an ack, a session id, a claim, and heap data. */
    private static void leaveASession(Region r) {
        for (int i = 0; i < r.laneCount(); i++) {
            Region lane = r.lane(i);
            lane.connectRequest(77 + i);
            lane.connectAck(77 + i);
            lane.sessionId(5);
            assertTrue(lane.laneClaim(0, 4242));
            lane.heap().set(ValueLayout.JAVA_LONG, 0, 0xFE44L + i);
        }
    }

    private static void assertNoSessionAndHeapKept(Region r) {
        for (int i = 0; i < r.laneCount(); i++) {
            Region lane = r.lane(i);
            assertEquals(0, lane.connectRequest(), "an old nonce must never be taken as a new request");
            assertEquals(0, lane.connectAck(), "no old session is resumed");
            assertEquals(0, lane.sessionId());
            assertEquals(0, lane.laneClaim());
            assertEquals(0xFE44L + i, lane.heap().get(ValueLayout.JAVA_LONG, 0), "the heap is the guest's: kept");
        }
    }

    @Test
    void aRegionFileIsReopenedInPlaceWithItsCredentialAndNoSession() throws IOException {
        Path file = dir.resolve("alice.region");
        RegionReuse.Result first = RegionReuse.file(file, "alice", TWO_LANES, null, bytes(1));
        assertEquals(RegionReuse.How.CREATED, first.how());
        Object inode = inode(file);
        try (Region r = first.region()) {
            leaveASession(r);
        }
        RegionReuse.Result again = RegionReuse.file(file, "alice", TWO_LANES, null, bytes(2));
        try (Region r = again.region()) {
            assertEquals(RegionReuse.How.REOPENED, again.how(), again.why());
            assertEquals(inode, inode(file), "the same file: a VM mapping it keeps its mapping");
            assertArrayEquals(bytes(1), r.credential(), "a guest without a configured secret keeps its credential");
            assertNoSessionAndHeapKept(r);
        }
        RegionReuse.Result configured = RegionReuse.file(file, "alice", TWO_LANES, bytes(3), bytes(4));
        try (Region r = configured.region()) {
            assertEquals(RegionReuse.How.REOPENED, configured.how());
            assertArrayEquals(bytes(3), r.credential(), "a configured secret is the credential");
        }
    }

    @Test
    void aCorruptRegionOrOneOfAnotherLayoutOrGuestIsReinitialisedInPlace() throws IOException {
        Path file = dir.resolve("alice.region");
        RegionReuse.file(file, "alice", TWO_LANES, null, bytes(1)).region().close();
        Object inode = inode(file);
        try (Region r = Region.open(file)) {
            r.segment().set(ValueLayout.JAVA_LONG, 0, 0x10000005d0046L); // the scribbled magic of issue 15
        }
        RegionReuse.Result corrupt = RegionReuse.file(file, "alice", TWO_LANES, null, bytes(2));
        try (Region r = corrupt.region()) {
            assertEquals(RegionReuse.How.REINITIALISED, corrupt.how());
            assertTrue(corrupt.why().contains("bad magic"), corrupt.why());
            assertArrayEquals(bytes(2), r.credential());
        }
        assertEquals(inode, inode(file));
        assertEquals(TWO_LANES.regionSize(), ONE_LANE.regionSize(), "the test's two layouts have one size");
        RegionReuse.Result other = RegionReuse.file(file, "alice", ONE_LANE, null, bytes(5));
        try (Region r = other.region()) {
            assertEquals(RegionReuse.How.REINITIALISED, other.how());
            assertTrue(other.why().contains("layout"), other.why());
            assertEquals(1, r.laneCount());
        }
        RegionReuse.Result bob = RegionReuse.file(file, "bob", ONE_LANE, null, bytes(6));
        try (Region r = bob.region()) {
            assertEquals(RegionReuse.How.REINITIALISED, bob.how());
            assertEquals("bob", r.header().guestName());
        }
        assertEquals(inode, inode(file));
        try (Region r = Region.open(file)) {
            assertEquals("bob", r.header().guestName(), "what a guest opening it now sees");
        }
    }

    @Test
    void aFileOfAnotherSizeOrALinkIsReplacedAndTheLinkNeverFollowed() throws IOException {
        Path file = dir.resolve("alice.region");
        Files.write(file, new byte[4096]);
        RegionReuse.Result small = RegionReuse.file(file, "alice", TWO_LANES, null, bytes(1));
        small.region().close();
        assertEquals(RegionReuse.How.CREATED, small.how());
        assertTrue(small.why().contains("size"), small.why());
        Files.delete(file);
        Path target = dir.resolve("target");
        Files.write(target, new byte[(int) TWO_LANES.regionSize()]);
        Files.createSymbolicLink(file, target);
        RegionReuse.Result link = RegionReuse.file(file, "alice", TWO_LANES, null, bytes(1));
        link.region().close();
        assertEquals(RegionReuse.How.CREATED, link.how());
        assertFalse(Files.isSymbolicLink(file));
        assertTrue(Arrays.equals(new byte[(int) TWO_LANES.regionSize()], Files.readAllBytes(target)),
                "the link's target is untouched");
    }

    /** A second descriptor of {@code fd}, as a keeper hands one back (over a socket pair). */
    private static int passed(int fd) throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            a.send(new byte[] {1}, fd);
            int[] got = {-1};
            b.receiveFully(new byte[1], got);
            return got[0];
        }
    }

    @Test
    void aKeptMemfdIsReopenedInPlaceAndAnUnusableOneReplaced() throws IOException {
        int kept;
        try (Region r = RegionReuse.sealed(-1, "alice", TWO_LANES, null, bytes(1)).region()) {
            leaveASession(r);
            kept = passed(r.fd());
        }
        RegionReuse.Result again = RegionReuse.sealed(kept, "alice", TWO_LANES, null, bytes(2));
        try (Region r = again.region()) {
            assertEquals(RegionReuse.How.REOPENED, again.how(), again.why());
            assertEquals(kept, r.fd(), "the kept descriptor is the region's now");
            assertArrayEquals(bytes(1), r.credential());
            assertNoSessionAndHeapKept(r);
            int wrongSize = passed(r.fd());
            RegionReuse.Result bigger = RegionReuse.sealed(wrongSize, "alice",
                    new RegionLayout(8192, 4096, 4 * 64 * 1024, 2), null, bytes(3));
            try (Region b = bigger.region()) {
                assertEquals(RegionReuse.How.CREATED, bigger.how());
                assertTrue(bigger.why().contains("bytes"), bigger.why());
                assertNotEquals(wrongSize, b.fd());
            }
        }
    }

    @Test
    void aResetRewritesHeaderAndRingsInTheSameMemory() {
        try (Region r = RegionReuse.sealed(-1, "alice", TWO_LANES, null, bytes(1)).region()) {
            leaveASession(r);
            r.segment().set(ValueLayout.JAVA_LONG, 0, 0xBADL);
            RegionRepair.reinitialize(r); // the host's reset (RegionStore.reset)
            try (Region view = Region.open(r.path())) {
                assertEquals("alice", view.header().guestName());
                assertArrayEquals(bytes(1), view.credential());
                assertEquals(0, view.lane(1).connectAck());
                assertEquals(0, view.lane(1).laneClaim());
            }
        }
    }
}
