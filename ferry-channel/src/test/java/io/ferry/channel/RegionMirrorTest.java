package io.ferry.channel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** A stream client's local mirror of a region, made from the header page the host sends (untrusted). */
class RegionMirrorTest {
    private static MemorySegment page(Region r) {
        MemorySegment p = Arena.ofAuto().allocate(RegionDescriptor.HEADER_SIZE, 8);
        p.copyFrom(r.segment().asSlice(0, RegionDescriptor.HEADER_SIZE));
        return p;
    }

    @Test
    void theMirrorHasTheHostsLayoutAndNoneOfItsSessions() {
        RegionLayout layout = RegionLayout.forSize(8L << 20, 3);
        try (Region host = Region.createSealed("alice", layout, new byte[32])) {
            Region lane1 = host.lane(1);
            lane1.laneClaim(0, 4242);
            lane1.connectAck(77);
            lane1.sessionId(5);
            host.hostEpoch(99);
            try (Region mirror = RegionMirror.create(page(host), "ferry+tcp://127.0.0.1:1/alice")) {
                assertEquals(host.header(), mirror.header());
                assertEquals(layout.regionSize(), mirror.segment().byteSize());
                assertEquals(99, mirror.hostEpoch(), "the host's words come with the page");
                assertArrayEquals(host.credential(), mirror.credential());
                for (int i = 0; i < 3; i++) {
                    Region l = mirror.lane(i);
                    assertEquals(0, l.laneClaim());
                    assertEquals(0, l.connectAck());
                    assertEquals(0, l.sessionId());
                    assertTrue(l.commandRing().isEmpty() && l.completionRing().isEmpty());
                    assertEquals(host.lane(i).heap().byteSize(), l.heap().byteSize());
                }
                assertTrue(mirror.sealed(), "a memfd of its own");
            }
        }
    }

    @Test
    void aPageThatIsNoRegionIsAProtocolViolation() {
        try (Region host = Region.createSealed("alice", RegionLayout.forSize(4L << 20), null)) {
            MemorySegment bad = page(host);
            bad.set(ValueLayout.JAVA_LONG_UNALIGNED, RegionDescriptor.MAGIC_OFFSET, 1L);
            RegionException e = assertThrows(RegionException.class, () -> RegionMirror.create(bad, "H"));
            assertEquals(Status.PROTOCOL_VIOLATION, e.status());
            assertTrue(e.getMessage().contains("the host at H sent a header page that is not a valid region"),
                    e.getMessage());

            MemorySegment huge = page(host);
            huge.set(ValueLayout.JAVA_LONG_UNALIGNED, RegionDescriptor.REGION_SIZE_OFFSET, 1L << 40);
            e = assertThrows(RegionException.class, () -> RegionMirror.create(huge, "H"));
            assertEquals(Status.PROTOCOL_VIOLATION, e.status());
            assertTrue(e.getMessage().contains("claims " + (1L << 40) + " bytes"), e.getMessage());

            MemorySegment sections = page(host);
            sections.set(ValueLayout.JAVA_LONG_UNALIGNED, RegionDescriptor.HEAP_SIZE_OFFSET, 1L << 30);
            e = assertThrows(RegionException.class, () -> RegionMirror.create(sections, "H"));
            assertEquals(Status.PROTOCOL_VIOLATION, e.status());

            assertThrows(RegionException.class, () -> RegionMirror.create(MemorySegment.ofArray(new byte[100]), "H"));
        }
    }
}
