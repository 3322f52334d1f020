package io.ferry.cli.vm;

/** The VM could not be prepared or run; the message says what failed and what to do. */
public final class VmException extends RuntimeException {
    public VmException(String message) {
        super(message);
    }

    public VmException(String message, Throwable cause) {
        super(message, cause);
    }
}
