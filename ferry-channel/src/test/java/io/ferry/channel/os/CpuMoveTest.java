package io.ferry.channel.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class CpuMoveTest {
    @Test
    void movesTheThreadToAnotherCpuAndKeepsItsAffinity() {
        int allowed = Runtime.getRuntime().availableProcessors();
        assumeTrue(allowed >= 2, "one CPU: nowhere to move");
        boolean moved = false;
        for (int i = 0; i < 3 && !moved; i++) { // the kernel may move it back at once, rarely
            int before = CpuMove.currentCpu();
            assertTrue(before >= 0);
            assertTrue(CpuMove.moveOff());
            moved = CpuMove.currentCpu() != before;
            assertEquals(allowed, Runtime.getRuntime().availableProcessors(), "the thread's CPU mask is restored");
        }
        assertTrue(moved, "the thread ran on the same CPU after each of three moves");
    }
}
