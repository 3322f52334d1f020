package io.ferry.host;

import io.ferry.protocol.Status;

/** A call failed for a reason the guest should hear about; the session goes on. */
final class CallException extends Exception {
    private final Status status;

    CallException(Status status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    Status status() {
        return status;
    }
}
