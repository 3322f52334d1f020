package io.ferry.host.session;

import io.ferry.protocol.Status;

/**
 * A call failed for a reason the guest should hear about; the session goes on. Services throw it from their call
 * handlers; the session turns it into an error completion or a sticky error.
 */
public final class CallException extends Exception {
    private final Status status;

    public CallException(Status status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public Status status() {
        return status;
    }
}
