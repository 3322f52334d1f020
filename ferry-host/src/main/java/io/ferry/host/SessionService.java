package io.ferry.host;

import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;

/**
 * The per-session side of a service other than compute (the TEE). The session has already validated the call's
 * framing (opcode, flags, length against the opcode's shape); the service validates its arguments.
 */
public interface SessionService extends AutoCloseable {

    /**
     * Serves one call. {@code rec} is the host's private copy of the record (see {@code io.ferry.protocol.Wire});
     * fill {@code results} (4 words) and, if needed, {@link SessionContext#replyBytes}. Throw {@link CallException}
     * for a failed call.
     */
    void call(Op op, MemorySegment rec, long[] results, SessionContext session) throws CallException;

    /** Releases everything of the session. Never throws. */
    @Override
    void close();

    /** Opens the service's side of a new session. */
    interface Factory {
        SessionService open(SessionContext session);
    }
}
