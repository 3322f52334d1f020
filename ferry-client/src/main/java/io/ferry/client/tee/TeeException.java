package io.ferry.client.tee;

/**
 * A TEE call did not succeed: carries the GP return code and origin (see {@link TeeResult}). The only exception the
 * methods of this package throw; the message says what was wrong and, where it can, what to do.
 */
public final class TeeException extends RuntimeException {
    private final int code;
    private final int origin;

    public TeeException(int code, int origin, String message) {
        super(new TeeResult(code, origin) + ": " + message + hint(code, origin));
        this.code = code;
        this.origin = origin;
    }

    public TeeException(int code, int origin, String message, Throwable cause) {
        this(code, origin, message, cause, true);
    }

    /** With {@code hint} false, the message already says what to do: no general hint is added. */
    TeeException(int code, int origin, String message, Throwable cause, boolean hint) {
        super(new TeeResult(code, origin) + ": " + message + (hint ? hint(code, origin) : ""), cause);
        this.code = code;
        this.origin = origin;
    }

    public int code() {
        return code;
    }

    public int origin() {
        return origin;
    }

    public TeeResult result() {
        return new TeeResult(code, origin);
    }

    private static String hint(int code, int origin) {
        return switch (code) {
            case TeeResult.ERROR_ACCESS_DENIED -> " (the host's TEE policy does not allow this; ask the operator)";
            case TeeResult.ERROR_TARGET_DEAD -> " (the trusted application died; open a new session)";
            case TeeResult.ERROR_SECURITY -> origin == TeeResult.ORIGIN_TEE
                    ? " (the TA image is not signed by a trusted key or was altered)" : "";
            case TeeResult.ERROR_SHORT_BUFFER -> " (the parameter's size now says how many bytes are needed)";
            case TeeResult.ERROR_COMMUNICATION -> " (the connection to the host or the TEE failed)";
            default -> "";
        };
    }
}
