package io.ferry.host.worker;

import io.ferry.host.sched.Hint;
import io.ferry.spi.BackendException;
import java.util.Objects;

/**
 * A device worker's side of the host's scheduling, in place of the host's {@code DeviceDispatch}: each device
 * command waits for its turn and reports its device time, but while the host leases the device (see
 * {@link LeaseWords}) the turn costs no message: the worker marks itself busy in the shared words, checks the lease
 * still holds, runs the command (enqueue and finish) and adds its time to the words. Without a lease it asks the
 * host through the {@link GrantLink}.
 *
 * <p>One thread (the worker's session thread) calls {@link #run}; commands run one at a time.
 */
public final class WorkerTurns {
    /** A device command: enqueue and finish; {@code X} is what the caller's command throws besides the backend. */
    public interface Work<X extends Exception> {
        void run() throws X, BackendException;
    }

    private final LeaseWords words;
    private final GrantLink link;
    private long asked;
    /** The command running now runs under a lease (so {@link #started} restarts its clock in the words). */
    private boolean leasedCommand;

    public WorkerTurns(LeaseWords words, GrantLink link) {
        this.words = Objects.requireNonNull(words, "words");
        this.link = Objects.requireNonNull(link, "link");
    }

    /** Runs {@code work} when the host's policy allows: at once under a lease, else after asking the host. */
    public <X extends Exception> void run(Hint hint, Work<X> work) throws X, BackendException {
        if (words.mode() == LeaseWords.LEASED && runLeased(hint, work)) {
            return;
        }
        while (true) {
            asked++;
            Grant g = link.request(hint);
            if (g == Grant.SINGLE) {
                long start = System.nanoTime();
                try {
                    work.run();
                } finally {
                    link.done(Math.max(0, System.nanoTime() - start));
                }
                return;
            }
            if (g != Grant.LEASED) {
                throw new BackendException(io.ferry.protocol.Status.INTERNAL,
                        "the host answered the device request with " + g + ", not SINGLE or LEASED");
            }
            // revoked between the grant and now (another guest asked): ask again, through the policy
            if (runLeased(hint, work)) {
                return;
            }
        }
    }

    /** Runs {@code work} if the lease still holds once this worker is marked busy; false (not run) if revoked. */
    private <X extends Exception> boolean runLeased(Hint hint, Work<X> work) throws X, BackendException {
        long start = System.nanoTime();
        words.storeCompiling(hint.compiles());
        words.storeBusySince(start == 0 ? 1 : start);
        LeaseWords.fullFence();
        if (words.mode() != LeaseWords.LEASED) {
            words.clearBusy();
            return false;
        }
        leasedCommand = true;
        try {
            work.run();
        } finally {
            leasedCommand = false;
            words.countCommand(Math.max(0, System.nanoTime() - start));
            words.clearBusy();
        }
        return true;
    }

    /**
     * From inside a command hinted {@code compiles}: the device has compiled it and runs it now. Under a lease the
     * words say so (BUSY_SINCE now, then COMPILING 0), and the host times the rest against the overrun limit; a
     * single grant's limit already holds both stretches (see {@code DispatchTenant.limitFor}).
     */
    public void started() {
        if (leasedCommand) {
            long now = System.nanoTime();
            words.storeBusySince(now == 0 ? 1 : now);
            words.storeCompiling(false);
        }
    }

    /** Forwards a release declaration to the host's scheduler ({@link GrantLink#declareRelease}). */
    public void declareRelease(long periodNanos, long offsetNanos, long budgetNanos) {
        try {
            link.declareRelease(periodNanos, offsetNanos, budgetNanos);
        } catch (BackendException e) {
            throw new IllegalStateException("the host link broke: " + e.getMessage(), e);
        }
    }

    /** How many times this worker asked the host (a figure for tests and status). */
    public long asked() {
        return asked;
    }
}
