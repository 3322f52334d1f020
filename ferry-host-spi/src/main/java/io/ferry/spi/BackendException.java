package io.ferry.spi;

import io.ferry.protocol.Status;

/**
 * A failure a backend reports for one call. The message is for the guest: it names the native call and its
 * error (e.g. {@code "clEnqueueNDRangeKernel: CL_INVALID_WORK_GROUP_SIZE (-54)"}) and, where it helps, what to do.
 */
public class BackendException extends Exception {
    private final Status status;
    private final long nativeError;

    public BackendException(Status status, String message) {
        this(status, message, io.ferry.protocol.NativeError.NONE);
    }

    /** A failure the device API reported: {@code nativeError} is its code ({@link io.ferry.protocol.NativeError}). */
    public BackendException(Status status, String message, long nativeError) {
        super(message);
        this.status = status;
        this.nativeError = nativeError;
    }

    public BackendException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.nativeError = io.ferry.protocol.NativeError.NONE;
    }

    public Status status() {
        return status;
    }

    /** The device API's own code of the failure ({@link io.ferry.protocol.NativeError}), or 0. */
    public long nativeError() {
        return nativeError;
    }

    /**
     * The message for a failed native call, as every backend words it: {@code "<function>: <NAME> (<code>)"}, then
     * {@code "; <context>"} when context is neither null nor empty.
     */
    public static String nativeMessage(String function, String codeName, int code, String context) {
        String base = function + ": " + codeName + " (" + code + ")";
        return context == null || context.isEmpty() ? base : base + "; " + context;
    }
}
