package io.ferry.host.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a device worker writes to its stderr, into the host's log, with a bound: a worker runs guest code, so its
 * output is guest-controlled and may be endless. The first {@link #MAX_LOGGED_BYTES} bytes are logged line by line
 * (a JVM crash report included: workers run with {@code -XX:+ErrorFileToStderr}, so no report is ever written to a
 * host directory); the rest is read and counted, never kept, so a flooding worker costs the host one virtual
 * thread and no memory, and can neither block on a full pipe nor fill a log.
 */
final class WorkerOutput {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** Bytes of one worker's output that reach the log; a JVM crash report's first part fits. */
    static final int MAX_LOGGED_BYTES = 64 * 1024;
    /** Longest line logged; longer lines are cut. */
    static final int MAX_LINE = 1024;

    private WorkerOutput() {
    }

    /** Starts reading {@code process}'s stderr on a virtual thread until it closes. */
    static void pump(String guest, Process process) {
        InputStream err = process.getErrorStream();
        Thread.ofVirtual().name("ferry-worker-stderr-" + guest).start(() -> drain(guest, process.pid(), err));
    }

    static void drain(String guest, long pid, InputStream err) {
        long logged = 0;
        long dropped = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(err, StandardCharsets.UTF_8), 8192)) {
            char[] buf = new char[MAX_LINE];
            StringBuilder line = new StringBuilder(MAX_LINE);
            int n;
            while ((n = in.read(buf)) >= 0) {
                for (int i = 0; i < n; i++) {
                    char c = buf[i];
                    if (logged >= MAX_LOGGED_BYTES) {
                        dropped++;
                    } else if (c == '\n') {
                        logged += line.length() + 1;
                        log(guest, pid, line);
                        line.setLength(0);
                    } else if (line.length() < MAX_LINE) {
                        line.append(c == '\r' ? ' ' : c);
                    } else {
                        logged++; // counted against the bound, not kept
                    }
                }
            }
            if (!line.isEmpty() && logged < MAX_LOGGED_BYTES) {
                log(guest, pid, line);
            }
        } catch (IOException e) {
            LOG.fine("guest " + guest + ": device worker " + pid + " output ended: " + e.getMessage());
        }
        if (dropped > 0) {
            LOG.warning("guest " + guest + ": device worker " + pid + " wrote " + dropped + " more characters after "
                    + MAX_LOGGED_BYTES / 1024 + " KiB of output; not logged");
        }
    }

    private static void log(String guest, long pid, CharSequence line) {
        LOG.log(Level.INFO, "guest {0}: device worker {1}: {2}", new Object[] {guest, Long.toString(pid), line.toString()});
    }
}
