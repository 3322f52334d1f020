package io.ferry.host.endpoint;

import io.ferry.host.config.HostConfig;

import io.ferry.channel.HandoverDescriptor;
import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.PeerCredentials;
import io.ferry.channel.os.UnixSocket;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The guest socket: where a process guest gets its region. A Unix stream socket (mode 0666: reaching it proves
 * nothing; the secret and, where configured, the uid decide). The guest sends one request, the host answers once
 * and closes; on success the region's sealed memfd travels with the answer ({@code SCM_RIGHTS}). Layout in
 * {@link HandoverDescriptor} and docs/protocol.md.
 *
 * <p>Checks, in order, each refusal logged on {@code ferry.audit} with the peer's pid and uid
 * ({@code SO_PEERCRED}, which the peer cannot forge) and the real reason: the request is well formed; the guest
 * exists and the secret matches (compared in constant time; an unknown guest and a wrong secret get the same
 * answer, so names cannot be probed); the guest's region is a memfd (file regions are for VMs); and, when the
 * guest lists {@code uids}, the peer's uid is one of them.
 *
 * <p>The offers follow the host's guests: {@link #offer} and {@link #withdraw} as guests are added and removed.
 *
 * <p><b>Why it cannot be locked up.</b> One platform thread accepts (waking every
 * {@value #ACCEPT_POLL_MILLIS} ms to notice {@link #close()}); each connection is served on a thread of its own
 * with receive and send timeouts of {@value #IO_TIMEOUT_MILLIS} ms, so a silent peer holds a slot that long at
 * most. At most {@value #MAX_CONNECTIONS} connections are served at once. When all are taken, the oldest
 * connection that has not yet sent its request is shut down to make room: a real guest sends its request the
 * moment it connects, so a flood of idle connections only evicts itself.
 */
public final class GuestSocket implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    static final int MAX_CONNECTIONS = 64;
    static final int IO_TIMEOUT_MILLIS = 1_000;
    static final int ACCEPT_POLL_MILLIS = 250;
    private static final byte[] NO_SECRET = new byte[HandoverDescriptor.SECRET_LENGTH];

    /** What the host offers one guest: its config, its secret and the memfd of its region (-1: a file region). */
    public record Offer(HostConfig.GuestConfig guest, byte[] secret, int fd, long regionSize) {
    }

    private final Path path;
    private final UnixSocket listener;
    private final Map<String, Offer> offers;
    /** Handovers hold it shared; {@link #withdraw} exclusively, so a region's fd is not sent once it is withdrawn. */
    private final java.util.concurrent.locks.ReentrantReadWriteLock handing =
            new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final BiConsumer<String, PeerCredentials> handedOver;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    /** Connections that have not sent their request yet, oldest first: the ones evicted when slots run out. */
    private final Deque<UnixSocket> idle = new ConcurrentLinkedDeque<>();
    private final Thread acceptor;
    private volatile boolean closed;

    private GuestSocket(Path path, UnixSocket listener, Map<String, Offer> offers,
                        BiConsumer<String, PeerCredentials> handedOver) {
        this.path = path;
        this.listener = listener;
        this.offers = new java.util.concurrent.ConcurrentHashMap<>(offers);
        this.handedOver = handedOver;
        this.acceptor = Thread.ofPlatform().name("ferry-guest-socket").daemon(true).unstarted(this::acceptLoop);
    }

    /**
     * Binds the guest socket at {@code path} (parent created 0755 where missing; a stale socket nobody answers on
     * is replaced); it accepts from {@link #serve} on. Guests that connect before wait in the listen queue: a host
     * starting (or restarting under running guests) serves none before it offers every configured guest's region,
     * so none is refused as unknown meanwhile.
     *
     * @param handedOver told of every successful handover (guest, peer), from a connection thread
     */
    public static GuestSocket open(Path path, Map<String, Offer> offers, BiConsumer<String, PeerCredentials> handedOver)
            throws IOException {
        Path abs = path.toAbsolutePath();
        Path parent = abs.getParent();
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwxr-xr-x")));
        }
        removeStale(abs);
        UnixSocket listener;
        try {
            listener = UnixSocket.listen(abs, 64);
        } catch (IOException e) {
            throw new IOException("cannot open the guest socket " + abs + ": " + e.getMessage()
                    + "; choose another path with 'socket:' in the host config", e);
        }
        try {
            // Anyone may connect: the secret and the uid list decide, not the file mode.
            Files.setPosixFilePermissions(abs, PosixFilePermissions.fromString("rw-rw-rw-"));
            listener.timeouts(Duration.ofMillis(ACCEPT_POLL_MILLIS), Duration.ZERO);
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(abs);
            throw e;
        }
        return new GuestSocket(abs, listener, offers, handedOver);
    }

    /** Starts accepting (once). */
    public void serve() {
        acceptor.start();
        LOG.info(() -> "guest socket " + path + " (mode 0666; a guest proves its secret to get its region)");
    }

    private static void removeStale(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        boolean answered;
        try (UnixSocket probe = UnixSocket.connect(path)) {
            answered = true;
        } catch (IOException e) {
            answered = false;
        }
        if (answered) {
            throw new IOException("another host answers on the guest socket " + path
                    + "; stop it first, or give this host another 'socket:' in its config");
        }
        LOG.info(() -> "removing stale guest socket " + path + " (nothing answers on it)");
        Files.delete(path);
    }

    Path path() {
        return path;
    }

    /** Offers a guest's region from now on (a guest added or restarted on a running host); replaces its old offer. */
    public void offer(String guest, Offer o) {
        offers.put(guest, o);
    }

    /** Offers a guest's region no more (the guest is stopping); a handover already sent stays with its peer. */
    public void withdraw(String guest) {
        handing.writeLock().lock(); // waits for a handover in progress (bounded by the send timeout)
        try {
            offers.remove(guest);
        } finally {
            handing.writeLock().unlock();
        }
    }

    private void acceptLoop() {
        AcceptLoop.run(listener, () -> closed, this::admit, "guest socket " + path,
                "accept failed; no more guests get regions", "could not serve a connection");
    }

    private void admit(UnixSocket c) throws ErrnoException, InterruptedException {
        PeerCredentials peer = c.peerCredentials();
        if (!slots.tryAcquire()) {
            UnixSocket oldest = idle.pollFirst();
            if (oldest != null) {
                oldest.shutdown(); // its thread sees end of stream at once and frees its slot
            }
            if (!slots.tryAcquire(IO_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                c.close();
                LOG.fine(() -> "guest socket: " + MAX_CONNECTIONS + " connections busy; closed one from " + peer);
                return;
            }
            AUDIT.warning("guest socket: " + MAX_CONNECTIONS + " connections open; shut the oldest idle one to "
                    + "serve " + peer);
        }
        idle.addLast(c);
        Thread.ofPlatform().name("ferry-guest-socket-conn").daemon(true).start(() -> {
            try {
                serve(c, peer);
            } finally {
                idle.remove(c);
                c.close();
                slots.release();
            }
        });
    }

    private void serve(UnixSocket c, PeerCredentials peer) {
        try {
            c.timeouts(Duration.ofMillis(IO_TIMEOUT_MILLIS), Duration.ofMillis(IO_TIMEOUT_MILLIS));
            byte[] raw = new byte[HandoverDescriptor.REQUEST_SIZE];
            c.receiveFully(raw, null);
            idle.remove(c); // it spoke: no longer a candidate for eviction
            HandoverDescriptor.Request r = HandoverDescriptor.readRequest(raw);
            if (r.problem() != null) {
                refuse(c, peer, "?", Status.PROTOCOL_VIOLATION, "malformed request: " + r.problem(),
                        "malformed request: " + r.problem());
                return;
            }
            handing.readLock().lock();
            try {
                answer(c, peer, r);
            } finally {
                handing.readLock().unlock();
            }
        } catch (IOException e) {
            AUDIT.warning("guest socket: connection from " + peer + " dropped: " + e.getMessage()
                    + (e instanceof ErrnoException ee && ee.isTimeout()
                    ? " (no complete request within " + IO_TIMEOUT_MILLIS + " ms)" : ""));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "guest socket: could not answer " + peer, e);
        }
    }

    /** Answers a well-formed request; under the read lock, so that a withdrawn region's fd is never sent. */
    private void answer(UnixSocket c, PeerCredentials peer, HandoverDescriptor.Request r) throws IOException {
        Offer o = offers.get(r.guest());
        // Constant time, and as long for an unknown guest as for a known one.
        boolean secretOk = MessageDigest.isEqual(o == null ? NO_SECRET : o.secret(), r.secret()) && o != null;
        if (!secretOk) {
            refuse(c, peer, r.guest(), Status.BAD_CREDENTIAL, o == null ? "no such guest" : "wrong secret",
                    "no guest '" + r.guest() + "' with that secret on this host: check the guest name and its "
                            + "secret (FERRY_SECRET or FERRY_SECRET_FILE; ./ferry guest add prints it)");
            return;
        }
        if (!o.guest().uids().isEmpty() && !o.guest().uids().contains(peer.uid())) {
            refuse(c, peer, r.guest(), Status.BAD_CREDENTIAL, "uid " + peer.uid() + " not in uids "
                    + o.guest().uids(), "uid " + peer.uid() + " may not connect as guest '" + r.guest()
                    + "': the host allows only uids " + o.guest().uids() + " (the guest's 'uids' in the host "
                    + "config); run the guest as one of them or ask the operator to add this uid");
            return;
        }
        if (o.fd() < 0) {
            refuse(c, peer, r.guest(), Status.UNSUPPORTED, "file region", "guest '" + r.guest()
                    + "' has a file region (region: file, for VMs): connect through its PCI device or region "
                    + "file, or ask the operator for 'region: memfd'");
            return;
        }
        c.send(HandoverDescriptor.reply(Status.OK.code(), o.regionSize(), "region of guest '" + r.guest() + "'"),
                o.fd());
        AUDIT.info(() -> "guest " + r.guest() + ": region handed over the guest socket to " + peer);
        handedOver.accept(r.guest(), peer);
    }

    private static void refuse(UnixSocket c, PeerCredentials peer, String guest, Status status, String why,
                               String message) {
        AUDIT.warning("guest " + guest + ": region refused on the guest socket to " + peer + ": " + why);
        try {
            c.send(HandoverDescriptor.reply(status.code(), 0, message), -1);
        } catch (IOException e) {
            LOG.fine(() -> "guest socket: refusal not delivered to " + peer + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        listener.shutdown();
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning("could not remove the guest socket " + path + ": " + e.getMessage());
        }
    }
}
