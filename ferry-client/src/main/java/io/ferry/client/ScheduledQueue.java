package io.ferry.client;

import io.ferry.protocol.Calls;

/**
 * A {@link CommandQueue}'s scheduling calls: hints and the critical guest's release declaration (docs/scheduling.md).
 * Its own class only to keep the queue's; every method is the queue's API.
 */
abstract sealed class ScheduledQueue extends Remote permits CommandQueue {
    ScheduledQueue(Ferry ferry, long handle) {
        super(ferry, handle);
    }

    /**
     * Scheduling hint for every later device command of this queue: {@code priority} inside the guest's class
     * (higher first, -1000..1000) and a relative {@code deadline} (null for none). Hints reorder work only among
     * guests of the same class.
     */
    public CommandQueue hint(int priority, java.time.Duration deadline) {
        return sendHint(priority, deadline, 1);
    }

    /** As {@link #hint}, for the next device command of this queue only. */
    public CommandQueue hintNext(int priority, java.time.Duration deadline) {
        return sendHint(priority, deadline, 0);
    }

    private CommandQueue sendHint(int priority, java.time.Duration deadline, int scope) {
        channel().oneWay(new Calls.QueueHint(), true, c -> c.queue(handle).priority(priority)
                .deadlineNs(deadline == null ? 0L : Math.max(1, deadline.toNanos())).scope(scope));
        return (CommandQueue) this;
    }

    /**
     * Declares this guest's releases on the queue's device (a CRITICAL guest only): a job every {@code period}, the
     * next one {@code untilNext} from now, each needing the device for about {@code budget} (at most half the
     * period, and within the guest's reservation). The host then starts no lower-class command that would still run
     * in {@code [release, release + budget)}. {@code declareRelease(null, null, null)} withdraws the declaration.
     *
     * @throws FerryException INVALID_ARGUMENT, naming the value the host refused
     */
    public CommandQueue declareRelease(java.time.Duration period, java.time.Duration untilNext,
                                       java.time.Duration budget) {
        channel().call(new Calls.QueueRelease(), null, c -> c.queue(handle)
                .periodNs(period == null ? 0 : period.toNanos())
                .offsetNs(untilNext == null ? 0 : untilNext.toNanos())
                .budgetNs(budget == null ? 0 : budget.toNanos()));
        return (CommandQueue) this;
    }
}
