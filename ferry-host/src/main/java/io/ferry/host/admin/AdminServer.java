package io.ferry.host.admin;

import io.ferry.host.FerryHost;
import io.ferry.host.config.GuestNames;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The admin socket that {@code ./ferry status} talks to: a Unix domain socket, mode 0600, in a directory the host
 * keeps at 0700. Protocol: the client sends one line and reads one JSON document until the host closes the
 * connection: {@code status} gets the {@link StatusJson} document; {@code reload} re-reads the host's config file and
 * applies its guests ({@link io.ferry.host.GuestChanges#toJson}); {@code reset NAME} re-initialises guest NAME's
 * region in place ({@code {"reset": NAME}}); {@code release-device BDF} stops serving the devices at that PCI address
 * and ends their device workers ({@link io.ferry.host.DeviceWithdrawal}); {@code rediscover} serves released ones
 * again. Anything else, and a request that fails, gets {@code {"error": ...}}.
 * Reloads and resets run on a thread of their own (they wait for sessions to end), so {@code status} goes on
 * being answered meanwhile; their reply may take up to {@value #CHANGE_TIMEOUT_MS} ms.
 *
 * <p><b>No window at 0777.</b> Java cannot set a umask, and {@code bind} creates the socket file with the process's
 * umask. So the socket is bound inside a fresh 0700 directory next to its final path, chmod'ed to 0600, and only
 * then renamed into place (a rename keeps the listening socket's inode); nobody else can reach it while it is
 * wider than 0600.
 *
 * <p>A socket file left by a host that died is removed at start when nothing answers on it; a live host answering
 * there is an error (two hosts must not share an admin socket). The file is deleted at {@link #close()}.
 *
 * <p><b>No client can hold up another.</b> One thread serves every connection without blocking (a selector): a
 * connection must send its request within {@value #REQUEST_TIMEOUT_MS} ms and take its reply within
 * {@value #REPLY_TIMEOUT_MS} ms, else it is closed; at most {@value #MAX_CONNECTIONS} are open at a time, and a new
 * one beyond that closes the oldest. So idle or slow connections, however many, delay a {@code status} by nothing
 * more than their own turn on the thread.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final int MAX_CONNECTIONS = 64;
    static final long REQUEST_TIMEOUT_MS = 2_000;
    static final long REPLY_TIMEOUT_MS = 5_000;
    static final long CHANGE_TIMEOUT_MS = 60_000;
    private static final int MAX_REQUEST = 256;

    /** One client: its request as read so far, then its reply as left to write, and its deadline. */
    private static final class Conn {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST);
        ByteBuffer out;
        long deadline;
        /** A reload or reset is running for it: no reading, no writing until its reply is in. */
        boolean working;

        Conn(SocketChannel channel, long deadline) {
            this.channel = channel;
            this.deadline = deadline;
        }
    }

    private final Path socket;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final FerryHost host;
    private final long started = System.nanoTime();
    /** Open connections, oldest first (selector thread only). */
    private final ArrayDeque<Conn> conns = new ArrayDeque<>();
    private final Thread acceptor;
    /** Replies of reloads and resets, from their threads to the selector thread. */
    private final java.util.concurrent.ConcurrentLinkedQueue<java.util.Map.Entry<Conn, String>> done =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    private AdminServer(Path socket, ServerSocketChannel server, Selector selector, FerryHost host) {
        this.socket = socket;
        this.server = server;
        this.selector = selector;
        this.host = host;
        this.acceptor = Thread.ofPlatform().name("ferry-admin").daemon(true).unstarted(this::serveLoop);
    }

    public static AdminServer start(Path socket, FerryHost host) throws IOException {
        Path path = socket.toAbsolutePath();
        Path parent = path.getParent();
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        removeStale(path);
        Path staging = Files.createTempDirectory(parent, ".admin-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path bound = staging.resolve("s");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(bound));
            Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
            Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(bound);
            throw new IOException("cannot open the admin socket " + path + ": " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(staging);
        }
        Selector selector;
        try {
            server.configureBlocking(false);
            selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(path);
            throw new IOException("cannot serve the admin socket " + path + ": " + e.getMessage(), e);
        }
        AdminServer admin = new AdminServer(path, server, selector, host);
        admin.acceptor.start();
        LOG.info(() -> "admin socket " + path + " (mode 0600): ./ferry status --admin-socket " + path);
        return admin;
    }

    /** Removes a socket file that nobody answers on; refuses to take over one a live host serves. */
    private static void removeStale(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        boolean answered;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            answered = probe.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            answered = false;
        }
        if (answered) {
            throw new IOException("another host answers on the admin socket " + path
                    + "; stop it first, or give this host another adminSocket in its config");
        }
        LOG.info(() -> "removing stale admin socket " + path + " (nothing answers on it)");
        Files.delete(path);
    }

    Path path() {
        return socket;
    }

    private void serveLoop() {
        try {
            while (!closed) {
                long now = System.nanoTime();
                long wait = 1_000;
                for (Conn c : conns) {
                    wait = Math.min(wait, Math.max(1, (c.deadline - now) / 1_000_000 + 1));
                }
                selector.select(wait);
                for (SelectionKey key : selector.selectedKeys()) {
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        accept();
                    } else if (key.attachment() instanceof Conn c) {
                        step(c, key);
                    }
                }
                selector.selectedKeys().clear();
                deliver();
                expire(System.nanoTime());
            }
        } catch (ClosedSelectorException e) {
            // closing
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.log(Level.SEVERE, "admin socket " + socket + ": serving failed; ./ferry status is unavailable", e);
            }
        } finally {
            for (Conn c : conns) {
                closeQuietly(c.channel);
            }
            conns.clear();
        }
    }

    private void accept() {
        SocketChannel ch;
        while (true) {
            try {
                ch = server.accept();
            } catch (IOException e) {
                // out of file descriptors, say: keep serving the connections we have, try again shortly
                LOG.log(Level.WARNING, "admin socket " + socket + ": accept failed: " + e.getMessage());
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000);
                return;
            }
            if (ch == null) {
                return;
            }
            if (conns.size() >= MAX_CONNECTIONS) {
                Conn oldest = conns.pollFirst();
                LOG.fine(() -> "admin socket: " + MAX_CONNECTIONS + " connections open; closing the oldest");
                closeQuietly(oldest.channel);
            }
            try {
                ch.configureBlocking(false);
                Conn c = new Conn(ch, System.nanoTime() + REQUEST_TIMEOUT_MS * 1_000_000);
                ch.register(selector, SelectionKey.OP_READ, c);
                conns.addLast(c);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "admin socket: could not take a connection", e);
                closeQuietly(ch);
            }
        }
    }

    /** Reads the request (answering it once a line is in), or writes the reply; closes when done or broken. */
    private void step(Conn c, SelectionKey key) {
        try {
            if (c.out == null) {
                int n = c.channel.read(c.in);
                boolean line = false;
                for (int i = 0; i < c.in.position() && !line; i++) {
                    line = c.in.get(i) == '\n';
                }
                if (!line && n >= 0 && c.in.hasRemaining()) {
                    return; // more to come
                }
                String request = request(c.in, n < 0);
                String asked = request == null ? "" : request.strip();
                if (asked.equals("reload") || asked.startsWith("reset ") || asked.startsWith("release-device ")
                        || asked.equals("rediscover")) {
                    c.working = true;
                    c.deadline = System.nanoTime() + CHANGE_TIMEOUT_MS * 1_000_000;
                    key.interestOps(0);
                    Thread.ofPlatform().name("ferry-admin-change").daemon(true).start(() -> {
                        done.add(java.util.Map.entry(c, change(asked)));
                        selector.wakeup();
                    });
                    return;
                }
                c.out = ByteBuffer.wrap(answer(request).getBytes(StandardCharsets.UTF_8));
                c.deadline = System.nanoTime() + REPLY_TIMEOUT_MS * 1_000_000;
                key.interestOps(SelectionKey.OP_WRITE);
            }
            c.channel.write(c.out);
            if (!c.out.hasRemaining()) {
                finish(c);
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, "admin socket: a client went away", e);
            finish(c);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "admin socket: could not answer a status request", e);
            finish(c);
        }
    }

    private String answer(String request) {
        return switch (request == null ? "" : request.strip()) {
            case "status" -> StatusJson.render(host, started);
            default -> error("unknown request '" + abbreviate(request) + "'; this socket answers: status, reload, "
                    + "reset NAME, release-device BDF, rediscover");
        };
    }

    /**
     * Answers {@code reload}, {@code reset NAME}, {@code release-device BDF} or {@code rediscover} (on a thread of
     * its own: it waits for sessions or device workers to end).
     */
    String change(String line) {
        try {
            if (line.equals("reload")) {
                return host.reload().toJson();
            }
            if (line.equals("rediscover")) {
                return io.ferry.host.DeviceWithdrawal.rediscover(host);
            }
            if (line.startsWith("release-device ")) {
                return io.ferry.host.DeviceWithdrawal.release(host, line.substring("release-device ".length()).strip());
            }
            String name = line.substring("reset ".length()).strip();
            if (!GuestNames.valid(name)) {
                return error("reset: '" + abbreviate(name) + "' is not a guest name (" + GuestNames.RULE
                        + ")");
            }
            host.resetGuest(name);
            return "{\"reset\": " + StatusJson.quote(name) + "}\n";
        } catch (IOException | RuntimeException | Error e) { // Error: a region faulting under the host, say
            LOG.log(Level.WARNING, "admin socket: '" + abbreviate(line) + "' refused: " + e.getMessage());
            return error(line.equals("reload") ? "reload refused, nothing changed: " + e.getMessage()
                    : e.getMessage());
        }
    }

    private static String error(String message) {
        return "{\"error\": " + StatusJson.quote(message) + "}\n";
    }

    /** Sends the replies of finished reloads and resets (selector thread). */
    private void deliver() {
        java.util.Map.Entry<Conn, String> e;
        while ((e = done.poll()) != null) {
            Conn c = e.getKey();
            c.working = false;
            SelectionKey key = c.channel.keyFor(selector);
            if (!conns.contains(c) || key == null || !key.isValid()) {
                continue; // the client went away, or was let go
            }
            c.out = ByteBuffer.wrap(e.getValue().getBytes(StandardCharsets.UTF_8));
            c.deadline = System.nanoTime() + REPLY_TIMEOUT_MS * 1_000_000;
            key.interestOps(SelectionKey.OP_WRITE);
        }
    }

    /** Closes connections past their deadline: a client that says nothing, or reads nothing, is let go. */
    private void expire(long now) {
        for (var it = conns.iterator(); it.hasNext(); ) {
            Conn c = it.next();
            if (now - c.deadline > 0) {
                it.remove();
                LOG.fine(() -> "admin socket: closing a connection that " + (c.out == null
                        ? "sent no request within " + REQUEST_TIMEOUT_MS : "took no reply within " + REPLY_TIMEOUT_MS)
                        + " ms");
                closeQuietly(c.channel);
            }
        }
    }

    private void finish(Conn c) {
        conns.remove(c);
        closeQuietly(c.channel);
    }

    /** The request: up to the first newline, or all that came when the client closed or filled the buffer. */
    private static String request(ByteBuffer in, boolean ended) {
        int end = in.position();
        for (int i = 0; i < in.position(); i++) {
            if (in.get(i) == '\n') {
                end = i;
                break;
            }
        }
        return end == 0 && ended ? null : new String(in.array(), 0, end, StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        String t = s.strip();
        return t.length() > 40 ? t.substring(0, 40) + "..." : t;
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "admin socket: closing a connection failed", e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        selector.wakeup();
        try {
            acceptor.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            server.close();
            selector.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "admin socket: closing failed", e);
        }
        try {
            acceptor.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warning("could not remove the admin socket " + socket + ": " + e.getMessage());
        }
    }
}
