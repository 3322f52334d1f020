package io.ferry.host.sched;

/**
 * A tenant's criticality class. Declared most critical first: a lower ordinal always wins, unless the tenant is
 * demoted for having used up its {@link Reservation} (see {@link Scheduler}).
 */
public enum SchedClass {
    CRITICAL,
    HIGH,
    NORMAL,
    /** Capped: the estimates of its work in flight may not exceed the scheduler's best-effort cap. */
    BEST_EFFORT
}
