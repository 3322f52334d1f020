package io.ferry.host.sched;

import java.util.Arrays;
import java.util.Collection;

/**
 * Release-aware dispatch for {@link Scheduler}: per class, the next protected window of any more critical tenant
 * that declared a {@link Release}, and whether a head of that class may start now.
 *
 * <p>A head may start only if its expected duration (learnt per kernel, {@link KernelDurations}) ends before the
 * next window begins; so the slack before a release is filled with commands short enough only. A head with no
 * learnt duration is taken as too long for any slack. So that no head waits forever (unknown, or longer than every
 * slack), a head held back for one whole period of the release that holds it becomes <i>aged</i>: it may then start
 * at any moment outside a window (at the latest when the next window ends), even if it runs into the following one.
 * One guest's windows cover at most half its period, so there is always a gap; several critical guests' windows may
 * together cover all of it, so where more than one guards a class, a head held for two periods goes anyway.
 *
 * <p>A window closes early once its job is done: when the critical tenant, having completed work inside the
 * window, has had nothing queued or in flight for {@link #JOB_DONE_NANOS}. The budget a guest declares is what its
 * job may need (its worst case); the device is not held idle for the rest of it once the job has finished. The
 * pause between two commands of one job (the guest issues the next within microseconds) is far shorter.
 */
final class ReleaseGuard {
    /** How long a critical tenant must be idle, after work inside its window, for the window to close early. */
    static final long JOB_DONE_NANOS = 1_000_000;

    /** False on a device that preempts lower classes itself: releases are recorded there but hold nothing. */
    private final boolean enabled;
    private final long[] start = new long[SchedClass.values().length];
    private final long[] end = new long[start.length];
    private final long[] period = new long[start.length];
    /** How many tenants' releases guard each class. */
    private final int[] guards = new int[start.length];
    private boolean any;

    ReleaseGuard(boolean enabled) {
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    /** Recomputes the windows for {@code now}. */
    void update(Collection<TenantState> tenants, long now) {
        Arrays.fill(start, Long.MAX_VALUE);
        Arrays.fill(end, Long.MAX_VALUE);
        Arrays.fill(period, Long.MAX_VALUE);
        Arrays.fill(guards, 0);
        any = false;
        if (!enabled) {
            return;
        }
        for (TenantState t : tenants) {
            Release r = t.release;
            if (r == null) {
                continue;
            }
            any = true;
            long s = r.windowStart(now);
            long e = s + r.windowNanos();
            if (s <= now && t.queue.isEmpty() && t.inFlight == 0 && t.lastCompletedAt >= s) {
                long done = t.lastCompletedAt + JOB_DONE_NANOS; // this release's job is done, or ends a while later
                if (now >= done) {
                    s += r.periodNanos();
                    e = s + r.windowNanos();
                } else {
                    e = Math.min(e, done);
                }
            }
            for (int c = t.spec.schedClass().ordinal() + 1; c < start.length; c++) {
                if (s < start[c]) {
                    start[c] = s;
                }
                end[c] = Math.min(end[c], e);
                period[c] = Math.min(period[c], r.periodNanos());
                guards[c]++;
            }
        }
    }

    /**
     * Whether {@code head} (of tenant {@code t}, expected to take {@code expectedNanos}, -1 if unknown) must wait.
     * Marks when it was first held back, for ageing.
     */
    boolean holds(TenantState t, Ticket head, long expectedNanos, long now) {
        int c = t.spec.schedClass().ordinal();
        if (!any || start[c] == Long.MAX_VALUE) {
            return false;
        }
        long waited = head.heldSince == Long.MIN_VALUE ? 0 : now - head.heldSince;
        if (guards[c] > 1 && waited >= 2 * period[c]) {
            return false; // several guests' windows may cover the whole period: after two periods it goes anyway
        }
        boolean aged = waited >= period[c];
        boolean held = aged ? now >= start[c]
                : expectedNanos < 0 || now + expectedNanos > start[c];
        if (held && head.heldSince == Long.MIN_VALUE) {
            head.heldSince = now;
        }
        return held;
    }

    /** When a head held back now may be let go: its window's end, or its ageing if that comes first. */
    long wakeAt(TenantState t, Ticket head, long now) {
        int c = t.spec.schedClass().ordinal();
        if (!any || start[c] == Long.MAX_VALUE || head.heldSince == Long.MIN_VALUE) {
            return Long.MAX_VALUE;
        }
        long ages = head.heldSince + period[c];
        if (ages > now) {
            return Math.min(end[c], ages);
        }
        return guards[c] > 1 ? Math.min(end[c], Math.max(head.heldSince + 2 * period[c], now + 1)) : end[c];
    }
}
