package io.ferry.host.sched;

/**
 * One device command waiting in, or dispatched by, a {@link Scheduler}. Made by {@link Scheduler#submit}; the
 * scheduler moves it through {@link State}. Read it under the same lock as the scheduler.
 *
 * <p>Times are on the scheduler's clock; {@link #dispatchedAt()} and {@link #completedAt()} are
 * {@link Long#MIN_VALUE} until the ticket gets there.
 */
public final class Ticket {
    /** Where a ticket is: queued, then in flight (dispatched), then completed; or dropped from the queue. */
    public enum State { QUEUED, IN_FLIGHT, COMPLETED, DROPPED }

    final TenantState owner;
    private final long id;
    private final long estimateNanos;
    private final Hint hint;
    private final long submittedAt;
    private final Object payload;

    State state = State.QUEUED;
    long dispatchedAt = Long.MIN_VALUE;
    long completedAt = Long.MIN_VALUE;
    long deviceNanos = -1;
    boolean demoted;
    boolean capped;
    boolean deadlineMissed;
    /** Budget charged at dispatch, and the start of the period it was charged to. */
    long chargedNanos;
    long chargedPeriodStart;
    double startTag;
    double finishTag;
    /** When release-aware dispatch first held it back ({@link ReleaseGuard}), or MIN_VALUE. */
    long heldSince = Long.MIN_VALUE;

    Ticket(TenantState owner, long id, long estimateNanos, Hint hint, long submittedAt, Object payload) {
        this.owner = owner;
        this.id = id;
        this.estimateNanos = estimateNanos;
        this.hint = hint;
        this.submittedAt = submittedAt;
        this.payload = payload;
    }

    public long tenant() {
        return owner.spec.id();
    }

    /** Unique per scheduler, increasing in submission order. */
    public long id() {
        return id;
    }

    /** Estimated device time, fixed at submit (the caller's, or the tenant's running estimate then). */
    public long estimateNanos() {
        return estimateNanos;
    }

    public Hint hint() {
        return hint;
    }

    public long submittedAt() {
        return submittedAt;
    }

    public long dispatchedAt() {
        return dispatchedAt;
    }

    public Object payload() {
        return payload;
    }

    public State state() {
        return state;
    }

    public long completedAt() {
        return completedAt;
    }

    /** Actual device time reported at completion, -1 before. */
    public long deviceNanos() {
        return deviceNanos;
    }

    /** Time from submit to dispatch, -1 while queued or dropped. */
    public long queueWaitNanos() {
        return dispatchedAt == Long.MIN_VALUE ? -1 : dispatchedAt - submittedAt;
    }

    /** Whether it was dispatched while its tenant's budget was used up (below every class, under the cap). */
    public boolean dispatchedDemoted() {
        return demoted;
    }

    /** Whether it counted against the best-effort in-flight cap (a best-effort or demoted ticket). */
    public boolean capped() {
        return capped;
    }

    /** Whether it completed after its hint's deadline. */
    public boolean deadlineMissed() {
        return deadlineMissed;
    }

    /** SFQ start tag given at dispatch (virtual time of its class). */
    public double startTag() {
        return startTag;
    }

    @Override
    public String toString() {
        return "Ticket[" + id + " tenant " + tenant() + " " + state + " est " + estimateNanos + " ns]";
    }
}
