package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The data paths of {@link CommandQueue}: arrays, ByteBuffers and ordinary memory of any size through a 16 MiB
 * region (TestHost's size), heap memory without a copy, one meaning of read, and debug mode's pending-read check.
 */
class DataPathIT {
    static TestHost host;
    /** One session for the class: each session starts a device worker, which is most of a small test's time. */
    static Ferry ferry;
    static Context ctx;

    @BeforeAll
    static void start() throws Exception {
        // The worker's address-space limit counts its JVM too: the default 2 GiB leaves no room for a 1 GiB buffer.
        host = TestHost.start(Devices.discover(List.of()), new HostConfig.WorkerLimits(4L << 30,
                HostConfig.WorkerLimits.DEFAULT.compileTimeNanos(), 0), "data");
        ferry = host.connect("data");
        ctx = ferry.createContext(ferry.defaultDevice());
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            ctx.close();
            ferry.close();
        } finally {
            host.close();
        }
    }

    /** A value of position {@code i} that no shifted or stale copy reproduces. */
    private static long pattern(long i) {
        return (i + 1) * 0x9E3779B97F4A7C15L ^ (i >>> 7);
    }

    @Test
    @Tag("slow") // a few seconds on an idle 2-core machine: the device's first touch of 1 GiB, four 1 GiB copies
    void aGibibyteWritesAndReadsBackThroughASixteenMebibyteRegion() {
        long size = 1L << 30;
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(size);
             Arena arena = Arena.ofConfined()) {
            assertTrue(ferry.heap().capacity() <= 16L << 20, "the region is larger than the test means");
            MemorySegment data = arena.allocate(size, 4096);
            long words = size / Long.BYTES;
            for (long i = 0; i < words; i++) {
                data.setAtIndex(ValueLayout.JAVA_LONG, i, pattern(i));
            }
            q.write(buf, 0, data).finish();
            data.fill((byte) 0);
            q.read(buf, 0, data).finish();
            for (long i = 0; i < words; i++) {
                if (data.getAtIndex(ValueLayout.JAVA_LONG, i) != pattern(i)) {
                    throw new AssertionError("word " + i + " of 1 GiB read back wrong: "
                            + Long.toHexString(data.getAtIndex(ValueLayout.JAVA_LONG, i)));
                }
            }
            assertEquals(0, ferry.heap().usedBytes(), "staging blocks are freed at finish");
        }
    }

    @Test
    void arraysOfEveryTypeRoundTripWithElementAndByteOffsets() {
        Random rnd = new Random(13);
        int n = 1000;
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(64 * 1024)) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            int[] i = rnd.ints(n).toArray();
            long[] l = rnd.longs(n).toArray();
            double[] d = rnd.doubles(n).toArray();
            float[] f = new float[n];
            for (int k = 0; k < n; k++) {
                f[k] = rnd.nextFloat();
            }
            // count elements from index 10 go to byte 24 of the buffer, come back to index 3 of a fresh array
            int from = 10, count = 900, to = 3;
            byte[] b2 = new byte[n];
            int[] i2 = new int[n];
            long[] l2 = new long[n];
            float[] f2 = new float[n];
            double[] d2 = new double[n];
            q.write(buf, 24, b, from, count).read(buf, 24, b2, to, count);
            q.write(buf, 24 + 1024, i, from, count).read(buf, 24 + 1024, i2, to, count);
            q.write(buf, 24 + 5 * 1024, l, from, count).read(buf, 24 + 5 * 1024, l2, to, count);
            q.write(buf, 24 + 13 * 1024, f, from, count).read(buf, 24 + 13 * 1024, f2, to, count);
            q.write(buf, 24 + 17 * 1024, d, from, count).read(buf, 24 + 17 * 1024, d2, to, count);
            q.finish();
            assertArrayEquals(Arrays.copyOfRange(b, from, from + count), Arrays.copyOfRange(b2, to, to + count));
            assertArrayEquals(Arrays.copyOfRange(i, from, from + count), Arrays.copyOfRange(i2, to, to + count));
            assertArrayEquals(Arrays.copyOfRange(l, from, from + count), Arrays.copyOfRange(l2, to, to + count));
            assertArrayEquals(Arrays.copyOfRange(f, from, from + count), Arrays.copyOfRange(f2, to, to + count));
            assertArrayEquals(Arrays.copyOfRange(d, from, from + count), Arrays.copyOfRange(d2, to, to + count));
            assertEquals(0, i2[to - 1], "elements outside the range stay as they were");
            assertEquals(0, i2[to + count], "elements outside the range stay as they were");

            // whole arrays, and the device sees the platform's byte order
            int[] whole = rnd.ints(n).toArray();
            byte[] raw = new byte[4 * n];
            int[] back = new int[n];
            q.write(buf, 0, whole).read(buf, 0, raw).read(buf, 0, back).finish();
            assertArrayEquals(whole, back);
            assertEquals(whole[7], ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).getInt(28));
            assertThrows(IndexOutOfBoundsException.class, () -> q.write(buf, 0, whole, n - 10, 11));
        }
    }

    @Test
    void stagedTransfersOfAnySizeAndOffsetRoundTrip() {
        Random rnd = new Random(1313);
        int max = 20 << 20; // beyond the region: several rounds of chunks, the last one partial
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(max + (1 << 20))) {
            for (int round = 0; round < 8; round++) {
                int n = round == 0 ? 1 : 1 + rnd.nextInt(max);
                long offset = rnd.nextInt(1 << 20);
                int from = rnd.nextInt(100);
                byte[] in = new byte[from + n];
                rnd.nextBytes(in);
                byte[] out = new byte[n + 7];
                q.write(buf, offset, in, from, n).read(buf, offset, out, 7, n).finish();
                assertEquals(-1, Arrays.mismatch(in, from, from + n, out, 7, 7 + n),
                        "round " + round + ": " + n + " bytes at offset " + offset);
            }
        }
    }

    @Test
    void byteBuffersTravelBetweenPositionAndLimitWithoutMovingThem() {
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(4096)) {
            ByteBuffer src = ByteBuffer.allocate(100);
            for (int k = 0; k < 100; k++) {
                src.put(k, (byte) k);
            }
            src.position(10).limit(60);
            ByteBuffer dst = ByteBuffer.allocateDirect(200).position(100).limit(150);
            q.write(buf, 8, src).read(buf, 8, dst).finish();
            assertEquals(10, src.position());
            assertEquals(100, dst.position());
            for (int k = 0; k < 50; k++) {
                assertEquals((byte) (10 + k), dst.get(100 + k));
            }
            assertEquals(0, dst.get(99));
            assertEquals(0, dst.limit(200).get(150));
        }
    }

    @Test
    void readsIntoOrdinaryMemoryHoldTheBufferAsItWasWhenEachReadWasEnqueued() {
        long size = 40L << 20; // over twice the region: staged in several rounds of chunks
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(size);
             Arena arena = Arena.ofConfined()) {
            MemorySegment first = arena.allocate(size);
            MemorySegment second = arena.allocate(size);
            q.fill(buf, MemorySegment.ofArray(new byte[] {1}), 0, size);
            q.read(buf, 0, first);
            q.fill(buf, MemorySegment.ofArray(new byte[] {2}), 0, size);
            q.read(buf, 0, second);
            q.finish();
            assertEquals(-1, first.mismatch(arena.allocate(size).fill((byte) 1)), "the first read saw the 1s");
            assertEquals(-1, second.mismatch(arena.allocate(size).fill((byte) 2)), "the second read saw the 2s");
        }
    }

    @Test
    void manyStagedReadsBeforeOneFinishDoNotRunTheHeapOut() {
        int reads = 12;
        int ints = 1 << 20; // 4 MiB each: 48 MiB of reads held for one finish, through a 16 MiB region
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(4L * ints * reads)) {
            int[][] in = new int[reads][];
            int[][] out = new int[reads][ints];
            for (int r = 0; r < reads; r++) {
                in[r] = new Random(r).ints(ints).toArray();
                q.write(buf, 4L * ints * r, in[r]);
            }
            for (int r = 0; r < reads; r++) {
                q.read(buf, 4L * ints * r, out[r]);
            }
            q.finish();
            for (int r = 0; r < reads; r++) {
                assertArrayEquals(in[r], out[r], "read " + r);
            }
        }
    }

    @Test
    void aHeapTooFullForOneStagingChunkFailsWithQuotaExceededAndTheFigures() {
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(1 << 20);
             HeapBlock hog = ferry.heap().allocate(ferry.heap().capacity() - 16 * 1024)) {
            FerryException e = assertThrows(FerryException.class, () -> q.write(buf, 0, new byte[1 << 20]));
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertTrue(e.getMessage().contains("write of 1 MiB") && e.getMessage().contains("16 KiB of"),
                    e.getMessage());
            hog.close();
            q.write(buf, 0, new byte[1 << 20]).finish();
        }
    }

    @Test
    void debugModeRefusesMemoryThatAnUnfinishedReadTargets() {
        ferry.debug(true);
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(4096);
             DeviceBuffer other = ctx.createBuffer(4096);
             HeapBlock block = ferry.heap().allocate(4096)) {
            q.read(buf, 0, block.segment());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> q.write(other, 0, block.segment().asSlice(1024, 16)));
            assertTrue(e.getMessage().contains("unfinished read") && e.getMessage().contains("finish()"),
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> q.read(other, 0, block.segment()));
            int[] array = new int[64];
            q.read(buf, 0, array);
            assertThrows(IllegalStateException.class, () -> q.write(other, 0, array, 8, 8));
            q.write(other, 0, new int[64]); // other memory is fine
            q.finish();
            q.write(other, 0, block.segment()).write(other, 0, array).finish(); // valid once finished
        } finally {
            ferry.debug(false);
        }
    }

    @Test
    void withoutDebugModeAReadAndAWriteOfTheSameHeapMemoryAreNotChecked() {
        try (CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(4096);
             HeapBlock block = ferry.heap().allocate(4096)) {
            q.read(buf, 0, block.segment()).write(buf, 0, block.segment()).finish();
        }
    }
}
