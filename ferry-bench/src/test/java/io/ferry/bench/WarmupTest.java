package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WarmupTest {
    private static final long HOUR = 3_600_000_000_000L;

    @Test
    void endsOnceNeitherDirectionsMedianGetsFaster() {
        Warmup w = new Warmup(0, HOUR);
        for (int i = 0; i < Warmup.WINDOW; i++) {
            assertTrue(w.more(0.1, 0.2), "two windows are needed before any comparison");
        }
        // the first direction's median rises fivefold, with one slow round among them: still rising
        double[] first = {0.5, 0.05, 0.5, 0.5, 0.5};
        for (double r : first) {
            assertTrue(w.more(r, 0.2));
        }
        // steady in the first; the second rises
        for (int i = 0; i < Warmup.WINDOW - 1; i++) {
            assertTrue(w.more(0.5, 0.9));
        }
        assertTrue(w.more(0.5, 0.9), "the second direction's median rose fourfold");
        // both steady from here, with one noisy fast round: it ends once the rise has left the earlier window
        int rounds = 0;
        boolean more = true;
        while (more && rounds < 100) {
            more = w.more(rounds == 2 ? 2.0 : 0.51, 0.92);
            rounds++;
        }
        assertFalse(more, "never ended");
        assertTrue(rounds > 1 && rounds <= 2 * Warmup.WINDOW, rounds + " steady rounds");
    }

    @Test
    void theMinimumAndTheMaximumTimeWin() {
        Warmup atLeast = new Warmup(HOUR, 2 * HOUR);
        for (int i = 0; i < 4 * Warmup.WINDOW; i++) {
            assertTrue(atLeast.more(1, 1), "steady, but the minimum time has not passed");
        }

        Warmup atMost = new Warmup(0, 0);
        assertFalse(atMost.more(0.1, 0.1), "the maximum time has passed");
    }
}
