package io.ferry.spi;

import io.ferry.protocol.Status;

/**
 * A failure a backend reports for one call. The message is for the guest: it names the native call and its
 * error (e.g. {@code "clEnqueueNDRangeKernel: CL_INVALID_WORK_GROUP_SIZE (-54)"}) and, where it helps, what to do.
 */
public class BackendException extends Exception {
    private final Status status;

    public BackendException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public BackendException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public Status status() {
        return status;
    }
}
