package io.ferry.host.session;

import java.lang.foreign.MemorySegment;

/** What a service sees of the session it serves a call for. */
public interface SessionContext {
    String guest();

    long sessionId();

    /** The guest's heap as mapped by the host. Guest-writable: read each value once, validate, then use. */
    MemorySegment heap();

    /** Sets the completion's blob for the current call (binary). */
    void replyBytes(byte[] bytes);

    /** The TEE policy denied opening a TA session ({@code open}) or invoking a command: counted for /metrics. */
    default void teeDenied(boolean open) {
    }
}
