package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WarmupTest {
    private static final long HOUR = 3_600_000_000_000L;

    @Test
    void endsOnceNeitherDirectionGetsFasterByMoreThanAFifth() {
        Warmup w = new Warmup(0, HOUR);

        assertTrue(w.more(0.1, 0.2), "one round is never enough");
        assertTrue(w.more(0.5, 0.21), "the first direction rose fivefold");
        assertTrue(w.more(0.55, 0.9), "the second direction rose fourfold");
        assertFalse(w.more(0.6, 1.0), "neither rose by more than a fifth");
    }

    @Test
    void theMinimumAndTheMaximumTimeWin() {
        Warmup atLeast = new Warmup(HOUR, 2 * HOUR);
        atLeast.more(1, 1);
        assertTrue(atLeast.more(1, 1), "steady, but the minimum time has not passed");

        Warmup atMost = new Warmup(0, 0);
        assertFalse(atMost.more(0.1, 0.1), "the maximum time has passed");
    }
}
