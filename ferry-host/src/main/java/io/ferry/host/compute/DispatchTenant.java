package io.ferry.host.compute;

import io.ferry.host.sched.Hint;
import io.ferry.host.sched.Ticket;
import org.HdrHistogram.Histogram;

/** {@link DeviceDispatch}'s figures and state of one tenant beyond the scheduler's. Under the dispatch's lock. */
final class DispatchTenant {
    final String name;
    final long overrunLimitNanos;
    /** The host's compile time limit: what a command the device compiles first may take (see {@link #limitFor}). */
    final long compileLimitNanos;
    final boolean reserved;
    final Histogram waits = new Histogram(60_000_000_000L, 2);
    long runningSince;
    /** The watchdog's limit for the command running since {@link #runningSince}; 0: none. */
    long runningLimit;
    Runnable cancel;
    long overruns;
    boolean flagged;
    /** Its device worker's {@code Grant.SINGLE} turn, until {@code DeviceDispatch.remoteDone}. */
    Ticket remote;

    DispatchTenant(String name, long overrunLimitNanos, long compileLimitNanos, boolean reserved) {
        this.name = name;
        this.overrunLimitNanos = overrunLimitNanos;
        this.compileLimitNanos = compileLimitNanos;
        this.reserved = reserved;
    }

    /**
     * How long a command with {@code hint} may run before the watchdog cancels it: the guest's overrun limit, plus,
     * for a command the device compiles before it runs it ({@link Hint#compiles}), the compile limit (until it is
     * {@link #started}); 0 (none) when the guest has no overrun limit.
     */
    long limitFor(Hint hint) {
        return overrunLimitNanos <= 0 || !hint.compiles() ? overrunLimitNanos : overrunLimitNanos + compileLimitNanos;
    }

    /** The running command was compiled and runs now: timed from {@code now} against the overrun limit. */
    Void started(long now) {
        if (runningSince != 0) {
            runningSince = now;
            runningLimit = overrunLimitNanos;
        }
        return null;
    }
}
