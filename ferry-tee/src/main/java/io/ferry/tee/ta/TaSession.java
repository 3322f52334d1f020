package io.ferry.tee.ta;

import java.util.UUID;

/** What a TA knows of one client session, and the TEE services it may use. */
public interface TaSession {

    /** The GP login method the client used (0 PUBLIC, 1 USER, 2 GROUP). */
    int login();

    /** The client identity the host vouches for (nil for PUBLIC). */
    UUID clientUuid();

    /**
     * This TA's sealed storage for the calling guest: shared by that guest's sessions of this TA; other TAs and other
     * guests cannot see it.
     */
    TaStorage storage();

    /** Whether the client asked to cancel the call in progress. Long-running commands should poll it. */
    boolean isCancelled();

    /** Ends the TA instance (TEE_Panic): never returns. */
    default void panic(int code) {
        throw new TaPanic(code);
    }
}
