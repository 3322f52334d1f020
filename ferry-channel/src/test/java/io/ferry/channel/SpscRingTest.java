package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One section, two views (producer side and consumer side), as two processes would have. */
class SpscRingTest {

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int CAPACITY = 4096;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment section = arena.allocate(RING_DATA_OFFSET + CAPACITY, 128);
    private final SpscRing producer = new SpscRing("test", section, CAPACITY);
    private final SpscRing consumer = new SpscRing("test", section, CAPACITY);

    @AfterEach
    void close() {
        arena.close();
    }

    record Rec(int type, int length, long firstWord) {
    }

    private List<Rec> drain(SpscRing ring) {
        List<Rec> out = new ArrayList<>();
        ring.poll((type, rec, len) -> out.add(new Rec(type, len, len >= 16 ? rec.get(LONG, 8) : -1)),
                Integer.MAX_VALUE);
        return out;
    }

    private long claim(int type, int length, long firstWord) {
        long at = producer.tryClaim(type, length);
        assertTrue(at >= 0, "claim failed");
        if (length >= 16) {
            section.set(LONG, at + 8, firstWord);
        }
        return at;
    }

    @Test
    void newRingIsEmpty() {
        assertTrue(consumer.isEmpty());
        assertEquals(0, consumer.poll((t, r, l) -> fail(), 10));
        assertEquals(CAPACITY, producer.freeBytes());
        assertEquals(CAPACITY / 2, producer.maxRecordLength());
    }

    @Test
    void claimWritesFrameHeaderButPublishesNothing() {
        long at = producer.tryClaim(5, 20);
        assertEquals(RING_DATA_OFFSET, at);
        assertEquals(20, section.get(INT, at + FRAME_LENGTH_OFFSET));
        assertEquals(5, section.get(INT, at + FRAME_TYPE_OFFSET));
        assertTrue(consumer.isEmpty());
        assertEquals(0L, section.get(LONG, RING_TAIL_OFFSET));
        producer.publish();
        assertEquals(24L, section.get(LONG, RING_TAIL_OFFSET), "tail advances by the length rounded up to 8");
        assertEquals(List.of(new Rec(5, 20, 0)), drain(consumer));
        assertEquals(24L, section.get(LONG, RING_HEAD_OFFSET));
    }

    @Test
    void publishQuietlyPublishesWithoutRingingASleepingConsumer() {
        section.set(INT, RegionDescriptor.RING_CONSUMER_WAITING_OFFSET, 1); // the consumer announced its sleep
        int rung = section.get(INT, RegionDescriptor.RING_DOORBELL_OFFSET);
        assertFalse(producer.publishQuietly(), "nothing claimed: nothing published");
        producer.tryClaim(5, 20);
        assertTrue(producer.publishQuietly());
        assertEquals(24L, section.get(LONG, RING_TAIL_OFFSET));
        assertEquals(rung, section.get(INT, RegionDescriptor.RING_DOORBELL_OFFSET), "the doorbell is the caller's");
        assertEquals(List.of(new Rec(5, 20, 0)), drain(consumer));
        producer.wakeConsumer(); // the caller rings when it could not hand the records over itself
        assertEquals(rung + 1, section.get(INT, RegionDescriptor.RING_DOORBELL_OFFSET));
        section.set(INT, RegionDescriptor.RING_CONSUMER_WAITING_OFFSET, 0);
    }

    @Test
    void claimFailsExactlyWhenFullAndSucceedsAfterConsume() {
        for (int i = 0; i < CAPACITY / 64; i++) {
            claim(1, 64, i);
        }
        assertEquals(0, producer.freeBytes());
        assertEquals(-1, producer.tryClaim(1, 8), "full ring refuses even the smallest record");
        producer.publish();
        assertEquals(1, consumer.poll((t, r, l) -> { }, 1));
        assertEquals(-1, producer.tryClaim(1, 72), "64 bytes free do not hold 72");
        assertTrue(producer.tryClaim(1, 64) >= 0, "64 bytes free hold 64");
        assertEquals(-1, producer.tryClaim(1, 8));
        producer.publish();
        List<Rec> got = drain(consumer);
        assertEquals(CAPACITY / 64, got.size());
        assertEquals(1L, got.getFirst().firstWord());
        assertTrue(consumer.isEmpty());
        assertEquals(CAPACITY, producer.freeBytes());
    }

