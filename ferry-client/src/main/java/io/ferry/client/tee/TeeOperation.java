package io.ferry.client.tee;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The four parameters of an OpenSession or InvokeCommand (TEEC_Operation), and its cancellation. After the call
 * returns (also with an error) the parameters hold the TEE's answer: output values, and memref sizes. Use an
 * operation for one call at a time.
 */
public final class TeeOperation {
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    private final TeeParam[] params = new TeeParam[4];
    private MemorySegment cancelWord;
    private boolean cancelled;

    public TeeOperation() {
        for (int i = 0; i < 4; i++) {
            params[i] = TeeParam.none();
        }
    }

    public TeeOperation(TeeParam p0, TeeParam p1, TeeParam p2, TeeParam p3) {
        params[0] = p0;
        params[1] = p1;
        params[2] = p2;
        params[3] = p3;
    }

    public static TeeOperation of(TeeParam... ps) {
        if (ps.length > 4) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "an operation has 4 parameters");
        }
        TeeOperation op = new TeeOperation();
        for (int i = 0; i < ps.length; i++) {
            op.params[i] = ps[i];
        }
        return op;
    }

    public TeeParam param(int i) {
        return params[i];
    }

    public TeeOperation param(int i, TeeParam p) {
        params[i] = p;
        return this;
    }

    /** Parameter {@code i} as a value (after a call: the output). */
    public TeeParam.Value value(int i) {
        return (TeeParam.Value) params[i];
    }

    /** The size of memref {@code i} (after a call: the size the TA reported). */
    public long size(int i) {
        return switch (params[i]) {
            case TeeParam.TempMemref m -> m.size();
            case TeeParam.RegisteredMemref m -> m.size();
            default -> throw new IllegalArgumentException("parameter " + i + " is not a memref");
        };
    }

    /** The packed GP paramTypes. */
    public int paramTypes() {
        return params[0].type() | params[1].type() << 4 | params[2].type() << 8 | params[3].type() << 12;
    }

    /**
     * TEEC_RequestCancellation: asks the host to cancel this operation's call, from any thread. A call not started
     * yet answers CANCEL at once; a running one is cancelled if the TA honours it.
     */
    public synchronized void cancel() {
        cancelled = true;
        if (cancelWord != null) {
            // Release: pairs with the host's acquire read of the word while it waits for the TEE.
            WORD.setRelease(cancelWord, 0L, 1L);
        }
    }

    synchronized void started(MemorySegment word) {
        cancelWord = word;
        WORD.setRelease(word, 0L, cancelled ? 1L : 0L);
    }

    synchronized void finished() {
        cancelWord = null;
        cancelled = false;
    }
}
