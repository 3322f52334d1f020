package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.RING_DATA_OFFSET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Property: with one producer thread and one consumer thread on separate views of one ring, every record
 * arrives exactly once, in order, intact, whatever the mix of sizes (including sizes that force padding).
 */
class SpscRingConcurrencyTest {

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int RECORDS = 200_000;
    /** Record body: sequence number, checksum of the payload, payload. */
    private static final int SEQ = 8;
    private static final int CHECKSUM = 16;
    private static final int PAYLOAD = 24;

    @ParameterizedTest(name = "seed {0}, capacity {1}")
    @CsvSource({"1, 4096", "7, 65536", "12345, 8192", "987654321, 4096"})
    void everyRecordArrivesOnceInOrderIntact(long seed, int capacity) throws Exception {
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            MemorySegment section = arena.allocate(RING_DATA_OFFSET + capacity, 128);
            SpscRing producerView = new SpscRing("prop", section, capacity);
            SpscRing consumerView = new SpscRing("prop", section, capacity);
            Future<Long> produced = pool.submit(() -> produce(producerView, seed));
            Future<Long> consumed = pool.submit(() -> consume(consumerView));
            long producerPadding = produced.get(120, TimeUnit.SECONDS);
            assertEquals(RECORDS, consumed.get(120, TimeUnit.SECONDS));
            assertTrue(producerPadding > 0, "the size mix forced padding at least once");
            assertTrue(consumerView.isEmpty());
        }
    }

    /** Returns how many claims needed padding (estimated from positions), to show the mix exercised it. */
    private static long produce(SpscRing ring, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        IdleStrategy idle = new BackoffIdleStrategy(10, 100, 100, 1_000, 50_000);
        MemorySegment buf = ring.segment();
        int mask = ring.capacity() - 1;
        int batch = rnd.nextInt(1, 9);
        int length = nextLength(rnd, ring.maxRecordLength());
        long paddings = 0;
        long expectedIndex = 0;
        for (long seq = 0; seq < RECORDS; ) {
            long at = ring.tryClaim((int) (seq & 0xFFFF), length);
            if (at < 0) {
                ring.publish();
                idle.idle(0);
                continue;
            }
            idle.reset();
            if (at - RING_DATA_OFFSET != expectedIndex) {
                paddings++;
            }
            expectedIndex = (at - RING_DATA_OFFSET + ((length + 7) & ~7)) & mask;
            MemorySegment payload = buf.asSlice(at + PAYLOAD, length - PAYLOAD);
            for (long i = 0; i + 8 <= payload.byteSize(); i += 8) {
                payload.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
            }
            for (long i = payload.byteSize() & ~7L; i < payload.byteSize(); i++) {
                payload.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
            }
            buf.set(LONG, at + SEQ, seq);
            buf.set(LONG, at + CHECKSUM, checksum(payload));
            seq++;
            if (--batch == 0) {
                ring.publish();
                batch = rnd.nextInt(1, 9);
            }
            length = nextLength(rnd, ring.maxRecordLength());
        }
        ring.publish();
        return paddings;
    }

    /** Mostly small records, some medium, a few near the maximum (which force padding often). */
    private static int nextLength(SplittableRandom rnd, int max) {
        int p = rnd.nextInt(100);
        if (p < 70) {
            return rnd.nextInt(PAYLOAD, 129);
        }
        if (p < 95) {
            return rnd.nextInt(129, Math.min(1024, max) + 1);
        }
        return rnd.nextInt(max / 2, max + 1);
    }

    private static long consume(SpscRing ring) {
        IdleStrategy idle = new BackoffIdleStrategy(10, 100, 100, 1_000, 50_000);
        long[] next = {0};
        while (next[0] < RECORDS) {
            int n = ring.poll((type, record, length) -> {
                long seq = record.get(LONG, SEQ);
                if (seq != next[0]) {
                    throw new AssertionError("expected sequence " + next[0] + ", got " + seq);
                }
                if (type != (int) (seq & 0xFFFF)) {
                    throw new AssertionError("record " + seq + " has type " + type);
                }
                long sum = checksum(record.asSlice(PAYLOAD, length - PAYLOAD));
                if (sum != record.get(LONG, CHECKSUM)) {
                    throw new AssertionError("record " + seq + " of length " + length + " has a bad payload");
                }
                next[0]++;
            }, 32);
            idle.idle(n);
        }
        return next[0];
    }

    private static long checksum(MemorySegment payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload.asByteBuffer());
        return crc.getValue();
    }
}
