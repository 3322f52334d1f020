package io.ferry.channel;

import io.ferry.protocol.Status;

/**
 * A region file could not be created, opened or trusted. The message says what was wrong (with the values
 * read) and what to do; {@link #status()} gives the protocol status to report to a peer or caller.
 */
public class RegionException extends RuntimeException {

    private final Status status;

    public RegionException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public RegionException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The status that best describes the failure, e.g. {@link Status#VERSION_MISMATCH}. */
    public Status status() {
        return status;
    }
}
