package io.ferry.host.session;

import io.ferry.protocol.Op;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The audit lines of one session (open, close, refusals): one line per event, guest and session first. Quota
 * refusals are logged at most once a second per session, the others counted into the next line, so a guest that
 * loops on refused calls cannot flood the host's log. Endpoint thread only.
 */
final class SessionAudit {
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");

    private final String guest;
    private final long id;
    private long refusalLoggedAt;
    private boolean refusalLogged;
    private long refusalsNotLogged;
    private CallSink counts = CallSink.NONE;

    SessionAudit(String guest, long id) {
        this.guest = guest;
        this.id = id;
    }

    void counts(CallSink sink) {
        this.counts = sink;
    }

    /** Where the session counts its calls, refusals and TEE denials (for /metrics). */
    CallSink counts() {
        return counts;
    }

    /** A refused call; {@code message} null: a repeat of a refusal already described. */
    void refusal(Op op, long seq, String message) {
        counts.refusal(CallSink.Quota.of(message));
        long now = System.nanoTime();
        if (refusalLogged && now - refusalLoggedAt < 1_000_000_000L) {
            refusalsNotLogged++;
            return;
        }
        long more = refusalsNotLogged;
        refusalLogged = true;
        refusalLoggedAt = now;
        refusalsNotLogged = 0;
        AUDIT.warning(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " refused"
                + (message == null ? " (quota, as before)" : ": " + message)
                + (more > 0 ? " [and " + more + " more refusals in the last second, not logged one by one]" : ""));
    }

    /** A call refused for a bad credential: always logged. */
    void badCredential(Op op, long seq, String message) {
        AUDIT.warning(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " refused: " + message);
    }

    void opened(long pid, boolean watched) {
        AUDIT.info(() -> "guest " + guest + " session " + id + ": open (pid " + pid
                + (watched ? ", watched" : ", not visible here: heartbeat only") + ")");
    }

    void closed(Level level, String status, String reason, int objects, long memory, long calls) {
        long unlogged = refusalsNotLogged;
        AUDIT.log(level, "guest " + guest + " session " + id + ": closed (" + status + ": " + reason + "), released "
                + objects + " objects and " + memory + " bytes of device memory after " + calls + " calls"
                + (unlogged > 0 ? " (" + unlogged + " quota refusals not logged one by one)" : ""));
    }
}
