package io.ferry.channel;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackoffIdleStrategyTest {

    @Test
    void idleLoopReachesParkingAndWorkResetsIt() {
        BackoffIdleStrategy idle = new BackoffIdleStrategy(2, 2, 2, 1_000, 4_000);
        for (int i = 0; i < 20; i++) {
            idle.idle(0); // spins, spin-waits, yields, then parks 1, 2, 4, 4 ... µs
        }
        idle.idle(1);
        idle.reset();
        idle.idle(0);
        assertTrue(idle.toString().contains("park=1000..4000ns"));
    }

    @Test
    void rejectsInvalidParameters() {
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(-1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, 0, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, 0, 0, 10, 5));
    }
}
