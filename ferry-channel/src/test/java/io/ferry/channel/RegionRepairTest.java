package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A header the guest overwrote is seen, and re-initialised in place so that a fresh client opens the region. */
class RegionRepairTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void aScribbledHeaderIsSeenAndReinitialisedInPlaceSoAFreshClientOpensIt() {
        byte[] credential = new byte[CREDENTIAL_LENGTH];
        new Random(7).nextBytes(credential);
        RegionLayout layout = RegionLayout.forSize(16L << 20, 3);
        try (Region host = Region.createSealed("scribbled", layout, credential)) {
            assertNull(RegionRepair.headerProblem(host));
            try (Region guest = Region.open(host.path())) {
                // the guest writes garbage over its whole header page and a lane's ring control block
                byte[] junk = new byte[HEADER_SIZE];
                new Random(8).nextBytes(junk);
                java.lang.foreign.MemorySegment.copy(junk, 0, guest.segment(), ValueLayout.JAVA_BYTE, 0, HEADER_SIZE);
                guest.lane(2).commandRing().segment().set(LONG, RING_TAIL_OFFSET, 12345L);
            }
            String problem = RegionRepair.headerProblem(host);
            assertNotNull(problem);
            assertTrue(problem.contains("not a Ferry region"), problem);
            RegionException refused = assertThrows(RegionException.class, () -> Region.open(host.path()));
            assertTrue(refused.getMessage().contains("bad magic"), refused.getMessage());

            RegionRepair.reinitialize(host);
            assertNull(RegionRepair.headerProblem(host));
            try (Region fresh = Region.open(host.path())) {
                assertEquals(host.header(), fresh.header());
                assertArrayEquals(credential, fresh.credential());
                assertEquals(0, fresh.lane(2).commandRing().segment().get(LONG, RING_TAIL_OFFSET));
                assertEquals(0, fresh.connectRequest());
            }
        }
    }

    @Test
    void anOverwrittenLaneTableIsAProblemAndAResetRestoresTheCredentialToo() {
        try (Region host = Region.createSealed("cred", RegionLayout.forSize(8L << 20, 2), new byte[CREDENTIAL_LENGTH])) {
            host.segment().set(ValueLayout.JAVA_BYTE, CREDENTIAL_OFFSET + 3, (byte) 1);
            assertNull(RegionRepair.headerProblem(host), "a tampered credential is the handshake's to refuse");
            RegionRepair.reinitialize(host);
            assertEquals(0, host.segment().get(ValueLayout.JAVA_BYTE, CREDENTIAL_OFFSET + 3));
            long at = laneSectionsOffset(1) + LANE_HEAP_SIZE_OFFSET;
            host.segment().set(LONG, at, host.segment().get(LONG, at) - SECTION_ALIGNMENT);
            assertNotNull(RegionRepair.headerProblem(host));
            RegionRepair.reinitialize(host);
            assertNull(RegionRepair.headerProblem(host));
        }
    }
}
