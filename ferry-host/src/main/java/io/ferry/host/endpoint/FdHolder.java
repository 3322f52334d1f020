package io.ferry.host.endpoint;

import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.PeerCredentials;
import io.ferry.channel.os.UnixSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The fd holder: a small detached process that keeps the sealed memfd regions of a host across the host's
 * restarts when systemd's file-descriptor store is not there (docs/protocol.md, "Epochs and host restarts"). The first host on a
 * region directory starts it ({@link FdHolderClient}); it listens on {@code REGIONDIR/fd-holder.sock} (0600, in
 * the host's 0700 region directory), answers only peers of its own uid ({@code SO_PEERCRED}), and keeps named
 * descriptors:
 * <ul>
 *   <li>{@code PUT name} with a descriptor (SCM_RIGHTS): keeps it under the name (replacing, and closing, an older
 *       one);</li>
 *   <li>{@code GET name}: answers with a duplicate of the kept descriptor, or NONE;</li>
 *   <li>{@code DROP name}: closes it.</li>
 * </ul>
 * It exits on its own once it holds nothing after a DROP, when it held nothing for {@link #IDLE_EXIT} since it
 * started, or when its socket file is gone or replaced (the region directory removed).
 *
 * <p>Wire format (one request per connection is enough; several are served in order): a request is {@link
 * #REQUEST_SIZE} bytes, {@code op (1) | name length (1) | name (UTF-8, zero padded to 64)}; the answer one byte,
 * {@link #OK}, {@link #NONE} or {@link #REFUSED}, with the descriptor attached to an OK of GET.
 */
public final class FdHolder {
    static final byte PUT = 'P';
    static final byte GET = 'G';
    static final byte DROP = 'D';
    static final byte OK = 0;
    static final byte NONE = 1;
    static final byte REFUSED = 2;
    static final int NAME_MAX = 64;
    static final int REQUEST_SIZE = 2 + NAME_MAX;
    /** How long a holder that holds nothing waits for its first PUT. */
    static final Duration IDLE_EXIT = Duration.ofSeconds(30);
    /** The socket's name in the region directory. */
    public static final String SOCKET = "fd-holder.sock";

    private final Map<String, Integer> held = new HashMap<>();
    private final int uid;

    private FdHolder(int uid) {
        this.uid = uid;
    }

    /** {@code FdHolder SOCKET}: serves until it holds nothing (see the class). */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: FdHolder SOCKET (started by the Ferry host, not by hand)");
            System.exit(2);
        }
        Path socket = Path.of(args[0]);
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        try {
            UnixSocket.connect(socket).close();
            return; // another holder answers there already
        } catch (IOException e) {
            Files.deleteIfExists(socket); // a holder that died left it
        }
        try (UnixSocket listener = UnixSocket.listen(socket, 8)) {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            Object inode = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            listener.timeouts(Duration.ofSeconds(1), Duration.ofSeconds(1));
            // A watch of its own: accept() is not always woken by its timeout (seen blocked for minutes after its
            // directory was removed, holding a region's memfd), and a holder must never outlive its directory.
            Thread.ofPlatform().daemon(true).name("fd-holder-watch").start(() -> {
                while (sameSocket(socket, inode)) {
                    try {
                        Thread.sleep(1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                Runtime.getRuntime().halt(0); // the kernel closes what it held
            });
            new FdHolder(uid).serve(listener, socket, inode);
        } finally {
            removeIfOurs(socket);
        }
    }

    private void serve(UnixSocket listener, Path socket, Object inode) throws IOException {
        long idleSince = System.nanoTime();
        boolean everHeld = false;
        while (true) {
            UnixSocket c;
            try {
                c = listener.accept();
            } catch (ErrnoException e) {
                if (!e.isTimeout()) {
                    throw e;
                }
                if (!sameSocket(socket, inode)) {
                    return; // the region directory was removed or another holder took the name
                }
                if (held.isEmpty() && System.nanoTime() - idleSince > IDLE_EXIT.toNanos()) {
                    return;
                }
                continue;
            }
            try (c) {
                PeerCredentials peer = c.peerCredentials();
                if (peer.uid() != uid) {
                    continue; // only the host's uid; nothing is said to anyone else
                }
                c.timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
                while (serveOne(c)) {
                    everHeld |= !held.isEmpty();
                }
            } catch (IOException e) {
                // that client went away mid-request: nothing it asked for half-done is kept
            }
            everHeld |= !held.isEmpty();
            if (held.isEmpty()) {
                if (everHeld) {
                    return; // the last descriptor was dropped: nothing left to hold
                }
            } else {
                idleSince = System.nanoTime();
            }
        }
    }

    /** Serves one request; false at the end of the connection. */
    private boolean serveOne(UnixSocket c) throws IOException {
        byte[] request = new byte[REQUEST_SIZE];
        int[] fd = {-1};
        try {
            c.receiveFully(request, fd);
        } catch (java.io.EOFException e) {
            return false;
        }
        int length = request[1] & 0xff;
        if (length == 0 || length > NAME_MAX) {
            Memfd.closeQuietly(fd[0]);
            c.send(new byte[] {REFUSED}, -1);
            return false;
        }
        String name = new String(request, 2, length, StandardCharsets.UTF_8);
        switch (request[0]) {
            case PUT -> {
                if (fd[0] < 0) {
                    c.send(new byte[] {REFUSED}, -1);
                    return false;
                }
                Integer old = held.put(name, fd[0]);
                if (old != null && old != fd[0]) {
                    Memfd.closeQuietly(old);
                }
                c.send(new byte[] {OK}, -1);
            }
            case GET -> {
                Memfd.closeQuietly(fd[0]);
                Integer kept = held.get(name);
                c.send(new byte[] {kept == null ? NONE : OK}, kept == null ? -1 : kept);
            }
            case DROP -> {
                Memfd.closeQuietly(fd[0]);
                Integer old = held.remove(name);
                if (old != null) {
                    Memfd.closeQuietly(old);
                }
                c.send(new byte[] {OK}, -1);
            }
            default -> {
                Memfd.closeQuietly(fd[0]);
                c.send(new byte[] {REFUSED}, -1);
                return false;
            }
        }
        return true;
    }

    private static boolean sameSocket(Path socket, Object inode) {
        try {
            return inode.equals(Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey());
        } catch (IOException e) {
            return false;
        }
    }

    private static void removeIfOurs(Path socket) {
        // Best effort: a newer holder's socket of the same name is left alone only if it is not ours; we cannot
        // tell without the inode, and the listener is closed by now, so remove only a socket nobody answers on.
        try {
            UnixSocket.connect(socket).close();
        } catch (IOException e) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // the next holder removes it
            }
        }
    }

    /** The request for {@code op} on {@code name}. */
    static byte[] request(byte op, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > NAME_MAX) {
            throw new IllegalArgumentException("fd holder names are 1 to " + NAME_MAX + " bytes: " + name);
        }
        byte[] r = new byte[REQUEST_SIZE];
        r[0] = op;
        r[1] = (byte) n.length;
        System.arraycopy(n, 0, r, 2, n.length);
        return r;
    }
}
