package io.ferry.client;

import io.ferry.protocol.NativeError;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;

/**
 * A call failed. {@link #status()} says what kind of failure; the message says what was wrong and what to do.
 * When the failure is a sticky error of an earlier one-way call, {@link #failedCall()} names that call.
 */
public class FerryException extends RuntimeException {
    private final Status status;
    private final FailedCall failedCall;
    private long nativeError;

    /** The one-way call that failed: its sequence number on this connection and its kind. */
    public record FailedCall(long seq, Op op) {
    }

    /**
     * The device API's own error of a failed call: {@code api} {@link NativeError#OPENCL} (an OpenCL {@code cl_int},
     * e.g. -59 for CL_INVALID_OPERATION), {@link NativeError#CUDA} (a {@code CUresult}) or {@link NativeError#NVRTC}.
     */
    public record DeviceError(int api, int code) {
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

    /**
     * The device API's own error, when the device failed the call and the host passed its code on (docs/protocol.md
     * §2.2, "Native error"); empty when the failure is Ferry's own (a check, a quota, the transport).
     */
    public java.util.Optional<DeviceError> deviceError() {
        int api = NativeError.api(nativeError);
        return api == 0 ? java.util.Optional.empty()
                : java.util.Optional.of(new DeviceError(api, NativeError.code(nativeError)));
    }

    /** Sets the native error word of the completion that reported this failure; returns this. */
    FerryException nativeError(long word) {
        this.nativeError = word;
        return this;
    }
}
