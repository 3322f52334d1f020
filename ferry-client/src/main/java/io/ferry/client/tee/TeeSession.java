package io.ferry.client.tee;

/** An open session to a trusted application (TEEC_Session). Close it to end the session. */
public final class TeeSession implements AutoCloseable {
    private final TeeContext context;
    private final long handle;
    private volatile boolean closed;

    TeeSession(TeeContext context, long handle) {
        this.context = context;
        this.handle = handle;
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
        context.invoke(handle, command, op == null ? new TeeOperation() : op);
    }

    /** TEEC_InvokeCommand without parameters. */
    public void invoke(int command) {
        invoke(command, null);
    }

    /** TEEC_CloseSession. Never throws; a second call does nothing. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.closeSession(this, handle);
        }
    }
}
