package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The host's bookkeeping of one-way worker requests: in order across wrap-around and growth, no object each. */
class OutstandingTest {

    @Test
    void keepsOrderAcrossWrapAroundAndGrowth() {
        Outstanding o = new Outstanding();
        long next = 1;
        long first = 1;
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < 300 + round * 97; i++) {
                o.add(next, 1000 + next, (int) (next % 70), -next);
                next++;
            }
            o.dropBefore(first + 150);
            first += 150;
            assertEquals(first, o.firstSeq());
            assertEquals(1000 + first, o.firstGuestSeq());
            assertEquals((int) (first % 70), o.firstGuestOp());
            assertEquals(-first, o.firstArg());
            assertEquals(next - first, o.size());
        }
        o.removeFirst();
        assertEquals(first + 1, o.firstSeq());
        o.dropBefore(next);
        assertTrue(o.isEmpty());
        o.add(next, 7, 8, 9);
        o.clear();
        assertTrue(o.isEmpty());
    }
}
