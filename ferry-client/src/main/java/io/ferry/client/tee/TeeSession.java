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
     * @throws TeeException when the result is not SUCCESS (its code and origin; {@code op} is updated too)
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

    /** TEEC_CloseSession. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.closeSession(this, handle);
        }
    }
}
