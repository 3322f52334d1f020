package io.ferry.client;

import io.ferry.protocol.EventCalls;

/**
 * An event the application completes itself (OpenCL's user event, {@code clCreateUserEvent}): commands that list it
 * in their {@code waitFor} do not start before {@link #complete()}, and fail after {@link #fail(int)}. Its status is
 * set once. Closing it before it was set fails it (so nothing waits for it forever); so does the session's end.
 *
 * <p>While a user event is not set, waiting for a command that depends on it ({@link Event#await()},
 * {@link CommandQueue#finish()} of its queue) is refused with an error that names the user event: the host serves a
 * connection's calls in order, so that wait could never end.
 */
public final class UserEvent extends Event {
    UserEvent(Ferry ferry, long handle) {
        super(ferry, handle);
    }

    /** Completes the event: the commands that wait for it may start. Throws if it was already set. */
    public void complete() {
        set(0);
    }

    /**
     * Fails the event with {@code status} (negative, an OpenCL-style error code): commands that wait for it fail.
     * Throws if it was already set.
     */
    public void fail(int status) {
        if (status >= 0) {
            throw new IllegalArgumentException("a user event fails with a negative status, not " + status);
        }
        set(status);
    }

    private void set(int status) {
        channel().call(new EventCalls.UserEventSet(), null, c -> c.event(handle).executionStatus(status));
    }
}
