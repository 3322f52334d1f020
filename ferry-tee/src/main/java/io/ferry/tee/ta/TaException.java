package io.ferry.tee.ta;

/** Ends a TA call with a return code (not a panic): thrown by {@link TaStorage} and usable by TAs. */
public class TaException extends RuntimeException {
    private final int code;

    public TaException(int code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public int code() {
        return code;
    }
}
