package io.ferry.host.session;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One lane's counters of what its sessions served, since the host started (a lane outlives its sessions): calls by
 * operation and status, quota refusals, TEE denials and device workers lost. Written by the lane's endpoint thread
 * (one atomic add per call, no allocation), read by {@code /metrics} at scrape time from any thread.
 *
 * <p>While a device worker serves the lane's session, the worker counts the calls it serves in its own table
 * ({@link Remote}); {@link #attach} makes scrapes include it, and {@link #detach} folds its final figures in before
 * the worker's control region goes away. Both, and {@link #addTo}, hold this object's lock, so a scrape sees the
 * worker's calls exactly once.
 */
public final class CallCounts implements CallSink {
    public static final int OPS = Op.values().length;
    public static final int STATUSES = Status.values().length;
    /** Index in {@link Totals#calls} of calls a worker could not attribute (its table was full). */
    public static final int OTHER = OPS * STATUSES;

    /** A worker's counts, read from shared memory (untrusted: figures only). */
    public interface Remote {
        /** Adds the worker's calls (index op ordinal * STATUSES + status ordinal, or OTHER) and refusals. */
        void addTo(long[] calls, long[] refusals);
    }

    /** Totals of one guest, summed over its lanes. */
    public record Totals(long[] calls, long[] refusals, long[] teeDenials, long workerRestarts) {
        public static Totals empty() {
            return new Totals(new long[OTHER + 1], new long[Quota.values().length], new long[2], 0);
        }

        /** These totals with {@code n} more calls of {@code op} answered OK (calls served where no session saw them). */
        public Totals plus(Op op, long n) {
            calls[op.ordinal() * STATUSES + Status.OK.ordinal()] += n;
            return this;
        }

        /** Calls of {@code op}, any status. */
        public long calls(Op op) {
            long n = 0;
            for (int s = 0; s < STATUSES; s++) {
                n += calls[op.ordinal() * STATUSES + s];
            }
            return n;
        }
    }

    private final AtomicLongArray calls = new AtomicLongArray(OTHER + 1);
    private final AtomicLongArray refusals = new AtomicLongArray(Quota.values().length);
    private final AtomicLongArray teeDenials = new AtomicLongArray(2);
    private final java.util.concurrent.atomic.AtomicLong workerRestarts = new java.util.concurrent.atomic.AtomicLong();
    private Remote remote;

    @Override
    public void call(Op op, Status status) {
        calls.getAndIncrement(op.ordinal() * STATUSES + status.ordinal());
    }

    @Override
    public void refusal(Quota quota) {
        refusals.getAndIncrement(quota.ordinal());
    }

    @Override
    public void teeDenial(boolean open) {
        teeDenials.getAndIncrement(open ? 0 : 1);
    }

    /** The device worker serving the lane's session was lost (died, or killed by the watchdog). */
    public void workerLost() {
        workerRestarts.incrementAndGet();
    }

    /** A device worker serves the lane's session from now on, counting in {@code r}. */
    public synchronized void attach(Remote r) {
        remote = r;
    }

    /** The worker is going: its final counts become the lane's (before its table is unmapped). */
    public synchronized void detach() {
        Remote r = remote;
        remote = null;
        if (r == null) {
            return;
        }
        long[] c = new long[OTHER + 1];
        long[] q = new long[Quota.values().length];
        r.addTo(c, q);
        for (int i = 0; i < c.length; i++) {
            if (c[i] > 0) {
                calls.getAndAdd(i, c[i]);
            }
        }
        for (int i = 0; i < q.length; i++) {
            if (q[i] > 0) {
                refusals.getAndAdd(i, q[i]);
            }
        }
    }

    /** Adds this lane's counts (its worker's included) to {@code t}. */
    public synchronized void addTo(Totals t) {
        for (int i = 0; i < t.calls().length; i++) {
            t.calls()[i] += calls.get(i);
        }
        for (int i = 0; i < t.refusals().length; i++) {
            t.refusals()[i] += refusals.get(i);
        }
        t.teeDenials()[0] += teeDenials.get(0);
        t.teeDenials()[1] += teeDenials.get(1);
        if (remote != null) {
            remote.addTo(t.calls(), t.refusals());
        }
    }

    /** {@link #addTo} plus the worker restarts, as a new {@link Totals}. */
    public static Totals sum(Iterable<CallCounts> lanes) {
        Totals t = Totals.empty();
        long restarts = 0;
        for (CallCounts c : lanes) {
            c.addTo(t);
            restarts += c.workerRestarts.get();
        }
        return new Totals(t.calls(), t.refusals(), t.teeDenials(), restarts);
    }
}
