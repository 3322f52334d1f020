package io.ferry.tee.ta;

/**
 * A trusted application: the code a TA image carries, run by the software TEE. One instance serves every session
 * of one guest to its TA (each guest gets its own instance, in a process of its own, so instance and static fields
 * never cross guests); the TEE calls it from one thread at a time, and a call that runs past the TEE's call limit
 * ends the instance. Return a {@link TaCodes} code; throwing
 * {@link TaException} returns its code; any other throwable (or {@link TaSession#panic}) is a panic: the instance
 * is dead and its sessions answer TARGET_DEAD, while other TAs keep working.
 *
 * <p>A TA sees only this package and the JDK: its class loader refuses every other class of the TEE.
 */
public interface TrustedApp {

    /** A client opens a session. Return SUCCESS to accept it. */
    default int openSession(TaSession session, TaParams params) {
        return TaCodes.SUCCESS;
    }

    /** One command of a client. */
    int invoke(TaSession session, int command, TaParams params);

    /** The session ends. */
    default void closeSession(TaSession session) {
    }
}
