package io.ferry.client;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;

/**
 * A call failed. {@link #status()} says what kind of failure; the message says what was wrong and what to do.
 * When the failure is a sticky error of an earlier one-way call, {@link #failedCall()} names that call.
 */
public class FerryException extends RuntimeException {
    private final Status status;
    private final FailedCall failedCall;

    /** The one-way call that failed: its sequence number on this connection and its kind. */
    public record FailedCall(long seq, Op op) {
    }

    public FerryException(Status status, String message) {
        this(status, message, null);
    }

    public FerryException(Status status, String message, FailedCall failedCall) {
        this(status, message, failedCall, true);
    }

    /** {@code withHint} false: {@code message} already says what to do, and the status's general hint would mislead. */
    FerryException(Status status, String message, FailedCall failedCall, boolean withHint) {
        super(text(status, message, withHint));
        this.status = status;
        this.failedCall = failedCall;
    }

    /** "status message: message (hint)"; the hint once, left out where the message already says it. */
    private static String text(Status status, String message, boolean withHint) {
        String hint = status.hint();
        boolean said = !withHint || hint.isEmpty() || message.contains(hint);
        return status.message() + ": " + message + (said ? "" : " (" + hint + ")");
    }

    public Status status() {
        return status;
    }

    /** The earlier one-way call this error reports, or null when the failing call is the one just made. */
    public FailedCall failedCall() {
        return failedCall;
    }
}
