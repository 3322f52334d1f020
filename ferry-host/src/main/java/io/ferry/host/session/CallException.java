package io.ferry.host.session;

import io.ferry.protocol.Status;

/**
 * A call failed for a reason the guest should hear about; the session goes on. Services throw it from their call
 * handlers; the session turns it into an error completion or a sticky error.
 */
public final class CallException extends Exception {
    private final Status status;
    private final long follows;

    public CallException(Status status, String message) {
        this(status, message, 0);
    }

    /**
     * A follow-on failure: this call failed because the earlier one-way call {@code follows} (its seq) failed; it is
     * reported with that call's failure while that one is unreported (see {@code StickyErrors}).
     */
    public CallException(Status status, String message, long follows) {
        super(message, null, false, false);
        this.status = status;
        this.follows = follows;
    }

    /** The seq of the earlier failed call that caused this failure, or 0. */
    public long follows() {
        return follows;
    }

    public Status status() {
        return status;
    }
}
