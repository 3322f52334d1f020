package io.ferry.host.sched;

/**
 * Device time a tenant may use at its class's precedence per period, constant-bandwidth-server style. Once the
 * budget of the current period is used the tenant is demoted below every class until the next period boundary,
 * where the budget is refilled to {@code budgetNanos} (nothing carries over, neither unused budget nor overdraft).
 *
 * @param budgetNanos device time per period, {@code 0 < budgetNanos <= periodNanos}
 * @param periodNanos the period, {@code > 0}; periods are aligned to the tenant's first submit
 */
public record Reservation(long budgetNanos, long periodNanos) {
    public Reservation {
        if (periodNanos <= 0) {
            throw new IllegalArgumentException("reservation period must be > 0 ns, got " + periodNanos);
        }
        if (budgetNanos <= 0 || budgetNanos > periodNanos) {
            throw new IllegalArgumentException("reservation budget must be > 0 and <= the period (" + periodNanos
                    + " ns), got " + budgetNanos + " ns");
        }
    }
}
