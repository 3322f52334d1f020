package io.ferry.host.net;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * How many connections may be waiting for their OPEN (docs/network.md, "Bounds and back-pressure"): a connection
 * holds a place from its accept until it has taken a lane (after which its guest's lane count bounds it) or has
 * closed. At most {@link #MAX_UNOPENED} in all, and at most {@link #MAX_UNOPENED_PER_PEER} from one IP address
 * (connections over the vsock Unix socket count only in the total: they all come from the VMM). A connection beyond
 * either is closed at once, with a warning that says which limit and who (at most one line a second, with the count
 * refused since the last).
 */
final class Admission {
    private static final Logger LOG = Logger.getLogger("ferry.net");
    /** Connections before OPEN, in all. */
    static final int MAX_UNOPENED = 256;
    /** Connections before OPEN from one IP address. */
    static final int MAX_UNOPENED_PER_PEER = 32;
    private static final long LOG_EVERY_NANOS = 1_000_000_000L;

    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perPeer = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong unlogged = new AtomicLong();
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    /** One connection's place; {@link #release} gives it back once (when it took a lane, or closed). */
    final class Place {
        private final InetAddress peer;
        private final String refusal;
        private final AtomicBoolean held;

        private Place(InetAddress peer, String refusal) {
            this.peer = peer;
            this.refusal = refusal;
            this.held = new AtomicBoolean(refusal == null);
        }

        /** Why the connection is refused, or null when it holds a place. */
        String refusal() {
            return refusal;
        }

        void release() {
            if (held.getAndSet(false)) {
                total.decrementAndGet();
                if (peer != null) {
                    perPeer.computeIfPresent(peer, (k, n) -> n.decrementAndGet() == 0 ? null : n);
                }
            }
        }
    }

    /**
     * Takes a place for a connection from {@code remote} on {@code listener}; a place whose {@link Place#refusal} is
     * not null holds nothing: the connection is to be closed (the refusal is logged).
     */
    Place admit(SocketAddress remote, String listener) {
        InetAddress peer = remote instanceof InetSocketAddress i ? i.getAddress() : null;
        String why = null;
        if (total.incrementAndGet() > MAX_UNOPENED) {
            total.decrementAndGet();
            why = MAX_UNOPENED + " connections in all are waiting for their OPEN";
        } else if (peer != null && perPeer.computeIfAbsent(peer, k -> new AtomicInteger()).incrementAndGet()
                > MAX_UNOPENED_PER_PEER) {
            perPeer.computeIfPresent(peer, (k, n) -> n.decrementAndGet() == 0 ? null : n);
            total.decrementAndGet();
            why = MAX_UNOPENED_PER_PEER + " connections from " + peer.getHostAddress() + " are waiting for their OPEN";
        }
        if (why != null) {
            refuse(remote, listener, why);
            return new Place(null, "too many connections: " + why + "; connect again once they have opened or closed");
        }
        return new Place(peer, null);
    }

    private void refuse(SocketAddress remote, String listener, String why) {
        refused.incrementAndGet();
        long n = unlogged.incrementAndGet();
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
            unlogged.addAndGet(-n);
            LOG.warning("stream transport: refused a connection from " + remote + " (" + listener + "): " + why
                    + " (the limit bounds connections that have not said who they are; " + n + " refused since the "
                    + "last such line). A client that opens connections and says nothing does this; look at " + remote);
        }
    }

    /** Connections refused so far. */
    long refused() {
        return refused.get();
    }

    /** Connections holding a place now. */
    int unopened() {
        return total.get();
    }
}
