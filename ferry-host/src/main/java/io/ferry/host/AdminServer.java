package io.ferry.host;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The admin socket that {@code ./ferry status} talks to: a Unix domain socket, mode 0600, in a directory the host
 * keeps at 0700. Protocol: the client sends one line, {@code status}, and reads one JSON document
 * ({@link StatusJson}) until the host closes the connection. Anything else gets {@code {"error": ...}}.
 *
 * <p><b>No window at 0777.</b> Java cannot set a umask, and {@code bind} creates the socket file with the process's
 * umask. So the socket is bound inside a fresh 0700 directory next to its final path, chmod'ed to 0600, and only
 * then renamed into place (a rename keeps the listening socket's inode); nobody else can reach it while it is
 * wider than 0600.
 *
 * <p>A socket file left by a host that died is removed at start when nothing answers on it; a live host answering
 * there is an error (two hosts must not share an admin socket). The file is deleted at {@link #close()}.
 *
 * <p>One daemon thread accepts; each connection is served on a virtual thread with a small request limit, at most
 * {@value #MAX_CONNECTIONS} at a time, so a client that connects and says nothing holds up no one.
 */
final class AdminServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final int MAX_CONNECTIONS = 16;
    private static final int MAX_REQUEST = 256;

    private final Path socket;
    private final ServerSocketChannel server;
    private final FerryHost host;
    private final long started = System.nanoTime();
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Thread acceptor;
    private volatile boolean closed;

    private AdminServer(Path socket, ServerSocketChannel server, FerryHost host) {
        this.socket = socket;
        this.server = server;
        this.host = host;
        this.acceptor = Thread.ofPlatform().name("ferry-admin").daemon(true).unstarted(this::acceptLoop);
    }

    static AdminServer start(Path socket, FerryHost host) throws IOException {
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
        AdminServer admin = new AdminServer(path, server, host);
        admin.acceptor.start();
        LOG.info(() -> "admin socket " + path + " (mode 0600): ./ferry status --socket " + path);
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

    private void acceptLoop() {
        while (!closed) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "admin socket " + socket + ": accept failed", e);
                }
                return;
            }
            if (!slots.tryAcquire()) {
                closeQuietly(c);
                continue;
            }
            Thread.ofVirtual().name("ferry-admin-conn").start(() -> {
                try {
                    serve(c);
                } finally {
                    slots.release();
                    closeQuietly(c);
                }
            });
        }
    }

    private void serve(SocketChannel c) {
        try {
            String request = readLine(c);
            String reply = switch (request == null ? "" : request.strip()) {
                case "status" -> StatusJson.render(host, started);
                default -> "{\"error\": " + StatusJson.quote("unknown request '" + abbreviate(request)
                        + "'; this socket answers: status") + "}\n";
            };
            ByteBuffer out = ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                c.write(out);
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, "admin socket: a client went away", e);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "admin socket: could not answer a status request", e);
        }
    }

    /** Reads up to the first newline (or end of stream), at most {@value #MAX_REQUEST} bytes. */
    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST);
        while (in.hasRemaining()) {
            int n = c.read(in);
            if (n < 0) {
                break;
            }
            for (int i = in.position() - n; i < in.position(); i++) {
                if (in.get(i) == '\n') {
                    return new String(in.array(), 0, i, StandardCharsets.UTF_8);
                }
            }
        }
        return in.position() == 0 ? null : new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
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
        try {
            server.close();
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
