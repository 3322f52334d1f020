package io.ferry.host.sched;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * The policy of one device's scheduler: which waiting command goes to the device next. Pure: no threads, no clock,
 * no I/O. The caller passes the time ({@code now}, nanoseconds on one monotonic clock) and holds a lock around
 * every call; the class is <b>not thread-safe</b>. Deterministic: the same calls give the same answers.
 *
 * <h2>Shape</h2>
 * Each tenant (a guest on this device) has a FIFO of {@link Ticket}s. A guest's commands must run in the order it
 * issued them, so only the <b>head</b> of each tenant's FIFO competes. {@link #next} picks the best head by a total
 * order and hands it out (removed from the queue, counted in flight); the caller puts it on the device and reports
 * its measured device time to {@link #completed}. The caller decides how many tickets to keep in flight; the
 * scheduler only limits capped work (below). A pick scans all tenants: O(tenants), and a device has tens.
 *
 * <h2>The order, most significant first</h2>
 * <ol>
 * <li><b>Tier.</b> Strict priority by class, CRITICAL &gt; HIGH &gt; NORMAL &gt; BEST_EFFORT, bounded by
 *     reservations: a tenant with a {@link Reservation} whose budget for the current period is used up is
 *     <i>demoted</i> below every class (tiers 4..7, still by class among the demoted) until its next period
 *     boundary, where the budget refills to the full amount with no carry-over. Periods are aligned to the tenant's
 *     first submit. Tenants without a reservation are never demoted. Demotion keeps the device busy (work
 *     conserving) but lets any non-demoted work go first, so a critical tenant cannot starve others by more than
 *     its budget per period.</li>
 * <li><b>Hint</b> priority, higher first; then hint deadline, earlier first. Hints reorder work only inside a tier
 *     (a hinted NORMAL command never passes an unhinted HIGH one).</li>
 * <li><b>Start-time fair queueing</b> (SFQ, Goyal et al.) inside the class, by weight. The head of tenant i gets
 *     start tag {@code S = max(V_class, F_i)} and finish tag {@code F = S + estimate / weight_i}; the smallest S
 *     wins, ties by smaller F, then smaller tenant id. Dispatching sets {@code F_i = F}. Tags are given when a ticket
 *     reaches the head (only heads compete), so a correction from a completion (below) applies to the tenant's
 *     later tickets. At completion {@code F_i += (actual - estimate) / weight_i}: weights are honoured in
 *     measured device time even when estimates are wrong. Virtual time: on a dispatch,
 *     {@code V_class = max(V_class, min S over the heads of that class in the same tier)}. That is SFQ's "start
 *     tag of the last dispatched ticket" whenever dispatch follows tag order; hints and demotion dispatch out of
 *     tag order, and following such a ticket's tag would drag V past waiting tenants and erase their lag (one of
 *     them could then starve). A tenant that was idle enters at V: no credit for idle time. Service received while
 *     demoted advances F_i too: it is device time the tenant got.</li>
 * <li>Tenant id (only reached on exact ties).</li>
 * </ol>
 *
 * <h2>The in-flight cap</h2>
 * Ferry does not preempt work already on the device. To bound how long an arriving critical command waits behind
 * best-effort work, BEST_EFFORT tickets and demoted tickets are <i>capped</i>: one may be dispatched only if no
 * capped ticket is in flight, or the sum of the estimates of capped tickets in flight plus its own fits in
 * {@code bestEffortCapNanos}. An oversized ticket therefore still runs, alone. If the best head is capped and does
 * not fit, {@code next} returns null rather than a smaller capped ticket further down the order: filling the cap
 * with small tickets would starve a large one, and nothing uncapped can be waiting (uncapped tiers rank first).
 * HIGH and NORMAL work is not capped; what of it the caller keeps in flight adds to a critical command's wait.
 *
 * <h2>Release-aware dispatch</h2>
 * A CRITICAL tenant may declare its releases ({@link #declareRelease}: period, time to the next release, budget).
 * Then no head of a lower class starts if its expected duration, learnt per tenant and kernel key
 * ({@link KernelDurations}, key from {@link Hint#kernelKey()}), would run into the window {@code [r, r + budget)}
 * of a release r; heads that fit the slack before it still go (the best of them by the order above). A head with no
 * learnt duration counts as too long; a head held back for a whole period is aged and then waits only while a
 * window is open ({@link ReleaseGuard}), so nothing starves. The device can thus idle before a release: that is
 * the price of not being in the way when the critical job arrives, since nothing on the device is preempted.
 *
 * <h2>Budgets</h2>
 * The estimate is charged to the budget at dispatch (so a burst of dispatches cannot overdraw the period by more
 * than the last ticket) and corrected to the measured time at completion: in the same period by the difference;
 * if the period has turned meanwhile, only an overrun is charged to the new one. A tenant is demoted once
 * {@code used >= budget}; the last ticket it dispatched may overdraw; the overdraft is not carried into the next
 * period. Budgets refill only at period boundaries, which {@link #nextEventAt} reports.
 *
 * <h2>Estimates and figures</h2>
 * A ticket submitted with estimate {@code <= 0} takes its tenant's running estimate: an EWMA (alpha 1/4) of its
 * completed device times, starting at {@code defaultEstimateNanos}. A ticket completed after its hint deadline
 * counts a deadline miss. {@link TenantFigures#expectedWaitNanos()} models the device as draining its work one
 * command at a time: the remaining estimates of everything in flight (estimate minus time since dispatch, at least
 * 0; nothing on the device can be passed), plus the tenant's own queue, plus all queued work of better tiers, plus
 * for each other tenant in the same tier its queued work up to its weighted share while the tenant's own queue and
 * a new ticket are served ({@code min(queued_j, (own + estimate) * w_j / w_i)}). It ignores hints and future
 * arrivals: a figure for guests to plan with, not a bound.
 */
public final class Scheduler {
    private static final int CLASSES = SchedClass.values().length;
    private static final int TIERS = 2 * CLASSES;
    private static final int FIRST_CAPPED_TIER = SchedClass.BEST_EFFORT.ordinal();

    /** Most (tenant, kernel) durations remembered per device. */
    public static final int KERNEL_TABLE_CAPACITY = 4096;

    private final long bestEffortCapNanos;
    private final long defaultEstimateNanos;
    private final KernelDurations durations = new KernelDurations(KERNEL_TABLE_CAPACITY);
    private final ReleaseGuard guard;
    private final TreeMap<Long, TenantState> tenants = new TreeMap<>();
    private final Set<Ticket> inFlight = new HashSet<>();
    /** V per class. */
    private final double[] virtualTime = new double[CLASSES];
    /** Scratch for {@link #next}: smallest start tag per tier. */
    private final double[] minStart = new double[TIERS];
    private long cappedInFlightNanos;
    private int cappedInFlight;
    private long nextTicketId = 1;

    /**
     * @param bestEffortCapNanos   most estimated device time of capped (best-effort and demoted) work in flight
     * @param defaultEstimateNanos a new tenant's running estimate, used until its first completion
     */
    public Scheduler(long bestEffortCapNanos, long defaultEstimateNanos) {
        this(bestEffortCapNanos, defaultEstimateNanos, true);
    }

    /**
     * @param holdForReleases whether declared releases hold lower classes back (release-aware dispatch); false on
     *                        a device that preempts lower classes itself, where releases are only recorded
     */
    public Scheduler(long bestEffortCapNanos, long defaultEstimateNanos, boolean holdForReleases) {
        if (bestEffortCapNanos <= 0 || defaultEstimateNanos <= 0) {
            throw new IllegalArgumentException("best-effort cap and default estimate must be > 0 ns, got "
                    + bestEffortCapNanos + " and " + defaultEstimateNanos);
        }
        this.bestEffortCapNanos = bestEffortCapNanos;
        this.defaultEstimateNanos = defaultEstimateNanos;
        this.guard = new ReleaseGuard(holdForReleases);
    }

    public void addTenant(TenantSpec spec) {
        if (tenants.containsKey(spec.id())) {
            throw new IllegalArgumentException("tenant " + spec.id() + " (" + spec.name() + ") is already added");
        }
        tenants.put(spec.id(), new TenantState(spec, defaultEstimateNanos));
    }

    public boolean hasTenant(long id) {
        return tenants.containsKey(id);
    }

    /** Removes the tenant and drops its queued tickets; unknown ids are ignored. See {@link #evict}. */
    public void removeTenant(long id) {
        evict(id);
    }

    /**
     * Removes the tenant and returns its queued tickets, now {@link Ticket.State#DROPPED}, in order (so the caller
     * can fail their commands). Its tickets in flight may still be {@link #completed}: that releases the cap and
     * counts nothing for anyone. Unknown ids give an empty list.
     */
    public List<Ticket> evict(long id) {
        TenantState t = tenants.remove(id);
        if (t == null) {
            return List.of();
        }
        List<Ticket> dropped = new ArrayList<>(t.queue);
        for (Ticket k : dropped) {
            k.state = Ticket.State.DROPPED;
        }
        t.queue.clear();
        t.queuedEstimateNanos = 0;
        durations.forget(id);
        return dropped;
    }

    /**
     * Declares (or with {@code periodNanos == 0} withdraws) a CRITICAL tenant's releases: one every
     * {@code periodNanos}, the next {@code offsetNanos} from {@code now}, each needing the device for
     * {@code budgetNanos}. The values come from a guest: each is checked ({@link Release#refusal}).
     *
     * @throws IllegalArgumentException naming what is wrong, for a refused declaration or an unknown tenant
     */
    public void declareRelease(long tenant, long periodNanos, long offsetNanos, long budgetNanos, long now) {
        TenantState t = require(tenant);
        if (periodNanos == 0 && offsetNanos == 0 && budgetNanos == 0) {
            t.release = null;
            return;
        }
        String why = Release.refusal(periodNanos, offsetNanos, budgetNanos, t.spec);
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        t.release = new Release(periodNanos, now + offsetNanos, budgetNanos);
    }

    /** Whether a tenant of a more critical class than this one declared releases (its heads may be held back). */
    public boolean guarded(long tenant) {
        int c = require(tenant).spec.schedClass().ordinal();
        if (!guard.enabled()) {
            return false;
        }
        for (TenantState t : tenants.values()) {
            if (t.release != null && t.spec.schedClass().ordinal() < c) {
                return true;
            }
        }
        return false;
    }

    /** The tenant's declared releases, or null. */
    public Release release(long tenant) {
        return require(tenant).release;
    }

    /** The learnt duration of the tenant's commands of {@code kernelKey}, ns; -1 while unknown. */
    public long expectedNanos(long tenant, long kernelKey) {
        return durations.expectedNanos(tenant, kernelKey);
    }

    /**
     * Queues a command behind the tenant's earlier ones.
     *
     * @param estimateNanos its expected device time; {@code <= 0} takes the tenant's running estimate
     * @param hint          {@code null} means {@link Hint#NONE}
     * @param payload       opaque, returned by {@link Ticket#payload()}
     * @throws IllegalArgumentException for an unknown tenant
     */
    public Ticket submit(long tenant, long estimateNanos, Hint hint, Object payload, long now) {
        TenantState t = require(tenant);
        Ticket k = new Ticket(t, nextTicketId++, estimateNanos > 0 ? estimateNanos : t.estimateNanos,
                hint == null ? Hint.NONE : hint, now, payload);
        t.enqueue(k, now);
        return k;
    }

    /** The ticket to put on the device now, removed from its queue and counted in flight; or null. */
    public Ticket next(long now) {
        Arrays.fill(minStart, Double.POSITIVE_INFINITY);
        TenantState best = null;
        int bestTier = 0;
        double bestS = 0;
        double bestF = 0;
        guard.update(tenants.values(), now);
        for (TenantState t : tenants.values()) {
            Ticket head = t.queue.peekFirst();
            if (head == null || guard.holds(t, head, durations.expectedNanos(t.spec.id(), head.hint().kernelKey()),
                    now)) {
                continue;
            }
            int c = t.spec.schedClass().ordinal();
            int tier = t.demoted(now) ? CLASSES + c : c;
            double s = Math.max(virtualTime[c], t.finishTag);
            double f = s + (double) head.estimateNanos() / t.spec.weight();
            minStart[tier] = Math.min(minStart[tier], s);
            if (best == null || precedes(tier, head, s, f, bestTier, best.queue.peekFirst(), bestS, bestF)) {
                best = t;
                bestTier = tier;
                bestS = s;
                bestF = f;
            }
        }
        if (best == null) {
            return null;
        }
        Ticket head = best.queue.peekFirst();
        boolean capped = bestTier >= FIRST_CAPPED_TIER;
        if (capped && cappedInFlight > 0 && cappedInFlightNanos + head.estimateNanos() > bestEffortCapNanos) {
            return null;
        }
        best.dequeue();
        best.inFlight++;
        best.finishTag = bestF;
        best.chargeAtDispatch(head);
        int c = best.spec.schedClass().ordinal();
        virtualTime[c] = Math.max(virtualTime[c], minStart[bestTier]);
        head.state = Ticket.State.IN_FLIGHT;
        head.dispatchedAt = now;
        head.demoted = bestTier >= CLASSES;
        head.capped = capped;
        head.startTag = bestS;
        head.finishTag = bestF;
        if (capped) {
            cappedInFlight++;
            cappedInFlightNanos += head.estimateNanos();
        }
        inFlight.add(head);
        return head;
    }

    private static boolean precedes(int tier, Ticket a, double sa, double fa,
                                    int bestTier, Ticket b, double sb, double fb) {
        if (tier != bestTier) {
            return tier < bestTier;
        }
        if (a.hint().priority() != b.hint().priority()) {
            return a.hint().priority() > b.hint().priority();
        }
        if (a.hint().deadlineNanos() != b.hint().deadlineNanos()) {
            return a.hint().deadlineNanos() < b.hint().deadlineNanos();
        }
        if (sa != sb) {
            return sa < sb;
        }
        if (fa != fb) {
            return fa < fb;
        }
        return a.tenant() < b.tenant();
    }

    /**
     * Reports a dispatched ticket done after {@code deviceNanos} of device time: releases the cap, and (unless its
     * tenant was removed) updates device time, running estimate, fairness tag, budget and deadline misses.
     *
     * @throws IllegalStateException if the ticket is not in flight
     */
    public void completed(Ticket t, long deviceNanos, long now) {
        if (t.state != Ticket.State.IN_FLIGHT) {
            throw new IllegalStateException(t + " is not in flight");
        }
        if (deviceNanos < 0) {
            throw new IllegalArgumentException("device time must be >= 0 ns, got " + deviceNanos);
        }
        if (tenants.get(t.tenant()) == t.owner) {
            durations.record(t.tenant(), t.hint().kernelKey(), deviceNanos);
        }
        t.state = Ticket.State.COMPLETED;
        t.completedAt = now;
        t.deviceNanos = deviceNanos;
        t.deadlineMissed = now > t.hint().deadlineNanos();
        inFlight.remove(t);
        if (t.capped) {
            cappedInFlight--;
            cappedInFlightNanos -= t.estimateNanos();
        }
        TenantState s = t.owner;
        if (tenants.get(s.spec.id()) != s) {
            return;
        }
        s.inFlight--;
        s.lastCompletedAt = now;
        s.deviceNanos += deviceNanos;
        s.estimateNanos = Math.max(1, s.estimateNanos + (deviceNanos - s.estimateNanos) / 4);
        s.finishTag += (double) (deviceNanos - t.estimateNanos()) / s.spec.weight();
        s.correctAtCompletion(t, deviceNanos, now);
        if (t.deadlineMissed) {
            s.deadlineMisses++;
        }
    }

    /**
     * When {@link #next} may give something new without a submit or completion: the earliest period boundary of a
     * demoted tenant with queued work, or the moment a head held back before a critical release may go (its
     * window's end, or its ageing); {@link Long#MAX_VALUE} if none.
     */
    public long nextEventAt(long now) {
        long at = Long.MAX_VALUE;
        guard.update(tenants.values(), now);
        for (TenantState t : tenants.values()) {
            Ticket head = t.queue.peekFirst();
            if (head != null && t.demoted(now)) {
                at = Math.min(at, t.periodEnd());
            }
            if (head != null) {
                at = Math.min(at, guard.wakeAt(t, head, now));
            }
        }
        return at;
    }

    /** @throws IllegalArgumentException for an unknown tenant */
    public TenantFigures figures(long tenant, long now) {
        return figures(require(tenant), now);
    }

    /** Every tenant's figures, by tenant id. */
    public List<TenantFigures> allFigures(long now) {
        List<TenantFigures> all = new ArrayList<>(tenants.size());
        for (TenantState t : tenants.values()) {
            all.add(figures(t, now));
        }
        return Collections.unmodifiableList(all);
    }

    /** The tenant's running estimate of device time per ticket. */
    public long runningEstimateNanos(long tenant) {
        return require(tenant).estimateNanos;
    }

    /** Estimated device time of capped (best-effort and demoted) tickets in flight. */
    public long cappedInFlightNanos() {
        return cappedInFlightNanos;
    }

    public long bestEffortCapNanos() {
        return bestEffortCapNanos;
    }

    private TenantFigures figures(TenantState t, long now) {
        TenantSpec s = t.spec;
        return new TenantFigures(s.id(), s.name(), s.schedClass(), s.weight(), t.deviceNanos, t.budgetLeft(now),
                t.queue.size(), t.inFlight, expectedWait(t, now), t.deadlineMisses);
    }

    private long expectedWait(TenantState self, long now) {
        long wait = 0;
        for (Ticket k : inFlight) {
            wait += Math.max(0, k.estimateNanos() - (now - k.dispatchedAt));
        }
        int tier = tier(self, now);
        long own = self.queuedEstimateNanos + self.estimateNanos;
        wait += self.queuedEstimateNanos;
        for (TenantState o : tenants.values()) {
            if (o == self || o.queue.isEmpty()) {
                continue;
            }
            int ot = tier(o, now);
            if (ot < tier) {
                wait += o.queuedEstimateNanos;
            } else if (ot == tier) {
                double share = (double) own * o.spec.weight() / self.spec.weight();
                wait += (long) Math.min(o.queuedEstimateNanos, share);
            }
        }
        return wait;
    }

    private static int tier(TenantState t, long now) {
        int c = t.spec.schedClass().ordinal();
        return t.demoted(now) ? CLASSES + c : c;
    }

    private TenantState require(long tenant) {
        TenantState t = tenants.get(tenant);
        if (t == null) {
            throw new IllegalArgumentException("unknown tenant " + tenant);
        }
        return t;
    }
}
