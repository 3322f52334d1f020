package io.ferry.host.worker;

import io.ferry.host.sched.Hint;
import io.ferry.spi.BackendException;

/**
 * A device worker's way to ask the host for the device when it holds no lease: over the worker's control ring in
 * the worker process; the host's side calls {@code DeviceDispatch.grantRemote} and {@code remoteDone}. Called by
 * the worker's one session thread.
 */
public interface GrantLink {
    /**
     * Blocks until the host's policy gives this worker's guest the device.
     *
     * @param hint the command's hint (deadline on CLOCK_MONOTONIC, which both processes share)
     * @throws BackendException if the host cannot be asked (it is gone, the link broke)
     */
    Grant request(Hint hint) throws BackendException;

    /**
     * After a {@link Grant#SINGLE} command: it ended after {@code deviceNanos} of device time (a figure the host
     * treats as untrusted).
     */
    void done(long deviceNanos) throws BackendException;

    /**
     * Forwards the guest's release declaration (already checked in the worker) to the host's scheduler; not
     * answered: the host checks it again and logs what it refuses.
     */
    default void declareRelease(long periodNanos, long offsetNanos, long budgetNanos) throws BackendException {
    }
}
