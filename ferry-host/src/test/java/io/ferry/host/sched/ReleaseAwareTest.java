package io.ferry.host.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Release-aware dispatch and the learnt kernel durations, on a virtual clock (plain nanos). */
class ReleaseAwareTest {
    static final long MS = 1_000_000;
    static final long PERIOD = 16 * MS;
    static final long BUDGET = 3 * MS;
    static final long CRIT = 1;

    final Scheduler s = new Scheduler(100 * MS, MS);

    void tenant(long id, SchedClass c) {
        s.addTenant(new TenantSpec(id, "t" + id, c, 1, null));
    }

    /** Teaches the scheduler that tenant's kernel {@code key} takes {@code nanos}, with nothing declared yet. */
    void learn(long tenant, long key, long nanos) {
        for (int i = 0; i < 30; i++) {
            s.submit(tenant, 0, Hint.NONE.withKernelKey(key), null, 0);
            Ticket t = s.next(0);
            s.completed(t, nanos, 0);
        }
    }

    Ticket submit(long tenant, long key, long now) {
        return s.submit(tenant, 0, Hint.NONE.withKernelKey(key), null, now);
    }

    @Test
    void aBestEffortKernelThatWouldRunIntoTheReleaseWaitsWhileAShortOneFillsTheSlack() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.BEST_EFFORT);
        tenant(3, SchedClass.BEST_EFFORT);
        learn(2, 7, 8 * MS);
        learn(3, 9, MS);
        long now = 100 * MS;
        s.declareRelease(CRIT, PERIOD, 5 * MS, BUDGET, now); // next release at now + 5 ms
        Ticket longOne = submit(2, 7, now);
        Ticket shortOne = submit(3, 9, now);
        Ticket first = s.next(now);
        assertEquals(shortOne, first, "only the 1 ms kernel fits the 5 ms before the release");
        assertNull(s.next(now), "the 8 ms kernel would run into the release");
        s.completed(first, MS, now + MS);
        // After the release's window [now + 5, now + 8) the long kernel fits the slack up to the next release.
        assertEquals(now + 8 * MS, s.nextEventAt(now + MS), "the held kernel is woken when the window ends");
        assertNull(s.next(now + 7 * MS), "nothing starts inside the window");
        assertEquals(longOne, s.next(now + 8 * MS));
    }

    @Test
    void aWindowClosesOnceTheCriticalJobIsDoneAndStaysOpenWhileItRuns() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.BEST_EFFORT);
        learn(2, 7, 10 * MS);
        long r = 100 * MS;
        s.declareRelease(CRIT, PERIOD, r - 90 * MS, 6 * MS, 90 * MS); // releases at 100, 116, ... ms; 6 ms windows
        Ticket be = submit(2, 7, r);
        Ticket c1 = submit(CRIT, 0, r);
        assertEquals(c1, s.next(r));
        assertNull(s.next(r), "the 10 ms kernel waits while the job runs");
        s.completed(c1, MS / 2, r + MS);
        assertNull(s.next(r + MS + 10_000), "a pause between two commands of the job does not close the window");
        Ticket c2 = submit(CRIT, 0, r + MS + 50_000); // the job's next command, 50 µs later
        assertEquals(c2, s.next(r + MS + 50_000));
        assertNull(s.next(r + 2 * MS), "still in flight");
        s.completed(c2, MS / 2, r + 2 * MS);
        assertNull(s.next(r + 2 * MS + ReleaseGuard.JOB_DONE_NANOS - 1), "not yet idle for long enough");
        assertEquals(r + 2 * MS + ReleaseGuard.JOB_DONE_NANOS, s.nextEventAt(r + 2 * MS + 1),
                "the held kernel is woken when the job counts as done");
        assertEquals(be, s.next(r + 2 * MS + ReleaseGuard.JOB_DONE_NANOS),
                "3 ms after the release the job is done: the 10 ms kernel fits before the next release at 16 ms");
    }

    @Test
    void onADeviceThatPreemptsItselfReleasesAreRecordedButHoldNothing() {
        Scheduler cpu = new Scheduler(100 * MS, MS, false);
        cpu.addTenant(new TenantSpec(CRIT, "crit", SchedClass.CRITICAL, 1, null));
        cpu.addTenant(new TenantSpec(2, "be", SchedClass.BEST_EFFORT, 1, null));
        cpu.declareRelease(CRIT, PERIOD, MS, BUDGET, 0);
        assertNotNull(cpu.release(CRIT), "the declaration is kept (status shows it)");
        Ticket unknown = cpu.submit(2, 0, Hint.NONE.withKernelKey(42), null, 0);
        assertEquals(unknown, cpu.next(0), "an unknown best-effort command starts at once, before the release");
        assertTrue(!cpu.guarded(2), "and leases are not withheld");
    }

    @Test
    void aJobThatNeverRanKeepsItsWholeWindow() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.BEST_EFFORT);
        learn(2, 9, MS / 2);
        learn(CRIT, 0, MS / 2); // completions before the window: they do not close it
        long r = 100 * MS;
        s.declareRelease(CRIT, PERIOD, r - 90 * MS, 6 * MS, 90 * MS);
        submit(2, 9, r + 2 * MS);
        assertNull(s.next(r + 2 * MS), "the critical guest is late: its window stays open");
        assertNotNull(s.next(r + 6 * MS), "and ends when declared");
    }

    @Test
    void criticalWorkIsNeverHeldAndHigherClassesThanBestEffortAreHeldToo() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.HIGH);
        learn(2, 7, 8 * MS);
        s.declareRelease(CRIT, PERIOD, 2 * MS, BUDGET, 0);
        Ticket high = submit(2, 7, 0);
        Ticket crit = submit(CRIT, 0, 0);
        assertEquals(crit, s.next(0));
        assertNull(s.next(0), "HIGH is below CRITICAL: its 8 ms kernel waits for the release");
        assertEquals(high, s.next(5 * MS));
    }

    @Test
    void aCommandWithNoLearntDurationWaitsButAgesAndNeverStartsInsideAWindow() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.BEST_EFFORT);
        s.declareRelease(CRIT, PERIOD, 4 * MS, BUDGET, 0);
        Ticket unknown = submit(2, 42, 0);
        Ticket got = null;
        long now = 0;
        for (; now < 3 * PERIOD && got == null; now += 100_000) {
            got = s.next(now);
        }
        assertNotNull(got, "an unknown command must not starve");
        assertEquals(unknown, got);
        long at = now - 100_000;
        assertTrue(at >= PERIOD, "it waited (it was taken as too long for any slack), started at " + at);
        assertTrue(at <= 2 * PERIOD + 4 * MS + BUDGET, "at most one period plus a window after ageing: " + at);
        long sinceRelease = Math.floorMod(at - 4 * MS, PERIOD);
        assertTrue(sinceRelease >= BUDGET, "it did not start inside a window: " + sinceRelease + " ns after release");
        s.completed(got, 2 * MS, at + 2 * MS);
        assertTrue(s.expectedNanos(2, 42) >= 2 * MS, "and its duration is now learnt");
    }

    @Test
    void nothingStarvesAndNothingStartsInAWindowUnderRandomLoad() {
        Random rnd = new Random(17);
        tenant(CRIT, SchedClass.CRITICAL);
        for (long id = 2; id <= 5; id++) {
            tenant(id, SchedClass.BEST_EFFORT);
        }
        s.declareRelease(CRIT, PERIOD, 0, BUDGET, 0);
        long[] durations = {MS / 2, 2 * MS, 6 * MS, 14 * MS}; // the last fits no slack (13 ms)
        Ticket running = null;
        long runningEnd = 0;
        long[] lastStart = new long[6];
        for (long now = 0; now < 400 * PERIOD; now += 250_000) {
            if (running != null && now >= runningEnd) {
                s.completed(running, durations[(int) running.hint().kernelKey() - 1], now);
                running = null;
            }
            for (long id = 2; id <= 5; id++) {
                if (rnd.nextInt(4) == 0) {
                    submit(id, 1 + rnd.nextInt(durations.length), now);
                }
            }
            if (running == null && (running = s.next(now)) != null) {
                long sinceRelease = Math.floorMod(now, PERIOD);
                assertTrue(sinceRelease >= BUDGET, "started inside a window at " + now);
                long expected = s.expectedNanos(running.tenant(), running.hint().kernelKey());
                boolean aged = running.dispatchedAt() - running.submittedAt() >= PERIOD;
                if (!aged && expected > 0) {
                    assertTrue(sinceRelease + expected <= PERIOD, "a fresh command ran into the release at " + now);
                }
                runningEnd = now + durations[(int) running.hint().kernelKey() - 1];
                lastStart[(int) running.tenant()] = now;
            }
        }
        for (int id = 2; id <= 5; id++) {
            assertTrue(lastStart[id] > 390 * PERIOD, "tenant " + id + " last ran at " + lastStart[id]);
        }
    }

    @Test
    void windowsOfSeveralCriticalGuestsThatCoverThePeriodStillLetWorkThroughAfterTwoPeriods() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.CRITICAL);
        tenant(3, SchedClass.BEST_EFFORT);
        learn(3, 5, MS);
        s.declareRelease(CRIT, PERIOD, 0, PERIOD / 2, 0);
        s.declareRelease(2, PERIOD, PERIOD / 2, PERIOD / 2, 0);
        Ticket be = submit(3, 5, 0);
        assertNull(s.next(0), "every moment is inside a window");
        assertTrue(s.nextEventAt(0) <= PERIOD, "woken again within a period, not left asleep");
        assertNull(s.next(2 * PERIOD - 1));
        assertEquals(be, s.next(2 * PERIOD), "held for two periods, it goes anyway");
    }

    @Test
    void onlyTenantsBelowADeclaringClassAreGuarded() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.BEST_EFFORT);
        tenant(3, SchedClass.CRITICAL);
        assertTrue(!s.guarded(2), "nothing declared yet");
        s.declareRelease(CRIT, PERIOD, 0, BUDGET, 0);
        assertTrue(s.guarded(2), "best-effort work is held before releases (so it must not lease the device)");
        assertTrue(!s.guarded(3) && !s.guarded(CRIT), "the critical class itself is not");
    }

    @Test
    void declarationsAreValidatedAndCanBeWithdrawn() {
        tenant(CRIT, SchedClass.CRITICAL);
        tenant(2, SchedClass.HIGH);
        s.addTenant(new TenantSpec(3, "reserved", SchedClass.CRITICAL, 1, new Reservation(2 * MS, PERIOD)));
        assertRefused(2, PERIOD, 0, BUDGET, "only a CRITICAL guest");
        assertRefused(CRIT, 10, 0, 1, "release period 10 ns must be in");
        assertRefused(CRIT, Long.MAX_VALUE, 0, 1, "release period");
        assertRefused(CRIT, -PERIOD, 0, 1, "release period");
        assertRefused(CRIT, PERIOD, PERIOD, BUDGET, "release offset");
        assertRefused(CRIT, PERIOD, -1, BUDGET, "release offset");
        assertRefused(CRIT, PERIOD, 0, 0, "release budget 0 ns");
        assertRefused(CRIT, PERIOD, 0, PERIOD / 2 + 1, "at most half the period");
        assertRefused(3, PERIOD, 0, BUDGET, "exceeds the guest's reservation budget");
        assertNull(s.release(CRIT), "nothing refused was kept");
        s.declareRelease(CRIT, PERIOD, MS, BUDGET, 5 * MS);
        assertEquals(new Release(PERIOD, 6 * MS, BUDGET), s.release(CRIT));
        s.declareRelease(CRIT, 0, 0, 0, 7 * MS);
        assertNull(s.release(CRIT));
    }

    void assertRefused(long tenant, long period, long offset, long budget, String why) {
        var e = assertThrows(IllegalArgumentException.class, () -> s.declareRelease(tenant, period, offset, budget, 0));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void learntDurationsAreCautiousFirstThenFollowTheMeasurementsAndTheWorstRecentOutlier() {
        KernelDurations d = new KernelDurations(3);
        assertEquals(-1, d.expectedNanos(1, 5));
        d.record(1, 5, 10 * MS);
        assertEquals(30 * MS, d.expectedNanos(1, 5), "one sample: three times it");
        for (int i = 0; i < 40; i++) {
            d.record(1, 5, 10 * MS);
        }
        long settled = d.expectedNanos(1, 5);
        assertTrue(settled >= 10 * MS && settled < 10 * MS + MS / 10, "settles on the measurement: " + settled);
        d.record(1, 5, 20 * MS);
        assertTrue(d.expectedNanos(1, 5) > 20 * MS, "an outlier raises it past itself: " + d.expectedNanos(1, 5));
        assertEquals(-1, d.expectedNanos(2, 5), "per tenant");
        d.record(1, 0, MS);
        assertEquals(-1, d.expectedNanos(1, 0), "key 0 is not learnt");
    }

    @Test
    void theTableIsBoundedAndDropsTheLeastRecentlyUsedAndALeavingTenant() {
        KernelDurations d = new KernelDurations(3);
        d.record(1, 1, MS);
        d.record(1, 2, MS);
        d.record(1, 3, MS);
        d.expectedNanos(1, 1); // used: 2 is now the eldest
        d.record(2, 4, MS);
        assertEquals(3, d.size());
        assertEquals(-1, d.expectedNanos(1, 2));
        assertTrue(d.expectedNanos(1, 1) > 0);
        for (long k = 10; k < 10_000; k++) {
            d.record(9, k, MS);
        }
        assertEquals(3, d.size(), "a guest inventing keys cannot grow it");
        d.forget(9);
        assertEquals(0, d.size());
    }
}
