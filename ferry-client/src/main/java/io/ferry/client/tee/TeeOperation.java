package io.ferry.client.tee;

import io.ferry.protocol.TeeLane;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The four parameters of an OpenSession or InvokeCommand (TEEC_Operation), and its cancellation. After the call
 * returns (also with an error) the parameters hold the TEE's answer: output values, and memref sizes. Use an
 * operation for one call at a time. A null parameter is {@code TEEC_NONE}. Misuse (an index outside 0–3, asking a
 * value of a memref) throws {@link TeeException} BAD_PARAMETERS with origin API.
 */
public final class TeeOperation {
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();
    private static final int NEW = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;

    private final TeeParam[] params = new TeeParam[4];
    /** During a ring call: the heap word the host watches; during a direct call: the lane and the call's number. */
    private MemorySegment cancelWord;
    private TeeLane cancelLane;
    private long cancelSeq;
    private boolean cancelled;
    /** GP's {@code started}: NEW until the first call starts, RUNNING during a call, DONE after one returned. */
    private int state = NEW;

    public TeeOperation() {
        for (int i = 0; i < 4; i++) {
            params[i] = TeeParam.none();
        }
    }

    public TeeOperation(TeeParam p0, TeeParam p1, TeeParam p2, TeeParam p3) {
        params[0] = orNone(p0);
        params[1] = orNone(p1);
        params[2] = orNone(p2);
        params[3] = orNone(p3);
    }

    public static TeeOperation of(TeeParam... ps) {
        if (ps != null && ps.length > 4) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "an operation has 4 parameters");
        }
        TeeOperation op = new TeeOperation();
        for (int i = 0; ps != null && i < ps.length; i++) {
            op.params[i] = orNone(ps[i]);
        }
        return op;
    }

    private static TeeParam orNone(TeeParam p) {
        return p == null ? TeeParam.none() : p;
    }

    private static int index(int i) {
        if (i < 0 || i > 3) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "parameter " + i
                    + " does not exist: an operation has parameters 0 to 3");
        }
        return i;
    }

    public TeeParam param(int i) {
        return params[index(i)];
    }

    /** Sets parameter {@code i} (null: NONE). */
    public TeeOperation param(int i, TeeParam p) {
        params[index(i)] = orNone(p);
        return this;
    }

    /** Parameter {@code i} as a value (after a call: the output). */
    public TeeParam.Value value(int i) {
        if (params[index(i)] instanceof TeeParam.Value v) {
            return v;
        }
        throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "parameter " + i + " is not a value");
    }

    /** The size of memref {@code i} (after a call: the size the TA reported, which may exceed the memref). */
    public long size(int i) {
        return switch (params[index(i)]) {
            case TeeParam.TempMemref m -> m.size();
            case TeeParam.RegisteredMemref m -> m.size();
            default -> throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "parameter " + i
                    + " is not a memref");
        };
    }

    /** The packed GP paramTypes. */
    public int paramTypes() {
        return params[0].type() | params[1].type() << 4 | params[2].type() << 8 | params[3].type() << 12;
    }

    /**
     * TEEC_RequestCancellation: asks the host to cancel this operation's call, from any thread (on a session's direct
     * lane, asks the TA's process: the lane's CANCEL_SEQ). On an operation not used yet, its first call answers CANCEL
     * at once; during a call, the call is cancelled if the TEE and TA honour it; after a call returned it has no
     * effect (GP), also not on a later call with the same operation: to cancel ahead of a call, use a new operation.
     */
    public synchronized void cancel() {
        switch (state) {
            case NEW -> cancelled = true;
            case RUNNING -> {
                cancelled = true;
                if (cancelLane != null) {
                    cancelLane.requestCancel(cancelSeq);
                } else {
                    // Release: pairs with the host's acquire read of the word while it waits for the TEE.
                    WORD.setRelease(cancelWord, 0L, 1L);
                }
            }
            default -> {
            }
        }
    }

    synchronized void started(MemorySegment word) {
        cancelWord = word;
        WORD.setRelease(word, 0L, cancelled ? 1L : 0L);
        state = RUNNING;
    }

    /**
     * A direct call numbered {@code seq} starts on {@code lane}: a cancel from now on writes its number to the lane's
     * CANCEL_SEQ. Answers whether the operation was cancelled before its first use (the call then answers CANCEL
     * without being made, and must still call {@link #finished}).
     */
    synchronized boolean startedDirect(TeeLane lane, long seq) {
        cancelLane = lane;
        cancelSeq = seq;
        state = RUNNING;
        return cancelled;
    }

    synchronized void finished() {
        cancelWord = null;
        cancelLane = null;
        cancelled = false;
        state = DONE;
    }
}
