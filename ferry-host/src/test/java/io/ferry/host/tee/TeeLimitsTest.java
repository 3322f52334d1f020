package io.ferry.host.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

/** TeeLimits.pages is exact at every boundary, including sizes whose naive sum overflows (issue 11, 10d). */
class TeeLimitsTest {
    static final long P = TeeLimits.PAGE;

    /** The reference: exact arithmetic in BigInteger. */
    static long exact(long offset, long size) {
        if (size == 0) {
            return 0;
        }
        BigInteger o = BigInteger.valueOf(offset);
        BigInteger last = o.add(BigInteger.valueOf(size)).subtract(BigInteger.ONE);
        BigInteger p = BigInteger.valueOf(P);
        return last.divide(p).subtract(o.divide(p)).add(BigInteger.ONE).longValueExact();
    }

    @Test
    void boundaryValuesMatchExactArithmetic() {
        long[] offsets = {0, 1, P - 1, P, P + 1, 2 * P - 1, Long.MAX_VALUE - P, Long.MAX_VALUE - 1, Long.MAX_VALUE};
        long[] sizes = {0, 1, 2, P - 1, P, P + 1, 256 * P, 256 * P + 1, Long.MAX_VALUE / 2, Long.MAX_VALUE - P,
                Long.MAX_VALUE - P + 1, Long.MAX_VALUE - 1, Long.MAX_VALUE};
        for (long o : offsets) {
            for (long s : sizes) {
                long got = TeeLimits.pages(o, s);
                assertEquals(exact(o, s), got, "pages(" + o + ", " + s + ")");
                assertTrue(got >= 0, "never negative");
            }
        }
    }

    @Test
    void smallRanges() {
        assertEquals(0, TeeLimits.pages(0, 0));
        assertEquals(1, TeeLimits.pages(0, 1));
        assertEquals(1, TeeLimits.pages(0, P));
        assertEquals(2, TeeLimits.pages(0, P + 1));
        assertEquals(2, TeeLimits.pages(P - 1, 2));
        assertEquals(256, TeeLimits.pages(0, 1 << 20));
        assertEquals(257, TeeLimits.pages(1, 1 << 20));
    }

    @Test
    void hugeNullMemrefIsOverTheLimitNotNegative() {
        // Before the fix, (0 + MAX + 4095) / 4096 overflowed to a negative page count that passed the limit check.
        long pages = TeeLimits.pages(0, Long.MAX_VALUE);
        assertEquals(Long.MAX_VALUE / P + 1, pages);
        assertTrue(pages > TeeLimits.DEFAULT.maxTotalPages());
        assertTrue(TeeLimits.pages(0, Long.MAX_VALUE - 4094) > TeeLimits.DEFAULT.maxTotalPages());
    }

    @Test
    void negativeArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TeeLimits.pages(-1, 1));
        assertThrows(IllegalArgumentException.class, () -> TeeLimits.pages(0, -1));
    }

    @Test
    void theBufferLimitIsInBytesAndTheTotalMustHoldOneBufferAtAnyOffset() {
        assertEquals(1L << 20, TeeLimits.DEFAULT.maxBufferBytes());
        // 1 MiB from a mid-page offset spans 257 pages: the total must hold that.
        assertEquals(257, TeeLimits.pages(P - 1, 1L << 20));
        new TeeLimits(1, 1, 1L << 20, 257);
        assertThrows(IllegalArgumentException.class, () -> new TeeLimits(1, 1, 1L << 20, 256));
        assertThrows(IllegalArgumentException.class, () -> new TeeLimits(1, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new TeeLimits(1, 1, Long.MAX_VALUE, 1));
        new TeeLimits(1, 1, Long.MAX_VALUE, Long.MAX_VALUE);
    }
}
