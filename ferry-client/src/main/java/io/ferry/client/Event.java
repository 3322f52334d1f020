package io.ferry.client;

import io.ferry.protocol.Calls;

/** Marks the completion of one enqueued command. */
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
