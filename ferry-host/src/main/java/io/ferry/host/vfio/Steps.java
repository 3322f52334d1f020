package io.ferry.host.vfio;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.logging.Logger;

/**
 * Sysfs changes done one by one, each with its undo: when one fails, {@link #rollBack} undoes the done ones in
 * reverse order, so a device goes back to the driver it had rather than being left unbound.
 */
final class Steps {
    private static final Logger LOG = Logger.getLogger("ferry.vfio");

    /** One sysfs action. */
    interface Action {
        void run() throws IOException;
    }

    private record Done(String what, Action undo) {
    }

    private final Deque<Done> done = new ArrayDeque<>();

    /** Runs {@code action}; on success remembers {@code undo} (null: nothing to undo). */
    void run(String what, Action action, Action undo) throws IOException {
        LOG.fine(() -> "vfio: " + what);
        try {
            action.run();
        } catch (IOException e) {
            throw new IOException(what + " failed: " + e.getMessage(), e);
        }
        if (undo != null) {
            done.push(new Done(what, undo));
        }
    }

    /**
     * Undoes every done step, newest first, going on past failures; returns the failures (empty when everything was
     * undone).
     */
    List<String> rollBack() {
        List<String> failed = new ArrayList<>();
        while (!done.isEmpty()) {
            Done d = done.pop();
            try {
                d.undo.run();
            } catch (IOException | RuntimeException e) {
                failed.add("undoing '" + d.what + "' failed: " + e.getMessage());
            }
        }
        return failed;
    }
}
