package io.ferry.host.compute;

import io.ferry.host.sched.Ticket;
import io.ferry.host.worker.LeaseWords;

/**
 * A device lease {@link DeviceDispatch} granted to one tenant's device worker: the tenant's ticket stays in flight
 * (as if one long command ran) while the worker runs commands without asking, reporting through {@link LeaseWords}.
 * Everything read from the words is an untrusted figure: this class bounds what is derived from it. Under the
 * dispatch's lock.
 */
final class Lease {
    final long tenant;
    final long overrunLimitNanos;
    final long compileLimitNanos;
    final LeaseWords words;
    final Runnable cancel;
    /** The ticket in flight for the lease now; replaced when a tick charges a long lease's time so far. */
    Ticket ticket;
    /** When the lease began (host clock), the worker's DEVICE_NANOS then, and the device time charged since. */
    final long startedAt;
    final long nanosAtStart;
    private long charged;
    /** MODE = ASK is stored: the lease ends once the worker is seen idle, or it overruns. */
    boolean revoking;
    long revokedAt;
    /** The BUSY_SINCE value seen last, and the host's bound on when that busy stretch began (0: seen idle). */
    private long busyValue;
    private long busyClock;
    /** COMPILING as seen with BUSY_SINCE last; whether this busy stretch's clock restarted when its compile ended. */
    private boolean busyCompiling;
    private boolean restarted;

    Lease(long tenant, long overrunLimitNanos, long compileLimitNanos, LeaseWords words, Runnable cancel,
          Ticket ticket, long now) {
        this.tenant = tenant;
        this.overrunLimitNanos = overrunLimitNanos;
        this.compileLimitNanos = compileLimitNanos;
        this.words = words;
        this.cancel = cancel;
        this.ticket = ticket;
        this.startedAt = now;
        this.nanosAtStart = words.deviceNanos();
    }

    /**
     * How long the worker's current command may run, as seen by the last {@link #busySince}: the compile limit
     * (where longer) while the worker says the device compiles it (COMPILING = 1), else the overrun limit.
     */
    long limit() {
        return busyCompiling ? Math.max(overrunLimitNanos, compileLimitNanos) : overrunLimitNanos;
    }

    /** Stores MODE = ASK and fences: the caller then reads BUSY_SINCE ({@link #busySince}). */
    void revoke(long now) {
        words.storeMode(LeaseWords.ASK);
        LeaseWords.fullFence();
        revoking = true;
        revokedAt = now;
        busyClock = 0; // measure the stretch from what is seen now, not from an earlier command
    }

    /**
     * Reads BUSY_SINCE: 0 if the worker is idle, else when (host clock) its current command began, as far as the
     * host can trust it: never before the lease, never after the host first saw it busy, and, once revoked, never
     * later than the first sight after the revoke (a worker that keeps rewriting the word cannot push it on).
     */
    long busySince(long now) {
        long b = words.busySince();
        if (b == 0) {
            busyValue = 0;
            busyClock = 0;
            busyCompiling = false;
            restarted = false;
            return 0;
        }
        boolean compiling = words.compiling() == 1; // the worker stores it before BUSY_SINCE
        long clock = Math.min(Math.max(b, startedAt), now);
        // The clock restarts with a new BUSY_SINCE while the lease holds (a new command, or this one's run after its
        // compile); once revoked, only once, when the compile ends (COMPILING 0 with BUSY_SINCE rewritten). So a
        // command holds a revoked lease for at most the compile limit, then the overrun limit, whatever the worker
        // writes. COMPILING alone (BUSY_SINCE unchanged) changes nothing: the worker rewrites BUSY_SINCE first.
        if (busyClock == 0) {
            busyClock = clock;
            busyCompiling = compiling && !restarted;
        } else if (b != busyValue && !revoking) {
            busyClock = clock;
            busyCompiling = compiling;
            restarted = false;
        } else if (b != busyValue && busyCompiling && !compiling && !restarted) {
            busyClock = clock;
            busyCompiling = false;
            restarted = true;
        }
        busyValue = b;
        return busyClock;
    }

    /**
     * Device time to charge the lease's current ticket, ending at {@code now}, and counts it charged: what the
     * worker says ran since the lease began, clamped to [0, the lease's wall time], less what earlier tickets were
     * charged. {@code ending}: also the busy stretch of a command it never reported (the worker is being cut off).
     */
    long charge(long now, boolean ending) {
        long wall = Math.max(0, now - startedAt);
        long ran = Math.max(0, Math.min(words.deviceNanos() - nanosAtStart, wall));
        long busy = busySince(now);
        if (ending && busy != 0) {
            ran = Math.min(wall, ran + (now - busy)); // both at most the wall time: no overflow
        }
        long c = Math.max(0, ran - charged);
        charged += c;
        return c;
    }
}
