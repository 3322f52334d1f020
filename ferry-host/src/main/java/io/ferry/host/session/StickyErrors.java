package io.ferry.host.session;

import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;

/**
 * The failures of one-way calls not yet reported, by <em>scope</em>, and the rules that make each failure surface at
 * the call that caused it, once. Endpoint thread only.
 *
 * <p>Scopes: a failed call whose first argument is a queue (device commands, hints) is filed on that queue; any other
 * failed call (creations, kernel arguments, releases) on the session. Each scope keeps its earliest failure and a
 * count of the later ones.
 *
 * <p>Rules:
 * <ol>
 * <li>A synchronous call consumes every failure filed before it on its scope: FINISH of a queue takes that queue's
 * and the session's failures; any other synchronous call takes the session's. It reports the earliest, with the
 * number of the others ("and 2 later failures on this queue, not reported separately"), and clears them, so nothing
 * filed before it surfaces at a later, unrelated call.</li>
 * <li>A <em>follow-on</em> failure, caused by an earlier failed call ({@link CallException#follows()}: a LAUNCH whose
 * argument was not set because its KERNEL_ARG_* failed), is not reported on its own while its cause is still
 * unreported: it is counted with the cause. Once the cause was reported, the follow-on is filed as any failure (its
 * message names the cause).</li>
 * </ol>
 */
final class StickyErrors implements SessionService.FailureSink {
    private final HandleTable handles;
    private final Calls.Finish finish = new Calls.Finish();
    /** The session's earliest unreported failure and how many came after it. */
    private CallFailure sticky;
    private int later;
    /** Seq of the last synchronous call that took the session's failures: a session failure after it is unreported. */
    private long sessionTakenAt;

    StickyErrors(HandleTable handles) {
        this.handles = handles;
    }

    /** Keeps a one-way failure for the next synchronous call: on its queue if it has one, else on the session. */
    @Override
    public void file(CallFailure f, Op op, long firstArg) {
        file(f, op, firstArg, 0);
    }

    /**
     * As {@link #file(CallFailure, Op, long)}; {@code follows}: the seq of the failed call that caused this one (0:
     * none). A follow-on of a failure still unreported is only counted with it.
     */
    void file(CallFailure f, Op op, long firstArg, long follows) {
        if (follows != 0 && follows > sessionTakenAt && sticky != null && sticky.seq() <= follows) {
            later++; // the cause (a session-scope call) is still to be reported: this one goes with it
            return;
        }
        HandleTable.Entry queue = queueOf(op, firstArg);
        if (queue == null) {
            if (sticky == null || f.seq() < sticky.seq()) {
                later += sticky == null ? 0 : 1;
                sticky = f;
            } else {
                later++;
            }
        } else if (queue.sticky == null || f.seq() < queue.sticky.seq()) {
            queue.suppressed += queue.sticky == null ? 0 : 1;
            queue.sticky = f;
        } else {
            queue.suppressed++;
        }
    }

    private HandleTable.Entry queueOf(Op op, long firstArg) {
        if (op != null && op.argCount() > 0 && "queue".equals(op.argNames().getFirst())) {
            HandleTable.Entry e = handles.find(firstArg);
            return e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        return null;
    }

    /** A refusal that is not kept (the one-way quota counts its own refusals in the one it keeps). */
    void suppress() {
        // counted by OneWayQuota in the message of the refusal it keeps
    }

    /** The session's own sticky failure (not a queue's), or null. */
    CallFailure sessionSticky() {
        return sticky;
    }

    /** Replaces the session's sticky failure (to add a count to its message). */
    void replaceSessionSticky(CallFailure f) {
        sticky = f;
    }

    /**
     * The earliest unreported failure of the scope of synchronous call {@code seq} ({@code op}, record {@code rec}),
     * with the count of the others in its message; every failure of the scope is cleared. Null: none.
     */
    CallFailure take(Op op, MemorySegment rec, long seq) {
        HandleTable.Entry queue = null;
        if (op == Op.FINISH) {
            HandleTable.Entry e = handles.find(finish.wrap(rec, 0).queue());
            queue = e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        CallFailure fromQueue = queue == null ? null : queue.sticky;
        CallFailure first;
        int others;
        if (fromQueue == null) {
            first = sticky;
            others = later;
        } else if (sticky == null) {
            first = fromQueue;
            others = queue.suppressed;
        } else {
            first = sticky.seq() < fromQueue.seq() ? sticky : fromQueue;
            others = later + queue.suppressed + 1;
        }
        sticky = null;
        later = 0;
        sessionTakenAt = seq;
        if (queue != null) {
            queue.sticky = null;
            queue.suppressed = 0;
        }
        if (first == null || others == 0) {
            return first;
        }
        return new CallFailure(first.seq(), first.op(), first.status(), first.message() + " (and " + others
                + " later failure" + (others == 1 ? "" : "s") + (queue != null ? " on this queue" : " in this session")
                + ", not reported separately)", first.nativeError());
    }
}
