package io.ferry.host.endpoint;

import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.EventFd;
import io.ferry.channel.os.EventFdDoorbell;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An ivshmem server for one guest's sealed region: QEMU's {@code ivshmem-doorbell} device connects its chardev
 * here and receives the region's memfd and interrupt eventfds, so a VM gets the same sealed memory as a process
 * guest (no file anyone could truncate). The protocol is that of QEMU's {@code contrib/ivshmem-server}
 * (docs/specs/ivshmem-spec.rst): every message is one little-endian int64, some with one descriptor.
 *
 * <pre>
 * to a new peer (QEMU), in order:
 *   0                          protocol version, no fd
 *   ID                         the peer's own id (1..65535), no fd
 *   -1 + region memfd          the shared memory
 *   0 + host eventfd × VECTORS the host, peer 0: a guest's doorbell to peer 0 signals these
 *   other peer ids + eventfds  every other connected peer, VECTORS each
 *   ID + own eventfd × VECTORS its interrupts: signalling one raises that MSI-X vector in the guest
 * to the other peers: ID + eventfd × VECTORS when it connects, ID alone when it leaves
 * </pre>
 *
 * The socket lives in the host's region directory (mode 0600 in a 0700 directory): only the host's uid, which
 * runs QEMU, reaches it. The host is peer 0: {@link #ringGuest(int)} interrupts the guest, and
 * {@link #hostDoorbell(int)} is the eventfd the guest's doorbell writes to peer 0 signal. {@link #install} wires both
 * into the guest's rings, so the endpoint sleeps on that eventfd and a completion interrupts a sleeping guest
 * (docs/vm.md, "Doorbell interrupts instead of naps").
 */
public final class IvshmemServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final int VECTORS = 1;
    static final int MAX_PEERS = 8;
    static final long PROTOCOL_VERSION = 0;
    static final long HOST_PEER = 0;

    /** One connected QEMU. */
    private record Peer(long id, UnixSocket socket, int[] vectors) {
    }

    private final String guest;
    private final Path path;
    private final UnixSocket listener;
    private final int shmFd;
    private final int[] hostVectors = new int[VECTORS];
    private final List<Peer> peers = new CopyOnWriteArrayList<>();
    /** The peers as an array, replaced on every change: {@link #ringGuest} iterates it without an iterator. */
    private volatile Object[] peersArray = new Object[0];
    private EventFdDoorbell hostBell;
    private volatile long guestRings;
    private final Thread acceptor;
    private long nextId = 1;
    private volatile boolean closed;

    private IvshmemServer(String guest, Path path, UnixSocket listener, int shmFd) {
        this.guest = guest;
        this.path = path;
        this.listener = listener;
        this.shmFd = shmFd;
        this.acceptor = Thread.ofPlatform().name("ferry-ivshmem-" + guest).daemon(true).unstarted(this::acceptLoop);
    }

    /** Serves the region behind {@code shmFd} (not owned: the region closes it) at {@code path} (mode 0600). */
    public static IvshmemServer start(String guest, Path path, int shmFd) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(path); // in the host's own checked directory: a socket a dead host left
        }
        UnixSocket listener = UnixSocket.listen(path, MAX_PEERS);
        IvshmemServer s = new IvshmemServer(guest, path, listener, shmFd);
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            listener.timeouts(Duration.ofMillis(GuestSocket.ACCEPT_POLL_MILLIS), Duration.ZERO);
            for (int v = 0; v < VECTORS; v++) {
                s.hostVectors[v] = EventFd.create();
            }
            s.hostBell = new EventFdDoorbell(s.hostVectors[0], -1, s::peers);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        s.acceptor.start();
        LOG.info(() -> "guest " + guest + ": ivshmem server " + path + " (QEMU: -chardev socket,path=" + path
                + ",id=ferry -device ivshmem-doorbell,chardev=ferry,vectors=" + VECTORS + ")");
        return s;
    }

    Path path() {
        return path;
    }

    /** How many QEMU peers are connected. */
    public int peers() {
        return peers.size();
    }

    /** Interrupts the guest: signals vector {@code vector} of every connected peer (allocates nothing). */
    void ringGuest(int vector) {
        Object[] now = peersArray;
        for (Object o : now) {
            Peer p = (Peer) o;
            if (!EventFdDoorbell.signal(p.vectors()[vector])) {
                LOG.fine(() -> "guest " + guest + ": ivshmem peer " + p.id() + ": signalling its vector failed");
            }
        }
    }

    /**
     * The doorbells of the guest's rings on the host's side: the completion ring's interrupts the guest (its vector
     * 0, which QEMU raises as MSI-X), and the command ring's sleeps on the host's eventfd, which the guest's doorbell
     * write to peer 0 signals. The command ring's waits fall back to the futex while no QEMU is connected (a process
     * guest may use an ivshmem guest's region too).
     */
    public void install(io.ferry.channel.SpscRing commands, io.ferry.channel.SpscRing completions) {
        commands.doorbell(hostBell);
        completions.doorbell(new io.ferry.channel.RingDoorbell() {
            @Override
            public void ring() {
                if (peersArray.length > 0) {
                    ringGuest(0);
                    guestRings++;
                }
            }

            @Override
            public boolean await(long timeoutNanos) {
                return false;
            }
        });
    }

    /** Times the guest's doorbell woke the host (its eventfd found signalled). */
    public long doorbellsFromGuest() {
        return hostBell == null ? 0 : hostBell.wakeups();
    }

    /** Times the host interrupted the guest (a completion published while the guest slept). */
    public long interruptsToGuest() {
        return guestRings;
    }

    /** The eventfd a guest's doorbell write to peer 0, vector {@code vector}, signals. */
    int hostDoorbell(int vector) {
        return hostVectors[vector];
    }

    private void acceptLoop() {
        AcceptLoop.run(listener, () -> closed, this::join, "guest " + guest, "ivshmem server accept failed",
                "ivshmem peer setup failed");
    }

    private void join(UnixSocket c) throws IOException {
        if (peers.size() >= MAX_PEERS) {
            c.close();
            LOG.warning("guest " + guest + ": ivshmem server has " + MAX_PEERS + " peers; refused another");
            return;
        }
        c.timeouts(Duration.ZERO, Duration.ofSeconds(1));
        long id = nextId++;
        int[] vectors = new int[VECTORS];
        try {
            for (int v = 0; v < VECTORS; v++) {
                vectors[v] = EventFd.create();
            }
            send(c, PROTOCOL_VERSION, -1);
            send(c, id, -1);
            send(c, -1, shmFd);
            for (int v = 0; v < VECTORS; v++) {
                send(c, HOST_PEER, hostVectors[v]);
            }
            for (Peer other : peers) {
                for (int v = 0; v < VECTORS; v++) {
                    send(c, other.id(), other.vectors()[v]);
                }
            }
            for (int v = 0; v < VECTORS; v++) {
                send(c, id, vectors[v]);
            }
        } catch (IOException | RuntimeException e) {
            for (int fd : vectors) {
                Memfd.closeQuietly(fd);
            }
            c.close();
            throw e;
        }
        Peer peer = new Peer(id, c, vectors);
        for (Peer other : peers) {
            for (int v = 0; v < VECTORS; v++) {
                trySend(other, id, vectors[v]);
            }
        }
        peers.add(peer);
        peersArray = peers.toArray();
        LOG.info(() -> "guest " + guest + ": ivshmem peer " + id + " connected (QEMU)");
        Thread.ofPlatform().name("ferry-ivshmem-peer-" + id).daemon(true).start(() -> watch(peer));
    }

    /** Waits for the peer to leave (QEMU never sends), then tells the others and frees its eventfds. */
    private void watch(Peer peer) {
        try {
            peer.socket().receiveFully(new byte[8], null);
        } catch (IOException e) {
            // end of stream or shutdown: the peer is gone
        }
        peers.remove(peer);
        peersArray = peers.toArray();
        for (Peer other : peers) {
            trySend(other, peer.id(), -1);
        }
        peer.socket().close();
        for (int fd : peer.vectors()) {
            Memfd.closeQuietly(fd);
        }
        if (!closed) {
            LOG.info(() -> "guest " + guest + ": ivshmem peer " + peer.id() + " left");
        }
    }

    private void trySend(Peer to, long value, int fd) {
        try {
            send(to.socket(), value, fd);
        } catch (IOException e) {
            LOG.fine(() -> "guest " + guest + ": ivshmem peer " + to.id() + ": " + e.getMessage());
        }
    }

    private static void send(UnixSocket c, long value, int fd) throws ErrnoException {
        c.send(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array(), fd);
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
        for (Peer p : peers) {
            p.socket().shutdown(); // its watcher frees it
        }
        for (int fd : hostVectors) {
            if (fd > 0) {
                Memfd.closeQuietly(fd);
            }
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning("could not remove the ivshmem socket " + path + ": " + e.getMessage());
        }
    }
}
