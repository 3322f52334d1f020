package io.ferry.host.compute;

import io.ferry.host.sched.Hint;
import io.ferry.host.session.CallException;
import io.ferry.host.worker.WorkerTurns;
import io.ferry.spi.BackendException;

/**
 * How a compute session runs one device command under the device's scheduling policy: it waits for its turn, runs
 * to completion (enqueue and finish), and its device time is accounted. In the host: {@link DeviceDispatch}; in a
 * device worker that runs the session itself: {@link #inWorker}, over a lease the host grants.
 */
public interface DeviceTurns {
    /** A device command: enqueue and finish. */
    interface Command {
        void run() throws CallException, BackendException;
    }

    /**
     * Waits for the device, runs {@code command}, reports its device time. {@code cancel} stops the command's work
     * where the backend can (a device worker is killed); null where it cannot.
     */
    void run(long tenant, Hint hint, Command command, Runnable cancel) throws CallException, BackendException;

    /**
     * From inside a running command hinted {@link Hint#compiles}: the device has compiled it and runs it now, so
     * the watchdog times the rest against the overrun limit, from now.
     */
    void started(long tenant);

    /**
     * Declares (all 0: withdraws) the tenant's releases on this device, for release-aware dispatch
     * ({@code Scheduler.declareRelease}); the values are the guest's, validated here.
     *
     * @throws CallException INVALID_ARGUMENT naming what was refused
     */
    void declareRelease(long tenant, long periodNanos, long offsetNanos, long budgetNanos) throws CallException;

    /**
     * The turns of a device worker's session: {@code turns} asks the host, or runs under its lease. The tenant and
     * cancel are the host's business there (the host knows the worker's guest, and kills the worker to cancel).
     */
    static DeviceTurns inWorker(WorkerTurns turns, io.ferry.host.sched.TenantSpec guest) {
        return new DeviceTurns() {
            @Override
            public void run(long tenant, Hint hint, Command command, Runnable cancel)
                    throws CallException, BackendException {
                turns.run(hint, command::run);
            }

            @Override
            public void started(long tenant) {
                turns.started();
            }

            @Override
            public void declareRelease(long tenant, long periodNanos, long offsetNanos, long budgetNanos)
                    throws CallException {
                // Checked here for the guest's answer, and again by the host, which reads the forwarded copy once
                // and logs what it refuses.
                String why = io.ferry.host.sched.Release.refusal(periodNanos, offsetNanos, budgetNanos, guest);
                if (why != null && !(periodNanos == 0 && offsetNanos == 0 && budgetNanos == 0)) {
                    throw new CallException(io.ferry.protocol.Status.INVALID_ARGUMENT, why);
                }
                turns.declareRelease(periodNanos, offsetNanos, budgetNanos);
            }
        };
    }
}
