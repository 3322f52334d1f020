package io.ferry.host.tee;

import io.ferry.host.SessionContext;
import io.ferry.host.SessionService;
import io.ferry.host.spi.TeeBackend;
import java.util.Objects;
import java.util.concurrent.Semaphore;

/**
 * Opens the TEE service of each guest session (pass it to {@code FerryHost.start}). Holds what every session
 * shares: the backend, the policy, the limits, and the cap on calls in flight across all guests (the TEE's thread
 * count, as Xen's mediator caps them).
 */
public final class TeeServiceFactory implements SessionService.Factory, AutoCloseable {
    private final TeeBackend backend;
    private final TeePolicy policy;
    private final TeeLimits limits;
    private final Semaphore inFlight;

    public TeeServiceFactory(TeeBackend backend, TeePolicy policy, TeeLimits limits) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.inFlight = new Semaphore(backend.threads(), true);
    }

    @Override
    public SessionService open(SessionContext session) {
        return new TeeService(session, backend, policy, limits, inFlight);
    }

    public TeeBackend backend() {
        return backend;
    }

    public TeePolicy policy() {
        return policy;
    }

    /** Stops the backend. */
    @Override
    public void close() {
        backend.close();
    }
}