    @Test
    void severalRecordsOnePublish() {
        for (int i = 0; i < 5; i++) {
            claim(i, 16 + i * 8, 100 + i);
        }
        assertTrue(consumer.isEmpty());
        producer.publish();
        List<Rec> got = drain(consumer);
        assertEquals(5, got.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(new Rec(i, 16 + i * 8, 100 + i), got.get(i));
        }
    }

    @Test
    void pollRespectsLimitAndSkipsPaddingWithoutCountingIt() {
        claim(1, 2000, 1);
        claim(1, 1000, 1); // index 3000 now
        producer.publish();
        drain(consumer);
        claim(2, 2000, 2); // does not fit before the end: padding of 1096 bytes, then index 0
        claim(3, 16, 3);
        producer.publish();
        List<Rec> got = new ArrayList<>();
        assertEquals(1, consumer.poll((t, r, l) -> got.add(new Rec(t, l, r.get(LONG, 8))), 1));
        assertEquals(List.of(new Rec(2, 2000, 2)), got);
        assertEquals(List.of(new Rec(3, 16, 3)), drain(consumer));
    }

    @Test
    void recordThatDoesNotFitBeforeTheEndIsPrecededByPadding() {
        claim(1, 2048, 0);
        claim(1, 1944, 0); // index 3992 now, 104 bytes to the end
        producer.publish();
        drain(consumer);
        long at = claim(2, 105, 7); // 112 aligned
        assertEquals(RING_DATA_OFFSET, at, "the record starts again at index 0");
        assertEquals(104, section.get(INT, RING_DATA_OFFSET + 3992 + FRAME_LENGTH_OFFSET));
        assertEquals(PADDING_TYPE, section.get(INT, RING_DATA_OFFSET + 3992 + FRAME_TYPE_OFFSET));
        producer.publish();
        assertEquals(4096 + 112, section.get(LONG, RING_TAIL_OFFSET));
        assertEquals(List.of(new Rec(2, 105, 7)), drain(consumer));
        assertEquals(CAPACITY, producer.freeBytes());
    }

    @Test
    void maxRecordLengthIsHalfTheCapacity() {
        claim(1, CAPACITY / 2, 1);
        claim(2, CAPACITY / 2, 2);
        assertEquals(-1, producer.tryClaim(3, 8));
        producer.publish();
        assertEquals(List.of(new Rec(1, CAPACITY / 2, 1), new Rec(2, CAPACITY / 2, 2)), drain(consumer));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> producer.tryClaim(1, CAPACITY / 2 + 1));
        assertTrue(e.getMessage().contains("2048"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> producer.tryClaim(1, 7));
        assertThrows(IllegalArgumentException.class, () -> producer.tryClaim(-1, 8));
    }

    @Test
    void wrapsAroundWithPaddingForManyLaps() {
        SplittableRandom rnd = new SplittableRandom(42);
        long seq = 0;
        long expected = 0;
        while (section.get(LONG, RING_TAIL_OFFSET) < 50L * CAPACITY) {
            int n = rnd.nextInt(1, 6);
            for (int i = 0; i < n; i++) {
                int len = rnd.nextInt(16, CAPACITY / 2 + 1);
                long at = producer.tryClaim(9, len);
                if (at < 0) {
                    break;
                }
                section.set(LONG, at + 8, seq++);
            }
            producer.publish();
            for (Rec r : drain(consumer)) {
                assertEquals(9, r.type());
                assertEquals(expected++, r.firstWord());
            }
        }
        assertEquals(seq, expected);
        assertTrue(seq > 100);
    }

    @Test
    void handlerSeesAPrivateCopyWithTheValidatedHeader() {
        long at = claim(4, 32, 77);
        producer.publish();
        consumer.poll((type, rec, len) -> {
            section.set(LONG, at + 8, -1L);           // peer rewrites the record...
            section.set(INT, at + FRAME_LENGTH_OFFSET, 9999);
            assertEquals(77, rec.get(LONG, 8));        // ...the copy does not change
            assertEquals(32, rec.get(INT, FRAME_LENGTH_OFFSET));
            assertEquals(4, rec.get(INT, FRAME_TYPE_OFFSET));
            assertNotEquals(section.address(), rec.address());
        }, 1);
    }

