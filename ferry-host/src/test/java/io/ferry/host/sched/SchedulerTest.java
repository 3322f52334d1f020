package io.ferry.host.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy, one behaviour per test, on a virtual clock (plain nanos). */
class SchedulerTest {
    static final long MS = 1_000_000;
    static final long CAP = 10 * MS;

    final Scheduler s = new Scheduler(CAP, MS);

    void tenant(long id, SchedClass c) {
        s.addTenant(new TenantSpec(id, "t" + id, c, 1, null));
    }

    Ticket submit(long tenant, long est, long now) {
        return s.submit(tenant, est, Hint.NONE, null, now);
    }

    /** Dispatches everything dispatchable now, completing each before the next, and returns the tenant order. */
    List<Long> drainSerially(long now) {
        List<Long> order = new ArrayList<>();
        for (Ticket t; (t = s.next(now)) != null; ) {
            order.add(t.tenant());
            s.completed(t, t.estimateNanos(), now);
        }
        return order;
    }

    @Test
    void classesRunInStrictOrderRegardlessOfArrival() {
        tenant(1, SchedClass.BEST_EFFORT);
        tenant(2, SchedClass.NORMAL);
        tenant(3, SchedClass.HIGH);
        tenant(4, SchedClass.CRITICAL);
        for (long id = 1; id <= 4; id++) {
            submit(id, MS, id);
        }
        assertEquals(List.of(4L, 3L, 2L, 1L), drainSerially(10));
    }

    @Test
    void criticalWorkQueuedLaterStillGoesBeforeEarlierNormalWork() {
        tenant(1, SchedClass.NORMAL);
        tenant(2, SchedClass.CRITICAL);
        for (int i = 0; i < 5; i++) {
            submit(1, MS, i);
        }
        assertEquals(1L, s.next(5).tenant());
        submit(2, MS, 6);
        assertEquals(2L, s.next(7).tenant());
    }

