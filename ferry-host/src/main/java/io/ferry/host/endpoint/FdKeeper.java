package io.ferry.host.endpoint;

import java.io.IOException;

/**
 * Keeps the memfds of sealed regions alive while no host runs, so a restarted host takes the same memory back
 * (docs/protocol.md, "Epochs and host restarts"): systemd's file-descriptor store ({@link SystemdFdStore}) under systemd, else a
 * holder process of the host's uid ({@link FdHolderClient}).
 */
interface FdKeeper extends AutoCloseable {
    /** The descriptor kept under {@code name} (the caller owns it), or -1 when none is kept. */
    int take(String name) throws IOException;

    /** Keeps (a duplicate of) {@code fd} under {@code name}, replacing what was kept there. */
    void keep(String name, int fd) throws IOException;

    /** Gives up what is kept under {@code name} (the guest was removed). */
    void drop(String name) throws IOException;

    /** For the log: which keeper this is and where. */
    String describe();

    @Override
    default void close() {
    }
}
