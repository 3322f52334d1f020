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
 * <p>Threads: endpoint threads call {@link #run}; the host's heartbeat thread calls {@link #tick} (deadline and
 * budget wake-ups, overrun checks, figures). All state is under {@link #lock}.
 */
public final class DeviceDispatch {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final long DEFAULT_ESTIMATE_NANOS = 1_000_000;

    /** A device command: enqueue and finish. */
    interface Command {
        void run() throws CallException, BackendException;
    }

    /** Per-tenant figures this class keeps beyond the scheduler's. */
    private static final class Tenant {
        final String name;
        final long overrunLimitNanos;
        final Histogram waits = new Histogram(60_000_000_000L, 2);
        long runningSince;
        Runnable cancel;
        long overruns;
        boolean flagged;

        Tenant(String name, long overrunLimitNanos) {
            this.name = name;
            this.overrunLimitNanos = overrunLimitNanos;
        }
    }

    private final String device;
    private final Scheduler scheduler;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition turn = lock.newCondition();
    private final Map<Long, Tenant> tenants = new HashMap<>();
    /**
     * Processor-sharing accounting: while k commands are on the device at once, each is charged 1/k of the time
     * that passes, so a command's device time is its share of the device, not its wall time stretched by the
     * others. In-flight commands and their accrued time; {@link #lastAccrual} is when it was last brought up to date.
     */
    private final Map<Ticket, long[]> running = new HashMap<>();
    private long lastAccrual;

    public DeviceDispatch(String device, long bestEffortCapNanos) {
        this.device = device;
        this.scheduler = new Scheduler(bestEffortCapNanos, DEFAULT_ESTIMATE_NANOS);
    }

    public void addTenant(long id, HostConfig.GuestConfig g) {
        lock.lock();
        try {
            Reservation r = g.reservation() == null ? null
                    : new Reservation(g.reservation().budgetNanos(), g.reservation().periodNanos());
            scheduler.addTenant(new TenantSpec(id, g.name(), g.schedClass(), g.weight(), r));
            tenants.put(id, new Tenant(g.name(), g.overrunLimitNanos()));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for the device, runs {@code command}, reports its device time. {@code cancel} stops the command's work
     * where the backend can (a device worker is killed); null where it cannot.
     */
    void run(long tenant, Hint hint, Command command, Runnable cancel) throws CallException, BackendException {
        Slot slot = new Slot();
        Ticket ticket;
        lock.lock();
        try {
            ticket = scheduler.submit(tenant, 0, hint, slot, System.nanoTime());
            grant();
            while (!slot.granted) {
                long now = System.nanoTime();
                long wake = scheduler.nextEventAt(now);
                long wait = Math.min(wake == Long.MAX_VALUE ? Long.MAX_VALUE : wake - now, 100_000_000L);
                turn.awaitNanos(Math.max(wait, 1_000));
                grant();
            }
            Tenant t = tenants.get(tenant);
            t.runningSince = System.nanoTime();
            t.cancel = cancel;
            t.waits.recordValue(Math.max(0, ticket.queueWaitNanos()));
            accrue(t.runningSince);
            running.put(ticket, new long[1]);
        } catch (InterruptedException e) {
            // Shutting down: the ticket stays queued; when its turn comes grant() completes it at once.
            slot.abandoned = true;
            Thread.currentThread().interrupt();
            throw new CallException(io.ferry.protocol.Status.SESSION_CLOSED, "host shutting down");
        } finally {
            lock.unlock();
        }
        try {
            command.run();
        } finally {
            long end = System.nanoTime();
            lock.lock();
            try {
                Tenant t = tenants.get(tenant);
                t.runningSince = 0;
                t.cancel = null;
                accrue(end);
                long[] share = running.remove(ticket);
                scheduler.completed(ticket, share == null ? 0 : share[0], end);
                grant();
            } finally {
                lock.unlock();
            }
        }
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

    /** Hands out every ticket the policy allows now and wakes their threads. Under the lock. */
    private void grant() {
        Ticket t;
        boolean any = false;
        while ((t = scheduler.next(System.nanoTime())) != null) {
            Slot s = (Slot) t.payload();
            if (s.abandoned) {
                scheduler.completed(t, 0, System.nanoTime());
                continue;
            }
            s.ticket = t;
            s.granted = true;
            any = true;
        }
        if (any) {
            turn.signalAll();
        }
    }

    /**
     * From the heartbeat thread: wakes waiters whose budget refilled, and cancels best-effort commands that overran
     * their guest's limit (flagging the guest).
     */
    public void tick(long now) {
        lock.lock();
        try {
            grant();
            turn.signalAll();
            for (Map.Entry<Long, Tenant> e : tenants.entrySet()) {
                Tenant t = e.getValue();
                if (t.overrunLimitNanos > 0 && t.runningSince != 0 && now - t.runningSince > t.overrunLimitNanos) {
                    t.overruns++;
                    t.flagged = true;
                    LOG.warning("guest " + t.name + " on " + device + ": a command ran "
                            + (now - t.runningSince) / 1_000_000 + " ms, over its limit of "
                            + t.overrunLimitNanos / 1_000_000 + " ms: flagged"
                            + (t.cancel != null ? ", its device work cancelled" : " (this backend cannot cancel)"));
                    if (t.cancel != null) {
                        t.cancel.run();
                        t.cancel = null;
                    }
                    t.runningSince = 0;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** What a guest sees of its scheduling, and what status shows. */
    public record View(TenantFigures figures, long waitP50Nanos, long waitP99Nanos, long waitMaxNanos, long overruns,
                boolean flagged) {
    }

    public View view(long tenant) {
        lock.lock();
        try {
            Tenant t = tenants.get(tenant);
            TenantFigures f = scheduler.figures(tenant, System.nanoTime());
            return new View(f, t.waits.getValueAtPercentile(50), t.waits.getValueAtPercentile(99),
                    t.waits.getMaxValue(), t.overruns, t.flagged);
        } finally {
            lock.unlock();
        }
    }

    /** The scheduler's figures of one tenant (cheap: no histogram percentiles). */
    public TenantFigures figures(long tenant) {
        lock.lock();
        try {
            return scheduler.figures(tenant, System.nanoTime());
        } finally {
            lock.unlock();
        }
    }

    public String device() {
        return device;
    }

    private static final class Slot {
        boolean granted;
        boolean abandoned;
        Ticket ticket;
    }
}
