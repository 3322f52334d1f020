package io.ferry.host.tee;

import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;
import io.ferry.spi.TeeBackend;
import java.util.Map;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Opens the TEE service of each guest session (pass it to {@code FerryHost.start}). Holds what every session
 * shares: the backend, the policy, the limits, the cap on calls in flight across all guests (the TEE's thread
 * count, as Xen's mediator caps them), and a cap per guest name (all its sessions together) of one thread less than
 * that (at least one), so a single guest whose TA calls hang, up to the backend's call limit, can never hold every
 * TEE thread: another guest's call always finds one.
 */
public final class TeeServiceFactory implements SessionService.Factory, AutoCloseable {
    private final TeeBackend backend;
    private final TeePolicy policy;
    private final TeeLimits limits;
    private final Semaphore inFlight;
    private final int perGuest;
    private final Map<String, Semaphore> guestInFlight = new ConcurrentHashMap<>();

    public TeeServiceFactory(TeeBackend backend, TeePolicy policy, TeeLimits limits) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.inFlight = new Semaphore(backend.threads(), true);
        this.perGuest = Math.max(1, backend.threads() - 1);
    }

    @Override
    public SessionService open(SessionContext session) {
        return open(session, null, 0);
    }

    /** With the guest's region: its TEE sessions may get direct lanes (docs/protocol.md, "Direct TEE lanes"). */
    @Override
    public SessionService open(SessionContext session, Path region, long heapOffset) {
        Semaphore mine = guestInFlight.computeIfAbsent(session.guest(), g -> new Semaphore(perGuest, true));
        if (region != null) {
            backend.guestRegion(session.guest(), region);
        }
        return new TeeService(session, backend, policy, limits, inFlight, mine, perGuest, region, heapOffset);
    }

    /** The TEE invokes of {@code guest} served on direct lanes, which no session of the host saw. */
    @Override
    public long callsBeside(String guest) {
        return backend.directInvokes(guest);
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
