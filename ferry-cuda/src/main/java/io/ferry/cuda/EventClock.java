package io.ferry.cuda;

/**
 * Nanosecond timestamps for the CUDA events of one device context. Pure Java over {@link Device}, so its precision is
 * tested without a GPU.
 *
 * <p>The driver tells only the time between two events, as float milliseconds ({@code cuEventElapsedTime}). A float
 * has a 24-bit mantissa, so measured from one epoch event the steps grow with the distance: 61 ns after a second,
 * 0.25 ms after an hour. So each event is timed against an <b>anchor</b>: an event recorded on the context's null
 * stream when the event's command was enqueued, at most {@link #ANCHOR_NANOS} of host time after the previous
 * anchor. An anchor's own time is the previous anchor's plus the float between the two (about a second: a step of
 * 61 ns, an error of half that at most, with no bias); the first anchor is time 0. So an event's time is as precise
 * as the distance from its anchor allows (a command that waits long in its queue gets coarser steps), and two
 * events' difference is as precise as the driver's own elapsed time between them.
 *
 * <p>An anchor is synchronized when recorded (a few microseconds; our streams do not block on the null stream) so
 * that its time is known at once, and destroyed once it is neither the current anchor nor used by a live event.
 * Calls come from the session's one thread at a time.
 */
final class EventClock {
    /** How old (in host time) the current anchor may be when an event takes it. */
    static final long ANCHOR_NANOS = 1_000_000_000L;

    /** What the clock needs from the driver (the context current). */
    interface Device {
        /** Records a timing event on the null stream and waits for it; returns its handle. */
        long recordAndWait() throws io.ferry.spi.BackendException;

        /** Milliseconds from {@code from} to {@code to}, or NaN when the driver cannot say. */
        float elapsedMillis(long from, long to);

        void destroy(long event);
    }

    /** An anchor event and its time in nanoseconds since the clock's first anchor. */
    static final class Anchor {
        final long event;
        final long nanos;
        private int users;

        Anchor(long event, long nanos) {
            this.event = event;
            this.nanos = nanos;
        }
    }

    private final Device device;
    private Anchor current;
    private long currentAt;

    /** Records the first anchor, time 0, at host time {@code hostNanos}. */
    EventClock(Device device, long hostNanos) throws io.ferry.spi.BackendException {
        this.device = device;
        this.current = new Anchor(device.recordAndWait(), 0);
        this.currentAt = hostNanos;
    }

    /** The anchor for an event recorded now ({@code hostNanos}); release it with {@link #release}. */
    Anchor take(long hostNanos) throws io.ferry.spi.BackendException {
        if (hostNanos - currentAt >= ANCHOR_NANOS) {
            long event = device.recordAndWait();
            float ms = device.elapsedMillis(current.event, event);
            long step = Float.isNaN(ms) || ms < 0 ? hostNanos - currentAt : Math.round((double) ms * 1e6);
            Anchor old = current;
            current = new Anchor(event, old.nanos + step);
            currentAt = hostNanos;
            if (old.users == 0) {
                device.destroy(old.event);
            }
        }
        current.users++;
        return current;
    }

    /** The time of {@code event} (complete), in nanoseconds on this clock; -1 when the driver cannot say. */
    long nanos(Anchor anchor, long event) {
        float ms = device.elapsedMillis(anchor.event, event);
        return Float.isNaN(ms) ? -1 : anchor.nanos + Math.round((double) ms * 1e6);
    }

    /** An event that took {@code anchor} is gone. */
    void release(Anchor anchor) {
        if (--anchor.users == 0 && anchor != current) {
            device.destroy(anchor.event);
        }
    }

    /** Destroys the current anchor (the context is closing; events still holding older ones go with it). */
    void close() {
        device.destroy(current.event);
    }
}
