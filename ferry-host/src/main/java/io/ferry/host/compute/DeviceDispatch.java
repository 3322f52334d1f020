package io.ferry.host.compute;

import io.ferry.host.config.HostConfig;
import io.ferry.host.session.CallException;
import io.ferry.host.sched.Hint;
import io.ferry.host.sched.Reservation;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.sched.Scheduler;
import io.ferry.host.sched.TenantFigures;
import io.ferry.host.sched.TenantSpec;
import io.ferry.host.sched.Ticket;
import io.ferry.host.worker.Grant;
import io.ferry.host.worker.LeaseWords;
import io.ferry.spi.BackendException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import org.HdrHistogram.Histogram;

/**
 * The runtime around one device's {@link Scheduler}: a guest's endpoint thread brings each device command here and
 * waits until the policy gives it the device; it then runs the command to completion (enqueue and finish) so that
 * the measured time is the command's device time and the in-flight cap holds; the scheduler learns the figure.
 *
 * <p>Each guest's endpoint is one thread, so a tenant has at most one command queued or running here: the per-guest
 * order is kept by construction and the policy arbitrates between guests.
 *
 * <h2>Remote turns and leases</h2>
 * A device worker that runs a guest's session itself asks for its turns with {@link #grantRemote}. When nothing else
 * wants the device, the answer is a <b>lease</b>: the worker runs command after command without asking, reporting
 * through shared {@link LeaseWords}, and the tenant's ticket stays in flight as one long command. A lease holds the
 * device alone: it is granted only when the tenant's ticket is the only one in flight and none waits, and while it
 * lives nothing else is handed out. The next submit by anyone revokes it (MODE = ASK, fence, read BUSY_SINCE): it
 * ends at once if the worker is idle, else as soon as its command ends (waiters poll every
 * {@link #REVOKE_POLL_NANOS}; {@link #tick} checks too), or when the command overruns the tenant's limit: the
 * worker is then killed ({@code cancel}). A lease is charged the device time the worker reports, clamped to its wall
 * time, when it ends and at each tick. Tenants with a reservation, no overrun limit, uncancellable work, or under a
 * critical guest's declared releases (a lease would bypass them) get {@link Grant#SINGLE} turns ({@link #remoteDone}).
 * <p>Threads: endpoint threads call {@link #run}, {@link #grantRemote}, {@link #remoteDone}, {@link #endLease},
 * {@link #declareRelease}; the heartbeat thread {@link #tick} (wake-ups, overruns). All state is under {@link #lock}.
 */
public final class DeviceDispatch implements DeviceTurns {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final long DEFAULT_ESTIMATE_NANOS = 1_000_000;
    /** How often waiters read a revoked lease's BUSY_SINCE until the leaseholder's command ends. */
    static final long REVOKE_POLL_NANOS = 50_000;

    private final String device;
    private final long compileLimitNanos;
    private final Scheduler scheduler;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition turn = lock.newCondition();
    private final Map<Long, DispatchTenant> tenants = new HashMap<>();
    /**
     * Processor-sharing accounting: while k commands are on the device at once, each is charged 1/k of the time
     * that passes, so a command's device time is its share of the device, not its wall time stretched by the
     * others. In-flight commands and their accrued time; {@link #lastAccrual} is when it was last brought up to date.
     */
    private final Map<Ticket, long[]> running = new HashMap<>();
    private long lastAccrual;
    /** Tickets submitted and not yet handed out (abandoned ones too), and handed out and not yet completed. */
    private int queued;
    private int dispatched;
    /** The live or revoked lease; while there is one, nothing else is handed out. */
    private Lease lease;

    /** {@code holdForReleases}: see {@link Scheduler#Scheduler(long, long, boolean)}. No compile time limit. */
    public DeviceDispatch(String device, long bestEffortCapNanos, boolean holdForReleases) {
        this(device, bestEffortCapNanos, holdForReleases, 0);
    }

    /** {@code compileLimitNanos}: how long the watchdog lets a command the device compiles first run (see Hint). */
    public DeviceDispatch(String device, long bestEffortCapNanos, boolean holdForReleases, long compileLimitNanos) {
        this.compileLimitNanos = compileLimitNanos;
        this.device = device;
        this.scheduler = new Scheduler(bestEffortCapNanos, DEFAULT_ESTIMATE_NANOS, holdForReleases);
    }

