package io.ferry.tee.ta;

/** Thrown by {@link TaSession#panic}: the TA instance is dead (TEE_Panic). */
public final class TaPanic extends Error {
    public TaPanic(int code) {
        super("TA panic 0x" + Integer.toHexString(code), null, false, false);
    }
}
