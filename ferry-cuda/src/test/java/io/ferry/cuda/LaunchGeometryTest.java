package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.Test;

class LaunchGeometryTest {
    static final LaunchGeometry.Limits L = CudaTesting.TYPICAL_LIMITS;

    static LaunchGeometry of(int dims, long[] global, long[] local) throws BackendException {
        return LaunchGeometry.of("k", dims, global, local, L, 0);
    }

    @Test
    void dividesGlobalByLocal() throws BackendException {
        LaunchGeometry g = of(1, new long[] {1 << 20}, new long[] {128});
        assertArrayEquals(new int[] {8192, 1, 1}, g.grid());
        assertArrayEquals(new int[] {128, 1, 1}, g.block());
        g = of(2, new long[] {4096, 4096}, new long[] {16, 16});
        assertArrayEquals(new int[] {256, 256, 1}, g.grid());
        assertArrayEquals(new int[] {16, 16, 1}, g.block());
        g = of(3, new long[] {64, 32, 8}, new long[] {8, 4, 2});
        assertArrayEquals(new int[] {8, 8, 4}, g.grid());
        assertArrayEquals(new int[] {8, 4, 2}, g.block());
    }

    @Test
    void choosesAnExactBlockWhenNoLocalSizeIsGiven() throws BackendException {
        LaunchGeometry g = of(1, new long[] {1 << 20}, null);
        assertArrayEquals(new int[] {4096, 1, 1}, g.grid());
        assertArrayEquals(new int[] {256, 1, 1}, g.block());
        g = of(1, new long[] {1000}, null);
        assertArrayEquals(new int[] {4, 1, 1}, g.grid());
        assertArrayEquals(new int[] {250, 1, 1}, g.block());
        g = of(1, new long[] {64}, null);
        assertArrayEquals(new int[] {1, 1, 1}, g.grid());
        assertArrayEquals(new int[] {64, 1, 1}, g.block());
        g = of(1, new long[] {1_000_003}, null); // prime: blocks of one thread, but exactly global threads
        assertArrayEquals(new int[] {1_000_003, 1, 1}, g.grid());
        assertArrayEquals(new int[] {1, 1, 1}, g.block());
        g = of(2, new long[] {512, 3}, null);
        assertArrayEquals(new int[] {2, 3, 1}, g.grid());
        assertArrayEquals(new int[] {256, 1, 1}, g.block());
        // a kernel limited to 128 threads per block
        g = LaunchGeometry.of("k", 1, new long[] {1024}, null, L, 128);
        assertArrayEquals(new int[] {128, 1, 1}, g.block());
        assertEquals(250, LaunchGeometry.largestDivisorAtMost(1000, 256));
        assertEquals(1, LaunchGeometry.largestDivisorAtMost(1, 256));
    }

    @Test
    void refusesBadWorkSizes() {
        // (dimensions, positive sizes and global multiples of local sizes are the host's checks: see BackendSession)
        BackendException e = assertThrows(BackendException.class, () -> of(2, new long[] {2048, 2048}, new long[] {64, 32}));
        assertEquals(Status.INVALID_WORK_SIZE, e.status());
        assertTrue(e.getMessage().contains("2048 threads per block"), e.getMessage());
        e = assertThrows(BackendException.class, () -> of(3, new long[] {128, 128, 128}, new long[] {1, 1, 128}));
        assertTrue(e.getMessage().contains("block limit 64"), e.getMessage());
        e = assertThrows(BackendException.class, () -> of(2, new long[] {1, 1L << 20}, new long[] {1, 1}));
        assertTrue(e.getMessage().contains("the device allows 65535"), e.getMessage());
    }

    @Test
    void mapsPriorityHintsIntoTheStreamPriorityRange() {
        // CUDA's range on current GPUs: least 0, greatest -5 (numerically lower is more urgent)
        assertEquals(0, LaunchGeometry.streamPriority(0, 0, -5));
        assertEquals(0, LaunchGeometry.streamPriority(-3, 0, -5));
        assertEquals(-1, LaunchGeometry.streamPriority(1, 0, -5));
        assertEquals(-5, LaunchGeometry.streamPriority(5, 0, -5));
        assertEquals(-5, LaunchGeometry.streamPriority(100, 0, -5));
        assertEquals(-5, LaunchGeometry.streamPriority(Integer.MAX_VALUE, 0, -5));
        // a device without priorities reports [0, 0]
        assertEquals(0, LaunchGeometry.streamPriority(3, 0, 0));
    }

    @Test
    void sharedMemoryBeyondTheDefaultIsAnOptIn() throws Exception {
        long optIn = 227 * 1024;
        assertEquals(-1, LaunchGeometry.sharedOptIn("k", 0, 0, optIn, 48 * 1024), "no local memory");
        assertEquals(-1, LaunchGeometry.sharedOptIn("k", 1024, 47 * 1024, optIn, 47 * 1024), "within the default");
        assertEquals(100_000, LaunchGeometry.sharedOptIn("k", 0, 100_000, optIn, 48 * 1024));
        assertEquals(-1, LaunchGeometry.sharedOptIn("k", 0, 100_000, optIn, 100_000), "opted in already");
        assertEquals((int) optIn - 4096, LaunchGeometry.sharedOptIn("k", 4096, optIn - 4096, optIn, 44 * 1024));
        io.ferry.spi.BackendException e = org.junit.jupiter.api.Assertions.assertThrows(io.ferry.spi.BackendException.class,
                () -> LaunchGeometry.sharedOptIn("k", 4096, optIn - 4095, optIn, 44 * 1024));
        assertEquals(io.ferry.protocol.Status.INVALID_KERNEL_ARGS, e.status());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("ask for at most " + (optIn - 4096)),
                e.getMessage());
    }
}
