package io.ferry.host.session;

import io.ferry.host.config.Quotas;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Op;

/**
 * The count of one-way compute and TEE calls since the last synchronous one (quota {@code oneWayOutstanding}):
 * over it a one-way call is refused, costing the host a counter increment. Endpoint thread only.
 */
final class OneWayQuota {
    private final Quotas quotas;
    private final StickyErrors sticky;
    private final SessionAudit audit;
    /** One-way calls since the last synchronous one; saturates at the quota. */
    private int sinceSync;
    /** The sticky failure that reports the first one-way call over the quota, and how many were refused since. */
    private CallFailure refusal;
    private long refused;

    OneWayQuota(Quotas quotas, StickyErrors sticky, SessionAudit audit) {
        this.quotas = quotas;
        this.sticky = sticky;
        this.audit = audit;
    }

    /** Counts a one-way call; false: it is over the quota and was refused (the caller must not serve it). */
    boolean admit(Op op, long seq) {
        if (sinceSync >= quotas.oneWayOutstanding()) {
            refuse(op, seq);
            return false;
        }
        sinceSync++;
        return true;
    }

    /**
     * Refuses a one-way call over the quota without touching a backend: the first refusal since the last
     * synchronous call becomes the session's sticky error; later ones are only counted (no objects, no log line
     * each), so a flood costs the host neither memory nor log space.
     */
    private void refuse(Op op, long seq) {
        refused++;
        if (refusal == null) {
            CallException e = QuotaChecks.oneWayExceeded(quotas, sinceSync + 1L);
            refusal = new CallFailure(seq, op, e.status(), e.getMessage());
            audit.refusal(op, seq, e.getMessage());
            sticky.file(refusal, null, 0);
        } else {
            sticky.suppress();
            audit.refusal(op, seq, null);
        }
    }

    /** A synchronous call drains the one-way calls before it: their count starts again. */
    void synchronousCall() {
        sinceSync = 0;
        if (refusal != null) {
            CallFailure s = sticky.sessionSticky();
            if (s == refusal && refused > 1) {
                sticky.replaceSessionSticky(new CallFailure(s.seq(), s.op(), s.status(), s.message() + " ("
                        + refused + " one-way calls refused in all)"));
            }
            refusal = null;
            refused = 0;
        }
    }
}
