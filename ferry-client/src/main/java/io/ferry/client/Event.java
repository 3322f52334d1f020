package io.ferry.client;

import io.ferry.protocol.Calls;

/**
 * Marks the completion of one enqueued command. An event is a host object: it counts against the guest's object
 * quota (4096 by default) and holds its host resources until {@link #close()}, even after the command completed.
 * Close every event, best with try-with-resources:
 *
 * <pre>{@code
 * try (Event e = queue.launchWithEvent(kernel, global, null)) {
 *     e.await();
 * }
 * }</pre>
 *
 * An event that becomes unreachable unclosed is released by Ferry's cleaner, late, and the first one logs a
 * warning (see docs/client.md#lifetimes).
 */
public final class Event extends Remote {
    /** Device timestamps of the command (zeros unless the queue was created with profiling). */
    public record Times(long startNanos, long endNanos) {
        public long durationNanos() {
            return endNanos - startNanos;
        }
    }

    Event(Ferry ferry, long handle) {
        super(ferry, handle);
    }

    /** Waits for the command to complete. */
    public Times await() {
        Channel.Completion c = channel().call(new Calls.EventWait(), null, w -> w.event(handle));
        return new Times(c.r0(), c.r1());
    }
}
