package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lanes of a region: their layout, their views, their claims, and a hostile lane table refused at open. */
class RegionLanesTest {

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final RegionLayout FOUR = new RegionLayout(8192, 4096, 4 * 64 * 1024, 4);

    @TempDir
    Path dir;

    @Test
    void everyLanesRingsAndHeapSliceAreAlignedInsideTheRegionAndOverlapNothing() {
        for (int lanes = 1; lanes <= MAX_LANES; lanes++) {
            RegionLayout l = RegionLayout.forSize(RegionLayout.minimumRegionSize(lanes) + lanes * 8192L, lanes);
            List<long[]> sections = new ArrayList<>();
            sections.add(new long[] {0, HEADER_SIZE});
            for (int i = 0; i < lanes; i++) {
                sections.add(new long[] {l.commandRingOffset(i), sectionSizeFor(l.commandRingCapacity())});
                sections.add(new long[] {l.completionRingOffset(i), sectionSizeFor(l.completionRingCapacity())});
                sections.add(new long[] {l.laneHeapOffset(i), l.laneHeapSize()});
                assertEquals(0, l.laneHeapOffset(i) % SECTION_ALIGNMENT);
                assertEquals(0, l.commandRingOffset(i) % SECTION_ALIGNMENT);
                assertTrue(l.laneHeapSize() >= MIN_HEAP_SIZE);
            }
            sections.sort(Comparator.comparingLong(s -> s[0]));
            for (int i = 1; i < sections.size(); i++) {
                assertTrue(sections.get(i - 1)[0] + sections.get(i - 1)[1] <= sections.get(i)[0], "lanes " + lanes);
            }
            long[] last = sections.getLast();
            assertTrue(last[0] + last[1] <= l.regionSize(), "lanes " + lanes);
        }
    }

    @Test
    void theDefaultGivesFewerLanesToARegionTooSmallForThem() {
        assertEquals(4, RegionLayout.lanesThatFit(16L << 20, 4, 1L << 20));
        assertEquals(3, RegionLayout.lanesThatFit(4L << 20, 4, 1L << 20));
        assertEquals(1, RegionLayout.lanesThatFit(1L << 20, 4, 1L << 20));
        assertThrows(IllegalArgumentException.class, () -> RegionLayout.forSize(1L << 20, 4));
    }

    @Test
    void laneZeroKeepsTheOffsetsOfLayoutVersionOne() {
        assertEquals(COMMAND_RING_OFFSET_OFFSET, laneSectionsOffset(0));
        assertEquals(CONNECT_REQUEST_OFFSET, laneWordsOffset(0));
        assertEquals(CONNECT_ACK_OFFSET, laneWordsOffset(0) + LANE_CONNECT_ACK_OFFSET);
        assertEquals(SESSION_ID_OFFSET, laneWordsOffset(0) + LANE_SESSION_ID_OFFSET);
        assertEquals(LANE_CLAIM_OFFSET, laneWordsOffset(0) + LANE_CLAIM_WORD_OFFSET);
        assertTrue(HOST_FIGURES_OFFSET + HOST_FIGURES_LENGTH <= LANE_TABLE_OFFSET);
        assertTrue(laneWordsOffset(MAX_LANES - 1) + LANE_SESSION_ID_OFFSET + 8 <= HEADER_SIZE);
        // the guest-written and host-written words of a lane never share a 64-byte line
        for (int i = 0; i < MAX_LANES; i++) {
            assertEquals(0, laneWordsOffset(i) % 64);
            assertEquals(0, (laneWordsOffset(i) + LANE_CONNECT_ACK_OFFSET) % 64);
        }
    }

    @Test
    void eachLaneViewHasItsOwnRingsHeapSliceAndConnectWords() {
        Path file = dir.resolve("four.region");
        try (Region host = Region.create(file, "g", FOUR, null); Region guest = Region.open(file)) {
            assertEquals(4, guest.laneCount());
            assertEquals(FOUR, guest.header().layout());
            for (int i = 0; i < 4; i++) {
                Region lane = guest.lane(i);
                assertEquals(i, lane.laneIndex());
                assertEquals(FOUR.laneHeapSize(), lane.heap().byteSize());
                assertEquals(FOUR.laneHeapOffset(i), lane.heap().address() - guest.segment().address());
                assertEquals(FOUR.commandRingOffset(i), lane.commandRing().segment().address() - guest.segment().address());
                assertEquals(FOUR.completionRingOffset(i),
                        lane.completionRing().segment().address() - guest.segment().address());
            }
            guest.lane(2).guestPid(42);
            guest.lane(2).connectRequest(7);
            assertEquals(7, host.lane(2).connectRequest());
            assertEquals(42, host.lane(2).guestPid());
            assertEquals(0, host.lane(0).connectRequest());
            assertEquals(0, host.lane(3).connectRequest());
            assertEquals(7, host.segment().get(LONG, laneWordsOffset(2) + LANE_CONNECT_REQUEST_OFFSET));
            assertSame(guest.lane(1), guest.lane(1));
            assertThrows(IllegalArgumentException.class, () -> guest.lane(4));
        }
    }