    @Test
    void aTenantsTicketsRunInSubmissionOrderWhateverTheirHints() {
        tenant(1, SchedClass.NORMAL);
        List<Ticket> submitted = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            submitted.add(s.submit(1, (6 - i) * MS, new Hint(i, 100 - i), i, i));
        }
        for (Ticket expected : submitted) {
            assertSame(expected, s.next(10));
        }
        assertNull(s.next(10));
    }

    @Test
    void criticalTenantOverItsBudgetYieldsToNormalWorkUntilItsPeriodBoundary() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(2 * MS, 10 * MS)));
        tenant(2, SchedClass.NORMAL);
        long now = 0;
        for (int i = 0; i < 10; i++) {
            submit(1, MS, now);
            submit(2, MS, now);
        }
        for (int i = 0; i < 2; i++) {
            Ticket t = s.next(now);
            assertEquals(1L, t.tenant());
            now += MS;
            s.completed(t, MS, now);
        }
        // budget used (2 ms at t = 2 ms): the critical tenant yields
        Ticket t = s.next(now);
        assertEquals(2L, t.tenant());
        assertEquals(10 * MS, s.nextEventAt(now));
        s.completed(t, MS, now + MS);
        assertEquals(2L, s.next(9 * MS).tenant(), "still yielding just before the boundary");
        assertEquals(1L, s.next(10 * MS).tenant(), "priority regained at the period boundary");
    }

    @Test
    void criticalTenantOverItsBudgetYieldsEvenToBestEffortWork() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(MS, 5 * MS)));
        tenant(2, SchedClass.BEST_EFFORT);
        submit(1, MS, 0);
        submit(1, MS, 0);
        submit(2, MS, 0);
        Ticket first = s.next(0);
        assertEquals(1L, first.tenant());
        s.completed(first, MS, MS);
        Ticket second = s.next(MS);
        assertEquals(2L, second.tenant());
        s.completed(second, MS, 2 * MS);
        Ticket third = s.next(2 * MS);
        assertEquals(1L, third.tenant(), "with nothing else waiting, demoted work still runs");
        assertTrue(third.dispatchedDemoted());
        assertTrue(third.capped());
    }

    @Test
    void aTenantWithoutReservationIsNeverDemoted() {
        tenant(1, SchedClass.CRITICAL);
        tenant(2, SchedClass.NORMAL);
        for (int i = 0; i < 50; i++) {
            submit(1, MS, 0);
        }
        submit(2, MS, 0);
        long now = 0;
        for (int i = 0; i < 50; i++) {
            Ticket t = s.next(now);
            assertEquals(1L, t.tenant());
            now += MS;
            s.completed(t, MS, now);
        }
        assertEquals(Long.MAX_VALUE, s.nextEventAt(now));
    }

    @Test
    void budgetIsChargedAtDispatchSoABurstCannotOverdrawIt() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(3 * MS, 10 * MS)));
        tenant(2, SchedClass.NORMAL);
        for (int i = 0; i < 10; i++) {
            submit(1, MS, 0);
        }
        submit(2, MS, 0);
        for (int i = 0; i < 3; i++) {
            assertEquals(1L, s.next(0).tenant());
        }
        assertEquals(0, s.figures(1, 0).budgetLeftNanos());
        assertEquals(2L, s.next(0).tenant());
    }

    @Test
    void completionCorrectsTheBudgetToMeasuredTime() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(4 * MS, 10 * MS)));
        submit(1, 2 * MS, 0);
        Ticket t = s.next(0);
        assertEquals(2 * MS, s.figures(1, 0).budgetLeftNanos());
        s.completed(t, MS / 2, MS);
        assertEquals(3 * MS + MS / 2, s.figures(1, MS).budgetLeftNanos());
        assertEquals(4 * MS, s.figures(1, 10 * MS).budgetLeftNanos(), "full budget again in the next period");
    }

    @Test
    void anOverrunCompletedAfterTheBoundaryIsChargedToTheNewPeriod() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(4 * MS, 10 * MS)));
        submit(1, MS, 0);
        Ticket t = s.next(9 * MS);
        s.completed(t, 3 * MS, 12 * MS);
        assertEquals(2 * MS, s.figures(1, 12 * MS).budgetLeftNanos());
    }

    @Test
    void higherHintPriorityGoesFirstInsideAClass() {
        tenant(1, SchedClass.NORMAL);
        tenant(2, SchedClass.NORMAL);
        tenant(3, SchedClass.NORMAL);
        submit(1, MS, 0);
        s.submit(2, MS, Hint.priority(1), null, 1);
        s.submit(3, MS, Hint.priority(5), null, 2);
        assertEquals(List.of(3L, 2L, 1L), drainSerially(3));
    }

    @Test
    void earlierDeadlineGoesFirstInsideAClass() {
        tenant(1, SchedClass.NORMAL);
        tenant(2, SchedClass.NORMAL);
        tenant(3, SchedClass.NORMAL);
        submit(1, MS, 0);
        s.submit(2, MS, Hint.deadline(50 * MS), null, 1);
        s.submit(3, MS, Hint.deadline(20 * MS), null, 2);
        assertEquals(List.of(3L, 2L, 1L), drainSerially(3));
    }

    @Test
    void hintPriorityOutranksDeadline() {
        tenant(1, SchedClass.NORMAL);
        tenant(2, SchedClass.NORMAL);
        s.submit(1, MS, new Hint(0, 5 * MS), null, 0);
        s.submit(2, MS, new Hint(1, Long.MAX_VALUE), null, 0);
        assertEquals(List.of(2L, 1L), drainSerially(1));
    }

    @Test
    void hintsDoNotReorderAcrossClasses() {
        tenant(1, SchedClass.HIGH);
        tenant(2, SchedClass.NORMAL);
        submit(1, MS, 0);
        s.submit(2, MS, new Hint(100, 1), null, 0);
        assertEquals(List.of(1L, 2L), drainSerially(1));
    }

    @Test
    void bestEffortEstimateInFlightNeverExceedsTheCap() {
        tenant(1, SchedClass.BEST_EFFORT);
        tenant(2, SchedClass.BEST_EFFORT);
        for (int i = 0; i < 10; i++) {
            submit(1, 3 * MS, 0);
            submit(2, 3 * MS, 0);
        }
        List<Ticket> running = new ArrayList<>();
        for (Ticket t; (t = s.next(0)) != null; ) {
            running.add(t);
        }
        assertEquals(3, running.size(), "3 x 3 ms fit in 10 ms, a 4th does not");
        assertEquals(9 * MS, s.cappedInFlightNanos());
        s.completed(running.getFirst(), 3 * MS, 3 * MS);
        assertNotNull(s.next(3 * MS));
        assertNull(s.next(3 * MS));
        assertTrue(s.cappedInFlightNanos() <= CAP);
    }

    @Test
    void anOversizedBestEffortTicketStillRunsAlone() {
        tenant(1, SchedClass.BEST_EFFORT);
        tenant(2, SchedClass.BEST_EFFORT);
        submit(1, MS, 0);
        submit(2, 50 * MS, 0);
        submit(1, MS, 0);
        Ticket small = s.next(0);
        assertEquals(1L, small.tenant());
        assertNull(s.next(0), "the oversized ticket waits for the capped work in flight to drain");
        s.completed(small, MS, MS);
        Ticket big = s.next(MS);
        assertEquals(50 * MS, big.estimateNanos());
        assertNull(s.next(MS), "nothing capped joins it");
        s.completed(big, 50 * MS, 51 * MS);
        assertEquals(1L, s.next(51 * MS).tenant());
    }

    @Test
    void theCapNeverHoldsBackCriticalWork() {
        tenant(1, SchedClass.BEST_EFFORT);
        tenant(2, SchedClass.CRITICAL);
        for (int i = 0; i < 5; i++) {
            submit(1, 5 * MS, 0);
        }
        assertNotNull(s.next(0));
        assertNotNull(s.next(0));
        assertNull(s.next(0));
        submit(2, 20 * MS, 1);
        assertEquals(2L, s.next(1).tenant());
    }

    @Test
    void demotedWorkCountsAgainstTheCap() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(MS, 100 * MS)));
        tenant(2, SchedClass.BEST_EFFORT);
        for (int i = 0; i < 10; i++) {
            submit(1, 4 * MS, 0);
        }
        Ticket within = s.next(0);
        assertFalse(within.capped());
        Ticket d1 = s.next(0);
        Ticket d2 = s.next(0);
        assertTrue(d1.dispatchedDemoted() && d2.dispatchedDemoted());
        assertNull(s.next(0), "8 ms demoted in flight, 4 more would pass the 10 ms cap");
        submit(2, 4 * MS, 0);
        assertNull(s.next(0), "best-effort work shares the same cap");
    }

    @Test
    void removingATenantDropsItsQueuedWork() {
        tenant(1, SchedClass.CRITICAL);
        tenant(2, SchedClass.NORMAL);
        Ticket a = submit(1, MS, 0);
        Ticket b = submit(1, MS, 0);
        submit(2, MS, 0);
        List<Ticket> dropped = s.evict(1);
        assertEquals(List.of(a, b), dropped);
        assertEquals(Ticket.State.DROPPED, a.state());
        assertEquals(2L, s.next(0).tenant());
        assertNull(s.next(0));
        assertFalse(s.hasTenant(1));
        s.removeTenant(1); // unknown now: ignored
    }

    @Test
    void aRemovedTenantsInFlightTicketMayStillCompleteAndReleasesTheCap() {
        tenant(1, SchedClass.BEST_EFFORT);
        submit(1, 8 * MS, 0);
        Ticket t = s.next(0);
        s.removeTenant(1);
        s.completed(t, 8 * MS, 8 * MS);
        assertEquals(0, s.cappedInFlightNanos());
        assertEquals(Ticket.State.COMPLETED, t.state());
    }

    @Test
    void completingATicketTwiceIsRefused() {
        tenant(1, SchedClass.NORMAL);
        submit(1, MS, 0);
        Ticket t = s.next(0);
        s.completed(t, MS, MS);
        assertThrows(IllegalStateException.class, () -> s.completed(t, MS, MS));
    }

    @Test
    void figuresReportDeviceTimeBudgetLeftAndDeadlineMisses() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 2, new Reservation(5 * MS, 10 * MS)));
        tenant(2, SchedClass.NORMAL);
        s.submit(1, MS, Hint.deadline(3 * MS), null, 0);
        s.submit(1, MS, Hint.deadline(3 * MS), null, 0);
        s.submit(1, MS, Hint.deadline(3 * MS), null, 0);
        Ticket a = s.next(0);
        s.completed(a, 2 * MS, 2 * MS);
        Ticket b = s.next(2 * MS);
        s.completed(b, MS, 4 * MS);
        assertFalse(a.deadlineMissed());
        assertTrue(b.deadlineMissed());
        TenantFigures f = s.figures(1, 4 * MS);
        assertEquals(new TenantFigures(1, "rt", SchedClass.CRITICAL, 2, 3 * MS, 2 * MS, 1, 0,
                f.expectedWaitNanos(), 1), f);
        assertEquals(-1, s.figures(2, 4 * MS).budgetLeftNanos());
        assertEquals(List.of(1L, 2L), s.allFigures(4 * MS).stream().map(TenantFigures::tenant).toList());
    }

    @Test
    void expectedWaitCountsWorkInFlightAndQueuedWorkThatGoesFirst() {
        tenant(1, SchedClass.CRITICAL);
        tenant(2, SchedClass.NORMAL);
        tenant(3, SchedClass.NORMAL);
        tenant(4, SchedClass.BEST_EFFORT);
        submit(4, 4 * MS, 0);
        Ticket running = s.next(0);            // 4 ms in flight, 1 ms of it done at t = 1 ms
        submit(1, 2 * MS, 0);                  // critical: ahead of the normal tenants
        submit(2, MS, 0);
        submit(3, 5 * MS, 0);                  // same tier as 2, equal weight: counts up to 2's own share
        submit(4, 4 * MS, 0);                  // lower tier: does not count for 2
        long now = MS;
        // tenant 2: 3 ms left in flight + its own 1 ms + critical 2 ms + min(5, 1 + 1 (its running estimate)) ms
        assertEquals(3 * MS + MS + 2 * MS + 2 * MS, s.figures(2, now).expectedWaitNanos());
        // tenant 1 (critical): only the work in flight
        assertEquals(3 * MS + 2 * MS, s.figures(1, now).expectedWaitNanos());
        assertNotNull(running);
    }

    @Test
    void runningEstimateIsAQuarterWeightedAverageOfCompletedTimes() {
        tenant(1, SchedClass.NORMAL);
        Ticket first = s.submit(1, 0, Hint.NONE, null, 0);
        assertEquals(MS, first.estimateNanos(), "starts at the default estimate");
        s.completed(s.next(0), 5 * MS, 5 * MS);
        assertEquals(2 * MS, s.runningEstimateNanos(1));
        assertEquals(2 * MS, s.submit(1, -1, Hint.NONE, null, 5 * MS).estimateNanos());
        assertEquals(7 * MS, s.submit(1, 7 * MS, Hint.NONE, null, 5 * MS).estimateNanos(), "given estimates win");
    }

    @Test
    void nextEventAtIsTheBoundaryWhereADemotedTenantsBudgetRefills() {
        s.addTenant(new TenantSpec(1, "rt", SchedClass.CRITICAL, 1, new Reservation(MS, 10 * MS)));
        assertEquals(Long.MAX_VALUE, s.nextEventAt(0));
        submit(1, MS, 3 * MS);                 // periods start at the first submit: 3, 13, 23 ms ...
        submit(1, MS, 3 * MS);
        s.completed(s.next(3 * MS), MS, 4 * MS);
        assertEquals(13 * MS, s.nextEventAt(4 * MS));
        assertEquals(Long.MAX_VALUE, s.nextEventAt(14 * MS), "refilled at 13 ms: nothing pending");
    }

    @Test
    void aNewcomerGetsNoCreditForTimeItWasIdle() {
        tenant(1, SchedClass.NORMAL);
        tenant(2, SchedClass.NORMAL);
        long now = 0;
        for (int i = 0; i < 100; i++) {
            submit(1, MS, now);
            Ticket t = s.next(now);
            now += MS;
            s.completed(t, MS, now);
        }
        for (int i = 0; i < 10; i++) {
            submit(1, MS, now);
            submit(2, MS, now);
        }
        List<Long> order = drainSerially(now);
        int lead = 0;
        for (long id : order.subList(0, 18)) {
            lead += id == 2 ? 1 : -1;
            assertTrue(Math.abs(lead) <= 1, "they alternate from the start, no burst for the newcomer: " + order);
        }
    }

    @Test
    void aTenantThatAlwaysHintsDoesNotStarveEitherOfTwoUnhintedPeers() {
        s.addTenant(new TenantSpec(1, "a", SchedClass.NORMAL, 2, null));
        s.addTenant(new TenantSpec(2, "b", SchedClass.NORMAL, 2, null));
        s.addTenant(new TenantSpec(3, "hinted", SchedClass.NORMAL, 1, null));
        long now = 0;
        long[] count = new long[4];
        for (int i = 0; i < 3000; i++) {
            for (long id = 1; id <= 2; id++) {
                if (s.figures(id, now).queued() == 0) {
                    submit(id, MS, now);
                }
            }
            if (i % 2 == 0) {
                s.submit(3, MS, Hint.priority(1), null, now);
            }
            Ticket t = s.next(now);
            count[(int) t.tenant()]++;
            now += MS;
            s.completed(t, MS, now);
        }
        assertEquals(1.0, (double) count[1] / count[2], 0.01, "a and b share what the hinted tenant leaves");
    }

    @Test
    void invalidSpecsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Reservation(11, 10));
        assertThrows(IllegalArgumentException.class, () -> new Reservation(0, 10));
        assertThrows(IllegalArgumentException.class, () -> new TenantSpec(1, "x", SchedClass.HIGH, 0, null));
        tenant(1, SchedClass.HIGH);
        assertThrows(IllegalArgumentException.class, () -> tenant(1, SchedClass.NORMAL));
        assertThrows(IllegalArgumentException.class, () -> submit(9, MS, 0));
    }
}
