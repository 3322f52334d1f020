package io.ferry.host.sched;

import java.util.ArrayDeque;

/** The scheduler's per-tenant state: its FIFO of tickets, SFQ finish tag, budget and counters. */
final class TenantState {
    final TenantSpec spec;
    final ArrayDeque<Ticket> queue = new ArrayDeque<>();
    long queuedEstimateNanos;
    int inFlight;
    /** EWMA (alpha 1/4) of completed device times. */
    long estimateNanos;
    /** F_prev: finish tag of its last dispatched ticket, corrected by measured device time. */
    double finishTag;

    private boolean periodsStarted;
    /** Start of the current period (valid once periods started). */
    long periodStart;
    /** Budget used in the current period; may exceed the budget (overdraft of the last ticket dispatched). */
    private long used;

    long deviceNanos;
    long deadlineMisses;
    /** Its declared release schedule, or null (only CRITICAL tenants declare one). */
    Release release;
    /** When its last ticket completed (scheduler clock), for a release window that closes once the job is done. */
    long lastCompletedAt = Long.MIN_VALUE;

    TenantState(TenantSpec spec, long defaultEstimateNanos) {
        this.spec = spec;
        this.estimateNanos = defaultEstimateNanos;
    }

    void enqueue(Ticket t, long now) {
        if (!periodsStarted) {
            periodsStarted = true;
            periodStart = now;
        }
        queue.addLast(t);
        queuedEstimateNanos += t.estimateNanos();
    }

    Ticket dequeue() {
        Ticket t = queue.pollFirst();
        queuedEstimateNanos -= t.estimateNanos();
        return t;
    }

    /** Advances to the period holding {@code now}, refilling the budget if a boundary was crossed. */
    void roll(long now) {
        Reservation r = spec.reservation();
        if (r == null || !periodsStarted || now - periodStart < r.periodNanos()) {
            return;
        }
        periodStart += (now - periodStart) / r.periodNanos() * r.periodNanos();
        used = 0;
    }

    boolean demoted(long now) {
        roll(now);
        Reservation r = spec.reservation();
        return r != null && used >= r.budgetNanos();
    }

    long budgetLeft(long now) {
        roll(now);
        Reservation r = spec.reservation();
        return r == null ? -1 : Math.max(0, r.budgetNanos() - used);
    }

    /** End of the current period, where the budget refills (only meaningful with a reservation). */
    long periodEnd() {
        return periodStart + spec.reservation().periodNanos();
    }

    /** Charges the estimate at dispatch, to the current period (call {@link #roll} first). */
    void chargeAtDispatch(Ticket t) {
        if (spec.reservation() == null) {
            return;
        }
        t.chargedNanos = t.estimateNanos();
        t.chargedPeriodStart = periodStart;
        used += t.chargedNanos;
    }

    /**
     * Replaces the estimate charged at dispatch by the measured time. Charged in the same period: the difference,
     * either way. Dispatched in an earlier period: only an overrun is charged to this one (the earlier period's
     * budget is gone, so a shortfall there refunds nothing).
     */
    void correctAtCompletion(Ticket t, long actualNanos, long now) {
        if (spec.reservation() == null) {
            return;
        }
        roll(now);
        long diff = actualNanos - t.chargedNanos;
        if (t.chargedPeriodStart == periodStart) {
            used = Math.max(0, used + diff);
        } else if (diff > 0) {
            used += diff;
        }
    }
}