    @Test
    void handlerExceptionPropagatesAfterHeadPassesTheRecord() {
        claim(1, 16, 1);
        claim(2, 16, 2);
        producer.publish();
        assertThrows(IllegalStateException.class, () -> consumer.poll((t, r, l) -> {
            throw new IllegalStateException("boom");
        }, 10));
        assertEquals(16L, section.get(LONG, RING_HEAD_OFFSET));
        assertEquals(List.of(new Rec(2, 16, 2)), drain(consumer));
    }

    @Test
    void resetEmptiesTheRingAndDropsPendingClaims() {
        claim(1, 16, 1);
        producer.publish();
        claim(1, 16, 2);
        producer.reset();
        consumer.reset();
        assertEquals(0L, section.get(LONG, RING_HEAD_OFFSET));
        assertEquals(0L, section.get(LONG, RING_TAIL_OFFSET));
        assertTrue(consumer.isEmpty());
        claim(3, 16, 3);
        producer.publish();
        assertEquals(List.of(new Rec(3, 16, 3)), drain(consumer));
    }

    @Test
    void newViewPicksUpWhereTheRingStands() {
        claim(1, 16, 1);
        claim(1, 16, 2);
        producer.publish();
        consumer.poll((t, r, l) -> { }, 1);
        SpscRing later = new SpscRing("test", section, CAPACITY);
        assertEquals(List.of(new Rec(1, 16, 2)), drain(later));
    }

    @Test
    void constructorRejectsBadCapacityOrSmallSection() {
        assertThrows(IllegalArgumentException.class, () -> new SpscRing("x", section, 3000));
        assertThrows(IllegalArgumentException.class, () -> new SpscRing("x", section, CAPACITY * 2));
    }

    // ---- corruption -------------------------------------------------------------------------------------

    private RingCorruptedException pollCorrupted() {
        return assertThrows(RingCorruptedException.class, () -> consumer.poll((t, r, l) -> fail("delivered"), 10));
    }

    private static void assertNames(RingCorruptedException e, String check) {
        assertTrue(e.getMessage().contains(check), e.getMessage());
        assertTrue(e.getMessage().startsWith("test ring: "), e.getMessage());
    }

    @Test
    void tailBeyondHeadPlusCapacityIsCorruption() {
        section.set(LONG, RING_TAIL_OFFSET, CAPACITY + 8L);
        assertNames(pollCorrupted(), "tail <= head + capacity failed: head=0 tail=4104");
    }

    @Test
    void tailBehindHeadIsCorruption() {
        claim(1, 16, 1);
        producer.publish();
        drain(consumer);
        section.set(LONG, RING_TAIL_OFFSET, 8L);
        assertNames(pollCorrupted(), "head <= tail failed: head=16 tail=8");
    }

    @Test
    void unalignedTailIsCorruption() {
        section.set(LONG, RING_TAIL_OFFSET, 3L);
        assertNames(pollCorrupted(), "tail 8-aligned failed: tail=3");
    }

    @Test
    void recordLengthZeroOrThreeIsCorruption() {
        for (int bad : new int[] {0, 3}) {
            consumer.reset();
            producer.reset();
            long at = claim(1, 16, 1);
            producer.publish();
            section.set(INT, at + FRAME_LENGTH_OFFSET, bad);
            assertNames(pollCorrupted(), "record length >= 8 failed: length=" + bad);
        }
    }

    @Test
    void hugeRecordLengthIsCorruption() {
        long at = claim(1, 16, 1);
        producer.publish();
        section.set(INT, at + FRAME_LENGTH_OFFSET, 0xFFFF_FFF0);
        assertNames(pollCorrupted(), "record within published bytes failed: length=4294967280");
    }

