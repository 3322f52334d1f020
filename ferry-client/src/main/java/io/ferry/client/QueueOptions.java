package io.ferry.client;

/**
 * How a {@link CommandQueue} runs its commands ({@link Context#createQueue(QueueOptions)}).
 *
 * @param outOfOrder commands may run in any order, ordered only by their {@code waitFor} lists, markers and barriers
 *                   (OpenCL's {@code CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE}); refused with {@code UNSUPPORTED}
 *                   where the device has no out-of-order queues
 * @param profiling  events record device times ({@link Event.Times})
 * @param priority   a scheduling hint: 0 normal, negative lower, positive higher
 */
public record QueueOptions(boolean outOfOrder, boolean profiling, int priority) {
    /** An in-order queue without profiling, of normal priority. */
    public static QueueOptions defaults() {
        return new QueueOptions(false, false, 0);
    }

    /** These options with out-of-order execution {@code on} or off. */
    public QueueOptions withOutOfOrder(boolean on) {
        return new QueueOptions(on, profiling, priority);
    }

    /** These options with profiling {@code on} or off. */
    public QueueOptions withProfiling(boolean on) {
        return new QueueOptions(outOfOrder, on, priority);
    }

    /** These options with priority {@code value}. */
    public QueueOptions withPriority(int value) {
        return new QueueOptions(outOfOrder, profiling, value);
    }
}