    public void addTenant(long id, HostConfig.GuestConfig g) {
        locked(() -> {
            Reservation r = g.reservation() == null ? null
                    : new Reservation(g.reservation().budgetNanos(), g.reservation().periodNanos());
            scheduler.addTenant(new TenantSpec(id, g.name(), g.schedClass(), g.weight(), r));
            return tenants.put(id, new DispatchTenant(g.name(), g.overrunLimitNanos(), compileLimitNanos,
                    r != null));
        });
    }

    /**
     * Removes a tenant whose guest left the host (its sessions ended first): its lease ends, its outstanding single
     * command is charged in full, its queued tickets are dropped (a thread still waiting on one gets SESSION_CLOSED),
     * and its figures go. A command of it still on the device completes later charged to no one. Unknown ids are
     * ignored; an id is never added again (the host gives each guest it starts a fresh one).
     */
    public void removeTenant(long id) {
        lock.lock();
        try {
            endLease(id);
            for (Ticket k : scheduler.evict(id)) {
                queued--;
                ((DispatchSlot) k.payload()).abandoned = true;
            }
            tenants.remove(id);
            grant();
            turn.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void run(long tenant, Hint hint, Command command, Runnable cancel) throws CallException, BackendException {
        Ticket ticket;
        lock.lock();
        try {
            ticket = await(tenant, hint);
            DispatchTenant t = tenants.get(tenant);
            t.runningSince = System.nanoTime();
            t.runningLimit = t.limitFor(hint);
            t.cancel = cancel;
            accrue(t.runningSince);
            running.put(ticket, new long[1]);
        } finally {
            lock.unlock();
        }
        try {
            command.run();
        } finally {
            long end = System.nanoTime();
            lock.lock();
            try {
                DispatchTenant t = tenants.get(tenant);
                if (t != null) { // null: the guest was removed while its command ran
                    t.runningSince = 0;
                    t.cancel = null;
                }
                accrue(end);
                long[] share = running.remove(ticket);
                complete(ticket, share == null ? 0 : share[0], end);
                grant();
            } finally {
                lock.unlock();
            }
        }
    }

    @Override
    public void declareRelease(long tenant, long period, long offset, long budget) throws CallException {
        try {
            locked(() -> {
                scheduler.declareRelease(tenant, period, offset, budget, System.nanoTime());
                return null;
            });
        } catch (IllegalArgumentException e) {
            throw new CallException(io.ferry.protocol.Status.INVALID_ARGUMENT, e.getMessage());
        }
    }

    @Override
    public void started(long tenant) {
        locked(() -> tenants.containsKey(tenant) ? tenants.get(tenant).started(System.nanoTime()) : null);
    }

    /**
     * For a tenant's device worker that asks for the device: waits like {@link #run} for the tenant's turn, then
     * leases the device if nothing else wants it (sets {@code lease}'s MODE = LEASED; the turn lasts until the lease
     * is revoked, overruns or {@link #endLease ends}), else grants one command, which {@link #remoteDone} ends.
     * A tenant that asks while it holds a lease gives it up first; one that asks before reporting its single
     * command done is charged that command's whole turn.
     *
     * @param lease  the worker's lease words; null: never lease
     * @param cancel kills the worker (its device work); null: never lease (a lease must be revocable by force)
     * @throws CallException SESSION_CLOSED if the thread is interrupted while waiting (host shutting down)
     */
    public Grant grantRemote(long tenant, Hint hint, LeaseWords lease, Runnable cancel) throws CallException {
        lock.lock();
        try {
            DispatchTenant t = tenants.get(tenant);
            if (t == null) {
                throw new IllegalArgumentException("unknown tenant " + tenant + " on " + device);
            }
            if (t.remote != null) {
                finishRemote(t, Long.MAX_VALUE, System.nanoTime());
            }
            Ticket ticket = await(tenant, hint);
            long now = System.nanoTime();
            if (lease != null && cancel != null && !t.reserved && t.overrunLimitNanos > 0 && queued == 0
                    && dispatched == 1 && this.lease == null && !scheduler.guarded(tenant)) {
                this.lease = new Lease(tenant, t.overrunLimitNanos, t.compileLimitNanos, lease, cancel, ticket, now);
                lease.storeMode(LeaseWords.LEASED);
                return Grant.LEASED;
            }
            t.remote = ticket;
            t.runningSince = now;
            t.runningLimit = t.limitFor(hint);
            t.cancel = cancel;
            accrue(now);
            running.put(ticket, new long[1]);
            return Grant.SINGLE;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The tenant's device worker ran its {@link Grant#SINGLE} command in {@code deviceNanos} (untrusted: clamped
     * to the turn's share of the device). Ignored when no such command is outstanding (a late or repeated report).
     */
    public void remoteDone(long tenant, long deviceNanos) {
        lock.lock();
        try {
            DispatchTenant t = tenants.get(tenant);
            if (t != null && t.remote != null) {
                finishRemote(t, deviceNanos, System.nanoTime());
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The tenant's device worker or session went away: ends its lease (MODE = ASK; charged what it reported, and
     * a busy stretch it left) and its outstanding single command, and frees the device. Idempotent.
     */
    public void endLease(long tenant) {
        lock.lock();
        try {
            long now = System.nanoTime();
            if (lease != null && lease.tenant == tenant) {
                lease.words.storeMode(LeaseWords.ASK);
                finishLease(now);
            }
            DispatchTenant t = tenants.get(tenant);
            if (t != null && t.remote != null) {
                finishRemote(t, Long.MAX_VALUE, now);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code tenant} holds a lease now (live or revoked and not yet ended). */
    public boolean leased(long tenant) {
        lock.lock();
        try {
            return lease != null && lease.tenant == tenant;
        } finally {
            lock.unlock();
        }
    }

    /** Submits a ticket, revokes any lease, and waits until the ticket is handed out. Under the lock. */
    private Ticket await(long tenant, Hint hint) throws CallException {
        DispatchSlot slot = new DispatchSlot();
        long now = System.nanoTime();
        Ticket ticket = scheduler.submit(tenant, 0, hint, slot, now);
        queued++;
        if (lease != null && !lease.revoking) {
            lease.revoke(now);
        }
        pollLease(now);
        grant();
        try {
            while (!slot.granted) {
                if (!scheduler.hasTenant(tenant)) {
                    throw new CallException(io.ferry.protocol.Status.SESSION_CLOSED, "the guest was removed from "
                            + "the host");
                }
                now = System.nanoTime();
                long wait;
                if (lease != null) {
                    wait = REVOKE_POLL_NANOS;
                } else {
                    long wake = scheduler.nextEventAt(now);
                    wait = Math.min(wake == Long.MAX_VALUE ? Long.MAX_VALUE : wake - now, 100_000_000L);
                }
                turn.awaitNanos(Math.max(wait, 1_000));
                pollLease(System.nanoTime());
                grant();
            }
        } catch (InterruptedException e) {
            // Shutting down: the ticket stays queued; when its turn comes grant() completes it at once.
            slot.abandoned = true;
            Thread.currentThread().interrupt();
            throw new CallException(io.ferry.protocol.Status.SESSION_CLOSED, "host shutting down");
        }
        tenants.get(tenant).waits.recordValue(Math.max(0, ticket.queueWaitNanos()));
        return ticket;
    }

    /** A revoked lease ends once its worker is idle, or is cancelled once its command overruns. Under the lock. */
    private void pollLease(long now) {
        Lease l = lease;
        if (l == null || !l.revoking) {
            return;
        }
        long busy = l.busySince(now);
        if (busy == 0) {
            finishLease(now);
        } else if (now - busy > l.limit()) {
            overrunLease(now, busy);
        }
    }

    /** Ends the lease: charges it, completes its ticket, hands the device on. Under the lock. */
    private void finishLease(long now) {
        Lease l = lease;
        lease = null;
        complete(l.ticket, l.charge(now, true), now);
        grant();
        turn.signalAll();
    }

    private void overrunLease(long now, long busy) {
        Lease l = lease;
        DispatchTenant t = tenants.get(l.tenant);
        t.overruns++;
        t.flagged = true;
        LOG.warning("guest " + t.name + " on " + device + ": its device worker held the leased device for a command of "
                + (now - busy) / 1_000_000 + " ms, over its limit of " + l.limit() / 1_000_000
                + " ms: flagged, its device worker killed");
        l.words.storeMode(LeaseWords.ASK);
        l.cancel.run();
        finishLease(now);
    }

    /** Ends a single remote command charged {@code reported}, clamped to its share of the device. Under the lock. */
    private void finishRemote(DispatchTenant t, long reported, long now) {
        Ticket ticket = t.remote;
        t.remote = null;
        t.runningSince = 0;
        t.cancel = null;
        accrue(now);
        long[] share = running.remove(ticket);
        long max = share == null ? 0 : share[0];
        complete(ticket, Math.max(0, Math.min(reported, max)), now);
        grant();
    }

    private void complete(Ticket ticket, long deviceNanos, long now) {
        dispatched--;
        scheduler.completed(ticket, deviceNanos, now);
    }

    /** Charges every running command its share of the time since the last accrual. Under the lock. */
    private void accrue(long now) {
        int k = running.size();
        if (k > 0 && now > lastAccrual) {
            long each = (now - lastAccrual) / k;
            for (long[] a : running.values()) {
                a[0] += each;
            }
        }
        lastAccrual = now;
    }

    /** Hands out every ticket the policy allows now and wakes their threads; nothing while a lease lives. */
    private void grant() {
        if (lease != null) {
            return;
        }
        Ticket t;
        boolean any = false;
        while ((t = scheduler.next(System.nanoTime())) != null) {
            queued--;
            DispatchSlot s = (DispatchSlot) t.payload();
            if (s.abandoned) {
                scheduler.completed(t, 0, System.nanoTime());
                continue;
            }
            dispatched++;
            s.ticket = t;
            s.granted = true;
            any = true;
        }
        if (any) {
            turn.signalAll();
        }
    }

    /**
     * A live lease at a tick: cancelled if its command overran; else, when no one waits, charged its time so far
     * (its ticket completed and a fresh one put in flight), so a long lease shows in the figures as it goes.
     */
    private void tickLease(long now) {
        Lease l = lease;
        if (l == null || l.revoking) {
            pollLease(now);
            return;
        }
        long busy = l.busySince(now);
        if (busy != 0 && now - busy > l.limit()) {
            overrunLease(now, busy);
            return;
        }
        if (queued != 0) {
            return;
        }
        long charge = l.charge(now, false);
        if (charge == 0) {
            return;
        }
        complete(l.ticket, charge, now);
        DispatchSlot slot = new DispatchSlot();
        Ticket next = scheduler.submit(l.tenant, 0, Hint.NONE, slot, now);
        queued++;
        if (scheduler.next(now) == null) { // cannot happen with nothing else queued or in flight: end the lease
            slot.abandoned = true; // grant() completes it when its turn comes
            l.words.storeMode(LeaseWords.ASK);
            lease = null;
            grant();
            turn.signalAll();
            return;
        }
        queued--;
        dispatched++;
        l.ticket = next;
    }

    /**
     * From the heartbeat thread: wakes waiters whose budget refilled, and cancels best-effort commands that overran
     * their guest's limit (flagging the guest).
     */
    public void tick(long now) {
        lock.lock();
        try {
            tickLease(now);
            grant();
            turn.signalAll();
            for (Map.Entry<Long, DispatchTenant> e : tenants.entrySet()) {
                DispatchTenant t = e.getValue();
                if (t.runningLimit > 0 && t.runningSince != 0 && now - t.runningSince > t.runningLimit) {
                    t.overruns++;
                    t.flagged = true;
                    LOG.warning("guest " + t.name + " on " + device + ": a command ran "
                            + (now - t.runningSince) / 1_000_000 + " ms, over its limit of "
                            + t.runningLimit / 1_000_000 + " ms: flagged"
                            + (t.cancel != null ? ", its device work cancelled" : " (this backend cannot cancel)"));
                    if (t.cancel != null) {
                        t.cancel.run();
                        t.cancel = null;
                    }
                    t.runningSince = 0;
                    if (t.remote != null) { // its worker is gone: the turn ends here, charged in full
                        finishRemote(t, Long.MAX_VALUE, now);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** What a guest sees of its scheduling, and what status shows. */
    public record View(TenantFigures figures, long waitP50Nanos, long waitP99Nanos, long waitMaxNanos, long overruns,
                boolean flagged) { }

    public View view(long tenant) {
        return locked(() -> {
            DispatchTenant t = tenants.get(tenant);
            if (t == null) {
                return null; // removed since the caller found it
            }
            TenantFigures f = scheduler.figures(tenant, System.nanoTime());
            return new View(f, t.waits.getValueAtPercentile(50), t.waits.getValueAtPercentile(99),
                    t.waits.getMaxValue(), t.overruns, t.flagged);
        });
    }

    /** A copy of a tenant's queue waits (ns, 2 significant digits); null for a tenant this device does not know. */
    public Histogram waits(long tenant) {
        return locked(() -> {
            DispatchTenant t = tenants.get(tenant);
            return t == null ? null : t.waits.copy();
        });
    }

    /** The scheduler's figures of one tenant (cheap: no histogram percentiles). */
    public TenantFigures figures(long tenant) {
        return locked(() -> scheduler.figures(tenant, System.nanoTime()));
    }

    private <T> T locked(java.util.function.Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    public String device() { return device; }
}
