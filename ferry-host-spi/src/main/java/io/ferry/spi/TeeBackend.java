package io.ferry.spi;

import io.ferry.protocol.TeeWire;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.UUID;

/**
 * A TEE backend: the software TEE (a separate process running signed trusted applications) or OP-TEE through
 * {@code /dev/tee0}. The host finds providers with {@link java.util.ServiceLoader} ({@link Provider}) and never
 * depends on a backend module.
 *
 * <p>The host's TEE service has validated every argument before a call reaches a backend: parameter types are
 * normalized to {@link TeeParams}' kinds, memrefs are host-owned copies of guest memory (never guest memory
 * itself), logins are resolved to a client UUID, and the session's policy allowed the call. A backend answers
 * with GP return codes and origins; transport failures are {@code COMMUNICATION} with origin {@code COMMS}.
 *
 * <p>Guests never share TA state. Every OpenSession names the calling guest as the host knows it for certain (the
 * name its connection authenticated as, never anything the guest supplies); a backend must keep each guest's TA
 * instances, sealed storage, keys and attestation state apart by that name, so one guest can neither read, use nor
 * destroy another's. A backend that cannot (OP-TEE, whose TAs see only the login the kernel forwards) says so in
 * its documentation.
 *
 * <p>Thread-safe: every guest endpoint calls it from its own thread.
 */
public interface TeeBackend extends AutoCloseable {

    /** Short name for logs and status, e.g. {@code "soft-tee"}, {@code "optee"}. */
    String name();

    /** How many calls the TEE runs at once (its thread count); the host caps concurrent calls at this. */
    int threads();

    /**
     * Opens a session to the trusted application {@code ta} for {@code guest}.
     *
     * @param guest      the calling guest's name, as the host authenticated it; TA state is kept per guest
     * @param login      GP login method (PUBLIC, USER, GROUP)
     * @param clientUuid the identity the host vouches for (nil for PUBLIC)
     * @return the return code and origin; on SUCCESS also the backend's session id
     */
    TeeReturn openSession(String guest, UUID ta, int login, UUID clientUuid, TeeParams params,
                          TeeCancellation cancel);

    /** Invokes {@code command} in an open session; fills the output values and sizes of {@code params}. */
    TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel);

    /** Closes a session; unknown or dead sessions are ignored. Never throws. */
    void closeSession(long session);

    /**
     * Where {@code guest}'s region lies ({@code /proc/HOSTPID/fd/N} of its sealed memfd), for direct lanes: a backend
     * whose TA instances can serve a guest's calls themselves hands its instances the region when they start. Called
     * before the guest's first OpenSession of each connection; a backend without direct lanes ignores it.
     */
    default void guestRegion(String guest, Path region) {
    }

    /**
     * Has the instance of {@code session} serve a direct lane from now on (docs/protocol.md, "Direct TEE lanes"): a
     * window of the guest's region where the guest writes its invokes and the instance answers, the host out of the
     * call. The host has checked the window (in the heap, 4 KiB aligned, its size) and that the session's policy
     * allows every command. Until {@link #closeSession} returns, or the instance dies, the backend owns the window's
     * {@code CLOSED} word; on the instance's death it closes the lane and answers a call in flight with TARGET_DEAD.
     *
     * @return SUCCESS, or why not (NOT_SUPPORTED, origin COMMS, where the backend has no direct lanes: the session
     *         keeps its calls on the ring)
     */
    default TeeReturn attachDirect(String guest, long session, DirectLane lane) {
        return TeeReturn.of(TeeWire.ERROR_NOT_SUPPORTED, TeeWire.ORIGIN_COMMS);
    }

    /** Invokes {@code guest}'s TA instances served on direct lanes since the backend started (the host's counters). */
    default long directInvokes(String guest) {
        return 0;
    }

    /**
     * A direct lane: {@code size} bytes at {@code regionOffset} of {@code region} (a path the host's user can open),
     * and the host's own view of the same bytes, guest-writable.
     */
    record DirectLane(Path region, long regionOffset, long size, MemorySegment hostView) {
    }

    /** Stops the backend (the software TEE's process ends). Never throws. */
    @Override
    void close();

    /** Finds and starts a backend; registered in {@code META-INF/services/io.ferry.spi.TeeBackend$Provider}. */
    interface Provider {
        String name();

        /**
         * Which backend {@code auto} tries first: higher first. A hardware TEE ranks above a software one; the host
         * knows no backend by name and orders whatever providers the class path holds by this.
         */
        default int preference() {
            return 0;
        }

        /** Why this backend cannot run on this machine with {@code config}, or null when it can. */
        String unavailableReason(TeeBackendConfig config);

        TeeBackend open(TeeBackendConfig config) throws BackendException;
    }
}
