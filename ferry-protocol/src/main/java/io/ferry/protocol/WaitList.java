package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The wait list of a call that enqueues a device command: its argument {@code waits} counts the events the command
 * waits for, and its blob starts with that many u64 event handles (little endian), followed by the op's own payload
 * (BUFFER_FILL's pattern), if any.
 *
 * <pre>
 *  blob: | event handle 0 (u64) | ... | event handle waits-1 (u64) | payload (op-specific, may be empty) |
 * </pre>
 *
 * The host accepts at most {@link #MAX} events per command and checks each handle as an event of the session.
 */
public final class WaitList {
    /** Most events one command may wait for. */
    public static final int MAX = 64;
    /** How {@link Op} describes such a blob. */
    static final String BLOB = "wait list (waits x u64 event handles)";

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final long[] NONE = new long[0];

    private WaitList() {
    }

    /**
     * What is wrong with a wait list of {@code waits} handles in a blob of {@code blobLength} bytes, or null when the
     * count is in 0..{@link #MAX} and the blob holds that many handles.
     */
    public static String problem(String op, long waits, int blobLength) {
        if (waits < 0 || waits > MAX) {
            return op + ": a wait list of " + waits + " events; a command waits for 0 to " + MAX + " events";
        }
        if (8L * waits > blobLength) {
            return op + ": a wait list of " + waits + " events needs " + 8 * waits + " bytes of blob, the call carries "
                    + blobLength;
        }
        return null;
    }

    /** The handles of a wait list already checked with {@link #problem}. */
    public static long[] handles(CallRecord call, long waits) {
        if (waits == 0) {
            return NONE;
        }
        MemorySegment blob = call.blob();
        long[] out = new long[(int) waits];
        for (int i = 0; i < out.length; i++) {
            out[i] = blob.get(LONG, 8L * i);
        }
        return out;
    }

    /** What follows the wait list in the blob (the op's payload). */
    public static MemorySegment payload(CallRecord call, long waits) {
        MemorySegment blob = call.blob();
        return blob.asSlice(8L * waits);
    }

    /** A blob of {@code handles} followed by {@code payload} (may be null). */
    public static byte[] encode(long[] handles, MemorySegment payload) {
        int n = handles == null ? 0 : handles.length;
        long extra = payload == null ? 0 : payload.byteSize();
        byte[] out = new byte[Math.toIntExact(8L * n + extra)];
        MemorySegment s = MemorySegment.ofArray(out);
        for (int i = 0; i < n; i++) {
            s.set(LONG, 8L * i, handles[i]);
        }
        if (extra > 0) {
            MemorySegment.copy(payload, 0, s, 8L * n, extra);
        }
        return out;
    }
}
