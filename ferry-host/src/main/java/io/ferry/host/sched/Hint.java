package io.ferry.host.sched;

/**
 * A guest's hint for one command (or a queue's default): it reorders work inside the tenant's class only, never
 * across classes, and never ahead of the tenant's own earlier commands.
 *
 * @param priority      higher first, among the heads of the tenant queues of one class; 0 is neutral
 * @param deadlineNanos absolute, on the scheduler's clock; earlier first after priority; {@link Long#MAX_VALUE} for
 *                      none. A command completed after it counts a deadline miss.
 * @param kernelKey     what kind of command it is, for the durations the scheduler learns per guest and key
 *                      ({@link KernelDurations}): a kernel's handle, or a transfer's op and size class; 0 for none
 * @param compiles      the device compiles the command's code before it runs it (a kernel's first launch at its
 *                      work-group shape on a device that compiles at launch, as PoCL does): the watchdog allows it
 *                      the compile time limit rather than the overrun limit
 */
public record Hint(int priority, long deadlineNanos, long kernelKey, boolean compiles) {
    public static final Hint NONE = new Hint(0, Long.MAX_VALUE, 0);

    public Hint(int priority, long deadlineNanos, long kernelKey) {
        this(priority, deadlineNanos, kernelKey, false);
    }

    public Hint(int priority, long deadlineNanos) {
        this(priority, deadlineNanos, 0);
    }

    /** This hint for a command of kind {@code key}. */
    public Hint withKernelKey(long key) {
        return new Hint(priority, deadlineNanos, key, compiles);
    }

    /** This hint for a command the device compiles before it runs it ({@link #compiles}). */
    public Hint compiling(boolean compiling) {
        return compiling == compiles ? this : new Hint(priority, deadlineNanos, kernelKey, compiling);
    }

    public static Hint priority(int priority) {
        return new Hint(priority, Long.MAX_VALUE);
    }

    public static Hint deadline(long deadlineNanos) {
        return new Hint(0, deadlineNanos);
    }

    public boolean hasDeadline() {
        return deadlineNanos != Long.MAX_VALUE;
    }
}
