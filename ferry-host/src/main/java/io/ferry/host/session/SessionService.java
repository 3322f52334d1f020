package io.ferry.host.session;

import io.ferry.channel.Region;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The per-session side of a service: compute ({@code io.ferry.host.compute}) or the TEE ({@code io.ferry.host.tee}).
 * The session has already validated the call's framing (opcode, flags, length against the opcode's shape) and the
 * guest's right to the service; the service validates its arguments.
 *
 * <p>The hooks with defaults serve a service whose one-way calls may fail after the call returned (compute work on a
 * device worker): the session asks it for those failures before a synchronous call, so it can report the earliest.
 */
public interface SessionService extends AutoCloseable {

    /**
     * Serves one call. {@code rec} is the host's private copy of the record (see {@code io.ferry.protocol.Wire});
     * fill {@code results} (4 words) and, if needed, {@link SessionContext#replyBytes}. Throw {@link CallException}
     * for a failed call.
     */
    void call(Op op, MemorySegment rec, long[] results, SessionContext session) throws CallException;

    /** Which call the session serves now (every compute and TEE call, before anything else is done for it). */
    default void callStarting(long seq, int op, long firstArg) {
    }

    /**
     * Before a synchronous call: waits until earlier one-way work has run, then hands its failures to
     * {@code failures}. A failure of the wait itself fails the synchronous call.
     */
    default void sync(FailureSink failures) throws CallException {
        collect(failures);
    }

    /** Hands the failures of earlier one-way work known by now to {@code failures}, without waiting. */
    default void collect(FailureSink failures) {
    }

    /** From another thread (the watchdog): stops work in progress, so the endpoint can end the session. */
    default void cancel(String why) {
    }

    /** Device memory the service holds for the session (safe from any thread). */
    default long deviceMemoryBytes() {
        return 0;
    }

    /** Device commands enqueued and not yet finished (safe from any thread). */
    default int commandsInFlight() {
        return 0;
    }

    /** Releases everything of the session. Never throws. */
    @Override
    void close();

    /** Opens the service's side of a new session. */
    interface Factory {
        SessionService open(SessionContext session);

        /**
         * As {@link #open}, for a session whose heap lies at {@code heapOffset} of the sealed region {@code region}
         * ({@code /proc/HOSTPID/fd/N}) that a process guest maps: a service may hand out windows of it that another
         * process of the host's maps (a direct TEE lane to a TA instance).
         */
        default SessionService open(SessionContext session, Path region, long heapOffset) {
            return open(session);
        }

        /** Calls of {@code guest} its sessions never saw (TEE invokes on direct lanes), for the host's counters. */
        default long callsBeside(String guest) {
            return 0;
        }

        /**
         * {@code f} for the sessions of {@code region}'s lane: with the region's place where it is a sealed memfd
         * a process guest maps, else {@code f} itself (a VM's region file, a network client's mirror). Null stays null.
         */
        static Factory inRegion(Factory f, Region region) {
            if (f == null || !region.sealed()) {
                return f;
            }
            Path path = region.path();
            long heapOffset = region.header().lanes().get(region.laneIndex()).heapOffset();
            return session -> f.open(session, path, heapOffset);
        }
    }

    /** Where a service reports a one-way call's failure: the session keeps it for the next synchronous call. */
    interface FailureSink {
        /** {@code op} and {@code firstArg}: the failed call and its first argument (its queue, if it has one). */
        void file(CallFailure failure, Op op, long firstArg);
    }
}
