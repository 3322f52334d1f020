package io.ferry.channel;

import java.security.SecureRandom;

/**
 * The connect handshake of a region (docs/protocol.md §3), written once for every pair of peers: a guest library
 * and the host, the host and a device worker. The requester stores its pid and a fresh nonce in CONNECT_REQUEST
 * (ringing the command ring's doorbell); the acceptor resets both rings, stores the session id and acknowledges
 * with CONNECT_ACK = nonce; the requester, once it sees the ack, resets its own ring positions and may send.
 */
public final class Handshake {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    /** What a requester does while it waits for the ack: check its peer, throw to give up. */
    @FunctionalInterface
    public interface Waiting {
        /**
         * Called between polls.
         *
         * @param waitedNanos how long the requester has waited so far
         */
        void check(long waitedNanos);
    }

    /** Requester: asks for a fresh session (pid first, then a fresh nonzero nonce); returns the nonce. */
    public static long request(Region region, long pid) {
        long nonce = RANDOM.nextLong() | 1;
        region.guestPid(pid);
        region.connectRequest(nonce);
        return nonce;
    }

    /**
     * Requester: waits until CONNECT_ACK holds {@code nonce}, calling {@code waiting} between polls (it throws to
     * give up), then resets this side's view of both rings to the empty state the acceptor left.
     */
    public static void awaitAck(Region region, long nonce, IdleStrategy idle, Waiting waiting) {
        long start = System.nanoTime();
        while (region.connectAck() != nonce) {
            waiting.check(System.nanoTime() - start);
            idle.idle(0);
        }
        region.commandRing().reset();
        region.completionRing().reset();
    }

    /** Requester: {@link #request} then {@link #awaitAck}; returns the nonce of the session. */
    public static long connect(Region region, long pid, IdleStrategy idle, Waiting waiting) {
        long nonce = request(region, pid);
        awaitAck(region, nonce, idle, waiting);
        return nonce;
    }

    /**
     * Acceptor: serves the request pending in CONNECT_REQUEST: resets both rings, stores {@code sessionId}, then
     * acknowledges (release), so a requester that sees the ack sees empty rings and the new id. Returns the nonce
     * acknowledged (0: none was pending).
     */
    public static long accept(Region region, long sessionId) {
        long nonce = region.connectRequest();
        if (nonce == 0) {
            return 0;
        }
        region.commandRing().reset();
        region.completionRing().reset();
        region.sessionId(sessionId);
        region.connectAck(nonce);
        return nonce;
    }
}
