package io.ferry.host.endpoint;

import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.UnixSocket;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The accept loop of a listening Unix socket (the guest socket, an ivshmem server): connections are served one at a
 * time, and whatever one connection does ends only that connection, never the loop. The listener's accept times out
 * now and then, so the loop sees {@code closed}.
 */
final class AcceptLoop {
    private static final Logger LOG = Logger.getLogger("ferry.host");

    /** Serves one accepted connection; the loop closes it if this throws. */
    interface Serve {
        void serve(UnixSocket connection) throws Exception;
    }

    private AcceptLoop() {
    }

    /**
     * Runs until {@code closed} or an accept fails; {@code name} starts the log lines ("guest socket /run/x"),
     * {@code acceptFailed} and {@code serveFailed} end them.
     */
    static void run(UnixSocket listener, BooleanSupplier closed, Serve serve, String name, String acceptFailed,
                    String serveFailed) {
        while (!closed.getAsBoolean()) {
            UnixSocket c;
            try {
                c = listener.accept();
            } catch (ErrnoException e) {
                if (e.isTimeout()) {
                    continue;
                }
                if (!closed.getAsBoolean()) {
                    LOG.log(Level.WARNING, name + ": " + acceptFailed, e);
                }
                return;
            }
            try {
                serve.serve(c);
            } catch (Throwable t) {
                c.close();
                LOG.log(Level.WARNING, name + ": " + serveFailed, t);
            }
        }
    }
}