    @Test
    void recordLongerThanMaxIsCorruption() {
        long at = producer.tryClaim(1, 2048);
        producer.tryClaim(1, 2048);
        producer.publish();
        section.set(INT, at + FRAME_LENGTH_OFFSET, 3000);
        assertNames(pollCorrupted(), "record length <= 2048 failed: length=3000");
    }

    @Test
    void recordCrossingTheEndIsCorruption() {
        section.set(LONG, RING_HEAD_OFFSET, CAPACITY - 16L);
        section.set(LONG, RING_TAIL_OFFSET, CAPACITY - 16L);
        SpscRing c = new SpscRing("test", section, CAPACITY);
        section.set(LONG, RING_DATA_OFFSET + CAPACITY - 16, (1L << 32) | 64);
        section.set(LONG, RING_TAIL_OFFSET, CAPACITY + 48L);
        RingCorruptedException e = assertThrows(RingCorruptedException.class, () -> c.poll((t, r, l) -> { }, 1));
        assertNames(e, "record does not cross the end failed: length=64 type=1 at index 4080");
    }

    @Test
    void bogusNegativeTypeIsCorruption() {
        long at = claim(1, 16, 1);
        producer.publish();
        section.set(INT, at + FRAME_TYPE_OFFSET, -2);
        assertNames(pollCorrupted(), "record type >= 0 or padding (-1) failed: type=-2");
    }

    @Test
    void paddingThatDoesNotReachTheEndIsCorruption() {
        long at = claim(1, 16, 1);
        producer.publish();
        section.set(INT, at + FRAME_TYPE_OFFSET, PADDING_TYPE);
        assertNames(pollCorrupted(), "padding ends at the end failed: length=16 at index 0");
    }

    @Test
    void recordsBeforeACorruptOneAreConsumed() {
        claim(1, 16, 1);
        long bad = claim(1, 16, 2);
        producer.publish();
        section.set(INT, bad + FRAME_LENGTH_OFFSET, 0);
        List<Long> seen = new ArrayList<>();
        assertThrows(RingCorruptedException.class, () -> consumer.poll((t, r, l) -> seen.add(r.get(LONG, 8)), 10));
        assertEquals(List.of(1L), seen);
        assertEquals(16L, section.get(LONG, RING_HEAD_OFFSET));
    }

    private void fillRing() {
        for (int i = 0; i < CAPACITY / 64; i++) {
            claim(1, 64, i);
        }
        producer.publish();
    }

    @Test
    void headAheadOfTailSeenByProducerIsCorruption() {
        fillRing();
        section.set(LONG, RING_HEAD_OFFSET, CAPACITY + 64L);
        RingCorruptedException e = assertThrows(RingCorruptedException.class, () -> producer.tryClaim(1, 8));
        assertNames(e, "producer check head <= tail failed: head=4160 tail=4096");
    }

    @Test
    void headMovingBackwardsSeenByProducerIsCorruption() {
        fillRing();
        drain(consumer);
        fillRing();
        section.set(LONG, RING_HEAD_OFFSET, 64L);
        RingCorruptedException e = assertThrows(RingCorruptedException.class, producer::freeBytes);
        assertNames(e, "producer check tail - head <= capacity failed: head=64 tail=8192");
    }

    @Test
    void unalignedHeadSeenByProducerIsCorruption() {
        fillRing();
        section.set(LONG, RING_HEAD_OFFSET, 12L);
        RingCorruptedException e = assertThrows(RingCorruptedException.class, () -> producer.tryClaim(1, 8));
        assertNames(e, "producer check head 8-aligned failed: head=12");
    }

    @Test
    void inconsistentPositionsAtAttachAreReportedUntilReset() {
        section.set(LONG, RING_HEAD_OFFSET, 16L);
        section.set(LONG, RING_TAIL_OFFSET, 8L);
        SpscRing ring = new SpscRing("test", section, CAPACITY);
        assertNames(assertThrows(RingCorruptedException.class, () -> ring.poll((t, r, l) -> { }, 1)),
                "inconsistent positions at attach: head=16 tail=8");
        assertThrows(RingCorruptedException.class, () -> ring.tryClaim(1, 8));
        ring.reset();
        assertTrue(ring.tryClaim(1, 8) >= 0);
    }
}
