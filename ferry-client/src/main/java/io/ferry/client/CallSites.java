package io.ferry.client;

import java.util.Set;

/**
 * Where the guest's code made its recent one-way calls, so that a failure the host reports later (at a FINISH) names
 * the line that made the call: "at com.example.App.main(App.java:42)".
 *
 * <p>Capturing costs a stack walk: about 1.3 us per call on the build machine (a {@link StackWalker} walk to the first
 * frame outside {@code io.ferry.client}), several times a one-way call's own cost. So it is not done on every call:
 * <ul>
 * <li>during the first {@link #STARTUP_CALLS} one-way calls of a connection (where set-up mistakes are made; a few
 * milliseconds in all);</li>
 * <li>from the first failure the host reports onwards (code that made one mistake is likely to make another);</li>
 * <li>never for NOP (benchmarked).</li>
 * </ul>
 * A failure of a call made outside these windows names the call (its op and sequence number) but not the line;
 * {@link Ferry#debug(boolean)} then throws at the call itself.
 *
 * <p>Bounded: the frames of the last {@link #SLOTS} captured calls, by sequence number; a failure reported after more
 * calls than that names no line. Used under the channel's send lock.
 */
final class CallSites {
    static final int SLOTS = 1024;
    static final int STARTUP_CALLS = 4096;
    private static final StackWalker WALKER = StackWalker.getInstance(Set.of(), 8);
    private static final String PACKAGE = "io.ferry.client.";

    private final long[] seqs = new long[SLOTS];
    private final StackWalker.StackFrame[] frames = new StackWalker.StackFrame[SLOTS];
    private int startup = STARTUP_CALLS;
    private boolean always;

    /** Captures the caller of the API for call {@code seq}, if capture is on now. */
    void capture(long seq) {
        if (!always) {
            if (startup == 0) {
                return;
            }
            startup--;
        }
        int i = (int) (seq & (SLOTS - 1));
        seqs[i] = seq;
        frames[i] = WALKER.walk(s -> s.filter(f -> !f.getClassName().startsWith(PACKAGE)).findFirst().orElse(null));
    }

    /** Capture is on for every later call (a failure was reported). */
    void alwaysOn() {
        always = true;
    }

    /** "com.example.App.main(App.java:42)" for call {@code seq}, or null when it was not captured (or is gone). */
    String where(long seq) {
        int i = (int) (seq & (SLOTS - 1));
        StackWalker.StackFrame f = seqs[i] == seq ? frames[i] : null;
        if (f == null) {
            return null;
        }
        return f.getClassName() + "." + f.getMethodName() + "(" + (f.getFileName() == null ? "Unknown Source"
                : f.getFileName() + ":" + f.getLineNumber()) + ")";
    }
}
