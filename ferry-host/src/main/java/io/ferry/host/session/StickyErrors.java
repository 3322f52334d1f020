package io.ferry.host.session;

import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Op;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;

/**
 * The failures of one-way calls not yet reported: each is kept (first one wins) on the call's queue, or on the
 * session for calls without a queue, and reported by the next synchronous call, naming the failed call.
 * Endpoint thread only.
 */
final class StickyErrors implements SessionService.FailureSink {
    private final HandleTable handles;
    private final io.ferry.protocol.Calls.Finish finish = new io.ferry.protocol.Calls.Finish();
    private CallFailure sticky;
    private int suppressed;

    StickyErrors(HandleTable handles) {
        this.handles = handles;
    }

    /** Keeps a one-way failure for the next synchronous call: on its queue if it has one, else on the session. */
    @Override
    public void file(CallFailure f, Op op, long firstArg) {
        HandleTable.Entry queue = null;
        if (op != null && op.argCount() > 0 && "queue".equals(op.argNames().getFirst())) {
            HandleTable.Entry e = handles.find(firstArg);
            queue = e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        if (queue != null) {
            if (queue.sticky == null || f.seq() < queue.sticky.seq()) {
                queue.sticky = f;
            } else {
                queue.suppressed++;
            }
        } else if (sticky == null || f.seq() < sticky.seq()) {
            sticky = f;
        } else {
            suppressed++;
        }
    }

    /** Counts a failure that is not kept (a repeat of one already kept on the session). */
    void suppress() {
        suppressed++;
    }

    /** The session's own sticky failure (not a queue's), or null. */
    CallFailure sessionSticky() {
        return sticky;
    }

    /** Replaces the session's sticky failure (to add a count to its message). */
    void replaceSessionSticky(CallFailure f) {
        sticky = f;
    }

    /** The earliest unreported one-way failure this synchronous call must surface, removed from its slot. */
    CallFailure take(Op op, MemorySegment rec) {
        HandleTable.Entry queue = null;
        if (op == Op.FINISH) {
            HandleTable.Entry e = handles.find(finish.wrap(rec, 0).queue());
            queue = e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        CallFailure fromQueue = queue == null ? null : queue.sticky;
        if (sticky != null && (fromQueue == null || sticky.seq() < fromQueue.seq())) {
            CallFailure f = sticky;
            sticky = null;
            suppressed = 0;
            return f;
        }
        if (fromQueue != null) {
            queue.sticky = null;
            queue.suppressed = 0;
        }
        return fromQueue;
    }
}
