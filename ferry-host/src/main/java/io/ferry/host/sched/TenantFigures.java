package io.ferry.host.sched;

/**
 * One tenant's figures at an instant, for {@code ferry status} and for publishing to the guest.
 *
 * @param deviceNanos       device time of its completed tickets
 * @param budgetLeftNanos   budget left in the current period, -1 without a reservation
 * @param queued            tickets waiting
 * @param inFlight          tickets dispatched and not yet completed
 * @param expectedWaitNanos estimated wait of a new ticket of this tenant (see {@link Scheduler})
 * @param deadlineMisses    tickets completed after their hint's deadline
 */
public record TenantFigures(long tenant, String name, SchedClass schedClass, int weight, long deviceNanos,
                            long budgetLeftNanos, long queued, long inFlight, long expectedWaitNanos,
                            long deadlineMisses) {
}
