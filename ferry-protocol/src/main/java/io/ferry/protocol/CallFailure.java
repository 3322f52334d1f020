package io.ferry.protocol;

/**
 * Identifies a failed call for sticky-error reports: the completion of the synchronous call that surfaces a sticky
 * error carries the failing call's sequence number in result 0 and its opcode in result 1 (result 2 = 1 marks the
 * report as sticky, result 3 the device API's own code: {@link NativeError}).
 */
public record CallFailure(long seq, Op op, Status status, String message, long nativeError) {

    /** A failure of Ferry's own (no device API code). */
    public CallFailure(long seq, Op op, Status status, String message) {
        this(seq, op, status, message, NativeError.NONE);
    }

    /** "BUFFER_WRITE (call #42) failed: range outside the object: ..." */
    public String describe() {
        return (op == null ? "call" : op.name()) + " (call #" + seq + ") failed: " + message;
    }
}
