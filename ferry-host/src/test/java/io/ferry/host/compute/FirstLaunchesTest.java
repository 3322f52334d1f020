package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.worker.LeaseWords;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** First launches (PoCL compiles then) and the watchdog's two stretches of such a command under a lease. */
class FirstLaunchesTest {
    private static final long OVERRUN = 20_000_000L;
    private static final long COMPILE = 1_000_000_000L;

    @Test
    void eachShapeOfAKernelCountsOnceUpToTheCap() {
        long[] k = FirstLaunches.none();
        long[] other = FirstLaunches.none();
        long[] g = {1024};
        assertTrue(FirstLaunches.first(k, 1, null, g, null), "the first launch");
        assertFalse(FirstLaunches.first(k, 1, null, g, null), "the same shape again");
        assertTrue(FirstLaunches.first(k, 1, null, g, new long[] {64}), "a local size given");
        assertFalse(FirstLaunches.first(k, 1, null, new long[] {2048}, new long[] {64}), "that local size, another grid");
        assertTrue(FirstLaunches.first(k, 1, null, new long[] {2048}, null), "the device chooses for another size");
        assertTrue(FirstLaunches.first(k, 1, new long[] {4}, g, null), "an offset");
        assertTrue(FirstLaunches.first(other, 1, null, g, null), "another kernel");
        assertTrue(FirstLaunches.first(k, 2, null, new long[] {32, 32}, null), "two dimensions");
        for (int i = 0; i < 2 * FirstLaunches.MAX_SHAPES; i++) {
            FirstLaunches.first(other, 1, null, new long[] {i + 1}, null);
        }
        assertFalse(FirstLaunches.first(other, 1, null, new long[] {100_000}, null), "past the cap: the overrun limit");
    }

    @Test
    void aCompileHasTheCompileLimitThenTheRunTheOverrunLimitRestartedOnceEvenWhenRevoked() {
        try (Arena arena = Arena.ofConfined()) {
            LeaseWords w = new LeaseWords(arena.allocate(LeaseWords.SIZE, 64), 0);
            w.clear();
            long t0 = 1_000_000_000_000L;
            Lease l = new Lease(0, OVERRUN, COMPILE, w, () -> { }, null, t0);
            w.storeCompiling(true);
            w.storeBusySince(t0 + 10);
            assertEquals(t0 + 10, l.busySince(t0 + 100));
            assertEquals(COMPILE, l.limit(), "compiling");
            w.storeCompiling(false); // seen between the worker's two stores: BUSY_SINCE not rewritten yet
            assertEquals(t0 + 10, l.busySince(t0 + 150));
            assertEquals(COMPILE, l.limit(), "COMPILING alone changes nothing");
            w.storeCompiling(true);
            l.revoke(t0 + 200);
            assertEquals(t0 + 10, l.busySince(t0 + 300));
            assertEquals(COMPILE, l.limit(), "still compiling once revoked");
            w.storeBusySince(t0 + 400); // the kernel starts to run: the clock restarts
            w.storeCompiling(false);
            assertEquals(t0 + 400, l.busySince(t0 + 500));
            assertEquals(OVERRUN, l.limit());
            w.storeCompiling(true); // a worker that claims to compile again, and to start again, gets nothing more
            w.storeBusySince(t0 + 600);
            assertEquals(t0 + 400, l.busySince(t0 + 700));
            assertEquals(OVERRUN, l.limit());
            w.storeCompiling(false);
            w.storeBusySince(t0 + 800);
            assertEquals(t0 + 400, l.busySince(t0 + 900));
            assertEquals(OVERRUN, l.limit());
            w.clearBusy(); // idle; the next command is timed on its own
            assertEquals(0, l.busySince(t0 + 1000));
            w.storeBusySince(t0 + 1100);
            assertEquals(t0 + 1100, l.busySince(t0 + 1200));
            assertEquals(OVERRUN, l.limit());
        }
    }

    @Test
    void aSingleGrantHoldsBothStretchesAndStartingTimesTheRestByTheOverrunLimit() {
        DispatchTenant t = new DispatchTenant("a", OVERRUN, COMPILE, false);
        assertEquals(OVERRUN, t.limitFor(io.ferry.host.sched.Hint.NONE));
        assertEquals(OVERRUN + COMPILE, t.limitFor(io.ferry.host.sched.Hint.NONE.compiling(true)));
        t.runningSince = 5;
        t.runningLimit = OVERRUN + COMPILE;
        t.started(77);
        assertEquals(77, t.runningSince);
        assertEquals(OVERRUN, t.runningLimit);
        assertEquals(0, new DispatchTenant("b", 0, COMPILE, false).limitFor(io.ferry.host.sched.Hint.NONE.compiling(true)),
                "no overrun limit: none for a compile either");
    }
}