    @Test
    void closingAnyLaneViewUnmapsTheRegionOnce() {
        Path file = dir.resolve("close.region");
        Region.create(file, "g", FOUR, null).close();
        Region r = Region.open(file);
        Region lane = r.lane(3);
        lane.close();
        r.close(); // idempotent over views
        assertThrows(IllegalStateException.class, () -> r.lane(1).heap().get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void processesClaimFreeLanesInTurnAndAFullRegionNamesTheHoldersAndTheFix() {
        Path file = dir.resolve("claims.region");
        try (Region host = Region.create(file, "busy", FOUR, null); Region guest = Region.open(file)) {
            for (int i = 0; i < 4; i++) {
                assertEquals(i, LaneClaims.claim(guest, 100 + i).laneIndex());
            }
            RegionException e = assertThrows(RegionException.class, () -> LaneClaims.claim(guest, 999));
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            for (String part : new String[] {"'busy'", "4 lane", "100, 101, 102, 103", "raise lanes:"}) {
                assertTrue(e.getMessage().contains(part), e.getMessage());
            }
            // the host frees lane 2 when its session ends: only the holder it served is freed
            assertFalse(host.lane(2).laneClaim(555, 0));
            assertTrue(host.lane(2).laneClaim(102, 0));
            assertEquals(2, LaneClaims.claim(guest, 999).laneIndex());
            LaneClaims.release(guest.lane(2), 998); // not the holder: nothing happens
            assertEquals(999, host.lane(2).laneClaim());
        }
    }

    @Test
    void aLaneCountOutOfRangeIsRefused() {
        for (int count : new int[] {0, -1, MAX_LANES + 1}) {
            RegionException e = assertThrows(RegionException.class,
                    () -> Region.open(corrupt(s -> s.set(INT, LANE_COUNT_OFFSET, count))));
            assertEquals(Status.PROTOCOL_VIOLATION, e.status());
            assertTrue(e.getMessage().contains("lane count " + count), e.getMessage());
        }
    }

    @Test
    void aLaneWhoseHeapSliceOverlapsAnotherLanesIsRefused() {
        long lane1Heap = FOUR.laneHeapOffset(1);
        RegionException e = assertThrows(RegionException.class, () -> Region.open(corrupt(s ->
                s.set(LONG, laneSectionsOffset(2) + LANE_HEAP_OFFSET_OFFSET, lane1Heap))));
        assertTrue(e.getMessage().contains("overlapping"), e.getMessage());
    }

    @Test
    void aLaneWhoseRingPointsIntoAnotherLanesRingIsRefused() {
        long lane0Cmd = FOUR.commandRingOffset(0);
        RegionException e = assertThrows(RegionException.class, () -> Region.open(corrupt(s ->
                s.set(LONG, laneSectionsOffset(3) + LANE_COMPLETION_RING_OFFSET_OFFSET, lane0Cmd))));
        assertTrue(e.getMessage().contains("overlapping"), e.getMessage());
    }

    @Test
    void aLaneSectionOutsideTheRegionOrMisalignedOrOfABadCapacityIsRefused() {
        assertRefused(s -> s.set(LONG, laneSectionsOffset(1) + LANE_HEAP_OFFSET_OFFSET, FOUR.regionSize()),
                "lane 1's heap section");
        assertRefused(s -> s.set(LONG, laneSectionsOffset(1) + LANE_HEAP_SIZE_OFFSET, Long.MAX_VALUE & -4096L),
                "lane 1's heap section");
        assertRefused(s -> s.set(LONG, laneSectionsOffset(2) + LANE_COMMAND_RING_OFFSET_OFFSET,
                FOUR.commandRingOffset(2) + 8), "not a multiple");
        assertRefused(s -> s.set(LONG, laneSectionsOffset(3) + LANE_COMMAND_RING_CAPACITY_OFFSET, 6000L),
                "lane 3's command ring capacity 6000");
        assertRefused(s -> s.set(LONG, laneSectionsOffset(3) + LANE_HEAP_SIZE_OFFSET, 4096L),
                "lane 3's heap size 4096");
    }

    private void assertRefused(Consumer<MemorySegment> edit, String says) {
        RegionException e = assertThrows(RegionException.class, () -> Region.open(corrupt(edit)));
        assertEquals(Status.PROTOCOL_VIOLATION, e.status());
        assertTrue(e.getMessage().contains(says), e.getMessage());
    }

    private Path corrupt(Consumer<MemorySegment> edit) {
        Path file = dir.resolve("c" + System.nanoTime() + ".region");
        Region.create(file, "g", FOUR, null).close();
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            edit.accept(ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_SIZE, arena));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return file;
    }
}
