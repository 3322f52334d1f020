package io.ferry.host.session;

import io.ferry.protocol.Status;

/**
 * A call failed for a reason the guest should hear about; the session goes on. Services throw it from their call
 * handlers; the session turns it into an error completion or a sticky error.
 */
public final class CallException extends Exception {
    private final Status status;
    private final long follows;
    private final long nativeError;

    public CallException(Status status, String message) {
        this(status, message, 0);
    }

    /** A backend's failure, with the device API's own code when it has one. */
    public CallException(io.ferry.spi.BackendException e) {
        super(e.getMessage(), null, false, false);
        this.status = e.status();
        this.follows = 0;
        this.nativeError = e.nativeError();
    }

    /**
     * A follow-on failure: this call failed because the earlier one-way call {@code follows} (its seq) failed; it is
     * reported with that call's failure while that one is unreported (see {@code StickyErrors}).
     */
    public CallException(Status status, String message, long follows) {
        super(message, null, false, false);
        this.status = status;
        this.follows = follows;
        this.nativeError = 0;
    }

    /** The device API's own code of the failure ({@link io.ferry.protocol.NativeError}), or 0. */
    public long nativeError() {
        return nativeError;
    }

    /** The seq of the earlier failed call that caused this failure, or 0. */
    public long follows() {
        return follows;
    }

    public Status status() {
        return status;
    }
}
