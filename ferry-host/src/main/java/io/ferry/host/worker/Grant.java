package io.ferry.host.worker;

/** What the host answers a device worker that asks for the device ({@link GrantLink#request}). */
public enum Grant {
    /** Run this one command, then report it with {@link GrantLink#done}. */
    SINGLE,
    /** The host set the lease's MODE to LEASED: run this command and the next ones without asking. */
    LEASED
}
