package io.ferry.client.tee;

/**
 * An open session to a trusted application (TEEC_Session). Close it to end the session.
 *
 * <p>A session of a process guest usually has a <em>direct lane</em> to its TA instance (docs/tee.md): its invokes
 * then go to the TA's process through a block of the region heap, without the host in the call; a call whose memrefs
 * do not fit the lane, and every call of a session without one, goes through the host. Both answer alike.
 */
public final class TeeSession implements AutoCloseable {
    private final TeeContext context;
    private final long handle;
    /** The direct lane to the TA instance, or null: every invoke goes through the host. */
    private final DirectLane lane;
    private volatile boolean closed;

    TeeSession(TeeContext context, long handle, DirectLane lane) {
        this.context = context;
        this.handle = handle;
        this.lane = lane;
    }

    /**
     * TEEC_InvokeCommand. On return {@code op} holds the TA's answer (output values and memref sizes).
     *
     * @throws TeeException when the result is not SUCCESS (its code and origin; {@code op} is updated too);
     *                      BAD_STATE (origin API) when the session or its context is closed; argument errors
     *                      (origin API) before anything is sent — see {@link TeeContext}
     */
    public void invoke(int command, TeeOperation op) {
        if (closed) {
            throw new TeeException(TeeResult.ERROR_BAD_STATE, TeeResult.ORIGIN_API, "the session is closed");
        }
        context.invoke(handle, lane, command, op == null ? new TeeOperation() : op);
    }

    /** TEEC_InvokeCommand without parameters. */
    public void invoke(int command) {
        invoke(command, null);
    }

    /**
     * Whether this session's invokes go through a direct lane to the TA instance (those whose memrefs fit it): false
     * where the host gave none (a VM or network guest, a backend or policy without them), where
     * {@code ferry.tee.direct=false}, after close, and after a call whose connection failed. For tests and benchmarks.
     */
    public boolean direct() {
        return lane != null && lane.usable();
    }

    /** TEEC_CloseSession. Never throws; a second call does nothing. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.closeSession(this, handle, lane);
        }
    }
}
