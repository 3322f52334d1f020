package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.Status;

/**
 * Marks the completion of one enqueued command (OpenCL's {@code cl_event}): pass it in another command's
 * {@code waitFor} list to order the two, {@link #await()} it, or ask its {@link #status()}. Closing it releases it
 * on the host (the command still runs).
 *
 * <p>An event is a host object: it counts against the guest's object quota (4096 by default) and holds its host
 * resources until {@link #close()}, even after the command completed. Close every event, best with
 * try-with-resources:
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
public sealed class Event extends Remote permits UserEvent {
    /**
     * Device timestamps of the command in ns (zeros unless the queue was created with profiling): when it started
     * and ended on the device, and, where the device records them, when it was queued and submitted (else 0).
     */
    public record Times(long startNanos, long endNanos, long queuedNanos, long submitNanos) {
        /** Start and end only. */
        public Times(long startNanos, long endNanos) {
            this(startNanos, endNanos, 0, 0);
        }

        public long durationNanos() {
            return endNanos - startNanos;
        }
    }

    /** Where a command is (OpenCL's execution status). */
    public enum ExecutionStatus {
        /** In the queue, not yet handed to the device. */
        QUEUED,
        /** Handed to the device. */
        SUBMITTED,
        /** Running on the device. */
        RUNNING,
        /** Completed. */
        COMPLETE,
        /** Failed: it, or an event it waited for, failed (a failed user event, say). */
        ERROR
    }

    Event(Ferry ferry, long handle) {
        super(ferry, handle);
    }

    /**
     * Waits for the command to complete and returns its times. Throws when it failed, or when it waits for a user
     * event not yet set (the wait would never end: set the user event first).
     */
    public Times await() {
        Channel.Completion c = channel().call(new Calls.EventWait(), null, w -> w.event(handle));
        long start = c.r0();
        long end = c.r1();
        if (start < 0 || end < 0 || (start != 0 && end != 0 && end < start) || c.r2() < 0 || c.r3() < 0) {
            throw new FerryException(Status.INTERNAL, "EVENT_WAIT of event " + handle + ": the host answered times "
                    + "start " + start + ", end " + end + ", queued " + c.r2() + ", submit " + c.r3()
                    + " ns, which are no device times");
        }
        return new Times(start, end, c.r2(), c.r3());
    }

    /** The command's execution status now, without waiting (a synchronous call). */
    public ExecutionStatus status() {
        long s = channel().call(new EventCalls.EventStatus(), null, w -> w.event(handle)).r0();
        if (s < 0 && s >= Integer.MIN_VALUE) {
            return ExecutionStatus.ERROR;
        }
        return switch ((int) Math.min(s, 4)) {
            case 0 -> ExecutionStatus.COMPLETE;
            case 1 -> ExecutionStatus.RUNNING;
            case 2 -> ExecutionStatus.SUBMITTED;
            case 3 -> ExecutionStatus.QUEUED;
            default -> throw new FerryException(Status.INTERNAL, "EVENT_STATUS of event " + handle
                    + ": the host answered execution status " + s + ", which is none");
        };
    }

    /** The handles of {@code events}, for a wait list (null or empty: none). */
    static long[] handles(Event... events) {
        if (events == null || events.length == 0) {
            return null;
        }
        long[] out = new long[events.length];
        for (int i = 0; i < events.length; i++) {
            if (events[i] == null) {
                throw new IllegalArgumentException("waitFor[" + i + "] is null: pass events only");
            }
            out[i] = events[i].handle;
        }
        return out;
    }
}
