package io.ferry.host.sched;

/**
 * A critical tenant's declared release schedule: a job is released every {@code periodNanos}, one release at
 * {@code phaseNanos} (absolute, on the scheduler's clock), and needs the device for about {@code windowNanos} from
 * each release. Lower classes start nothing that would still run inside a window {@code [r, r + window)}
 * ({@link Scheduler}, "release-aware dispatch").
 */
public record Release(long periodNanos, long phaseNanos, long windowNanos) {
    /** Shortest and longest period a guest may declare. */
    public static final long MIN_PERIOD_NANOS = 100_000;
    public static final long MAX_PERIOD_NANOS = 10_000_000_000L;

    /**
     * Why a declaration is refused, or null when it is acceptable. The window may cover at most half the period
     * (lower classes keep at least half the device between releases), and no more than the tenant's reservation
     * budget when it has one.
     */
    public static String refusal(long periodNanos, long offsetNanos, long budgetNanos, TenantSpec spec) {
        if (spec.schedClass() != SchedClass.CRITICAL) {
            return "only a CRITICAL guest may declare releases; " + spec.name() + " is " + spec.schedClass();
        }
        if (periodNanos < MIN_PERIOD_NANOS || periodNanos > MAX_PERIOD_NANOS) {
            return "release period " + periodNanos + " ns must be in " + MIN_PERIOD_NANOS + ".." + MAX_PERIOD_NANOS
                    + " ns (0 withdraws the declaration)";
        }
        if (offsetNanos < 0 || offsetNanos >= periodNanos) {
            return "release offset " + offsetNanos + " ns (time from now to the next release) must be in 0.."
                    + (periodNanos - 1) + " ns";
        }
        if (budgetNanos <= 0 || budgetNanos > periodNanos / 2) {
            return "release budget " + budgetNanos + " ns must be > 0 and at most half the period ("
                    + periodNanos / 2 + " ns)";
        }
        Reservation r = spec.reservation();
        if (r != null && budgetNanos > r.budgetNanos()) {
            return "release budget " + budgetNanos + " ns exceeds the guest's reservation budget of "
                    + r.budgetNanos() + " ns";
        }
        return null;
    }

    /** Start of the first window that has not ended at {@code now} (it may have begun). */
    long windowStart(long now) {
        long k = Math.floorDiv(now - phaseNanos - windowNanos, periodNanos) + 1;
        return phaseNanos + k * periodNanos;
    }
}
