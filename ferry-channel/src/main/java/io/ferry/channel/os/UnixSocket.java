package io.ferry.channel.os;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A Unix stream socket on a raw descriptor, through FFM, for what {@code java.nio} cannot do: pass a descriptor
 * ({@code SCM_RIGHTS}) and learn the peer's pid ({@code SO_PEERCRED}).
 *
 * <p>Blocking calls block the calling thread (use platform threads); set {@linkplain #timeouts timeouts} so a
 * silent peer cannot hold one for long: a receive, send or accept that runs out of time throws an
 * {@link ErrnoException} with {@link ErrnoException#isTimeout()}.
 *
 * <p>A receive takes at most one descriptor, and only where the caller asks for it; descriptors the peer sends
 * beyond that are never installed or are closed at once, so a peer cannot fill this process's descriptor table.
 *
 * <p>Struct layouts (Linux, LP64: identical on x86_64 and aarch64):
 * <pre>
 *   struct sockaddr_un (110)   struct msghdr (56)                 struct cmsghdr + 1 fd (CMSG_SPACE(4) = 24)
 *   0  u16 sun_family          0  void*   msg_name                0  size_t cmsg_len (CMSG_LEN(4) = 20)
 *   2  char sun_path[108]      8  u32     msg_namelen (+4 pad)    8  int    cmsg_level (SOL_SOCKET)
 *                              16 iovec*  msg_iov                 12 int    cmsg_type  (SCM_RIGHTS)
 *   struct iovec (16)          24 size_t  msg_iovlen              16 int    fd (+4 pad)
 *   0 void* base, 8 size_t len 32 void*   msg_control
 *                              40 size_t  msg_controllen          struct ucred (12): pid, uid, gid (int each)
 *   struct timeval (16)        48 int     msg_flags (+4 pad)
 *   0 long sec, 8 long usec
 * </pre>
 *
 * Not thread-safe, except {@link #shutdown()}, which any thread may call to wake one blocked in {@link #accept()}
 * or a receive ({@code shutdown} and {@link #close()} exclude each other, so a shutdown never hits a reused
 * descriptor number).
 */
public final class UnixSocket implements AutoCloseable {
    static final int SOCKADDR_UN_SIZE = 110;
    static final int SUN_PATH_MAX = 107;
    static final int MSGHDR_SIZE = 56;
    static final int IOVEC_SIZE = 16;
    static final int CMSG_HEADER = 16;
    static final int CMSG_LEN_ONE_FD = CMSG_HEADER + 4;
    static final int CMSG_SPACE_ONE_FD = CMSG_HEADER + 8;

    private volatile int fd;

    private UnixSocket(int fd) {
        this.fd = fd;
    }

    /** Wraps a descriptor this object then owns (closes). */
    public static UnixSocket ofDescriptor(int fd) {
        return new UnixSocket(fd);
    }

    /**
     * Creates a listening socket bound at {@code path} (the file must not exist) with room for {@code backlog}
     * pending connections. The socket file gets the mode the process umask allows; set it afterwards.
     */
    public static UnixSocket listen(Path path, int backlog) throws IOException {
        return bound(Libc.SOCK_STREAM, path, backlog);
    }

    /** A socket of {@code type} bound at {@code path}, listening when {@code backlog} is not negative. */
    private static UnixSocket bound(int type, Path path, int backlog) throws IOException {
        int s = socket(type);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment addr = address(arena, path);
            if ((int) Libc.BIND.invokeExact(state, s, addr, (int) addr.byteSize()) != 0) {
                throw Libc.fail("bind(" + path + ")", state);
            }
            if (backlog >= 0 && (int) Libc.LISTEN.invokeExact(state, s, backlog) != 0) {
                throw Libc.fail("listen(" + path + ")", state);
            }
            return new UnixSocket(s);
        } catch (IOException | RuntimeException | Error e) {
            Libc.closeQuietly(s);
            throw e;
        } catch (Throwable t) {
            Libc.closeQuietly(s);
            throw Libc.rethrow(t);
        }
    }

    /** Connects to the socket at {@code path}. */
    public static UnixSocket connect(Path path) throws IOException {
        int s = socket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment addr = address(arena, path);
            int rc;
            do {
                rc = (int) Libc.CONNECT.invokeExact(state, s, addr, (int) addr.byteSize());
            } while (rc != 0 && Libc.errno(state) == Libc.EINTR);
            if (rc != 0) {
                throw Libc.fail("connect(" + path + ")", state);
            }
            return new UnixSocket(s);
        } catch (IOException | RuntimeException | Error e) {
            Libc.closeQuietly(s);
            throw e;
        } catch (Throwable t) {
            Libc.closeQuietly(s);
            throw Libc.rethrow(t);
        }
    }

    /** A connected pair ({@code socketpair(2)}), e.g. for tests or a child process. */
    public static UnixSocket[] pair() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            if ((int) Libc.SOCKETPAIR.invokeExact(state, Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0,
                    fds) != 0) {
                throw Libc.fail("socketpair(AF_UNIX)", state);
            }
            return new UnixSocket[] {new UnixSocket(fds.getAtIndex(ValueLayout.JAVA_INT, 0)),
                    new UnixSocket(fds.getAtIndex(ValueLayout.JAVA_INT, 1))};
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * Accepts one connection (close-on-exec). With a receive timeout set on this listening socket, gives up
     * after it with {@link ErrnoException#isTimeout()}.
     */
    public UnixSocket accept() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int c = (int) Libc.ACCEPT4.invokeExact(state, fd(), MemorySegment.NULL, MemorySegment.NULL,
                    Libc.SOCK_CLOEXEC);
            if (c < 0) {
                throw Libc.fail("accept", state);
            }
            return new UnixSocket(c);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Sets {@code SO_RCVTIMEO} and {@code SO_SNDTIMEO} (zero: wait for ever). */
    public void timeouts(Duration receive, Duration send) throws ErrnoException {
        setTimeout(Libc.SO_RCVTIMEO, receive, "SO_RCVTIMEO");
        setTimeout(Libc.SO_SNDTIMEO, send, "SO_SNDTIMEO");
    }

    /** The peer's pid, uid and gid as the kernel recorded them at connect ({@code SO_PEERCRED}). */
    public PeerCredentials peerCredentials() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment cred = arena.allocate(12, 4);
            MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, 12);
            if ((int) Libc.GETSOCKOPT.invokeExact(state, fd(), Libc.SOL_SOCKET, Libc.SO_PEERCRED, cred, len) != 0) {
                throw Libc.fail("getsockopt(SO_PEERCRED)", state);
            }
            return new PeerCredentials(cred.get(ValueLayout.JAVA_INT, 0), cred.get(ValueLayout.JAVA_INT, 4),
                    cred.get(ValueLayout.JAVA_INT, 8));
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * Sends all of {@code data}, with {@code passFd} attached to the first byte when it is not negative
     * ({@code SCM_RIGHTS}; the receiver gets its own descriptor of the same open file). Never raises SIGPIPE.
     */
    public void send(byte[] data, int passFd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment iov = arena.allocate(IOVEC_SIZE, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            MemorySegment control = passFd >= 0 ? arena.allocate(CMSG_SPACE_ONE_FD, 8) : MemorySegment.NULL;
            int sent = 0;
            do {
                iov.set(ValueLayout.ADDRESS, 0, buf.asSlice(sent));
                iov.set(ValueLayout.JAVA_LONG, 8, data.length - sent);
                msg.fill((byte) 0);
                msg.set(ValueLayout.ADDRESS, 16, iov);
                msg.set(ValueLayout.JAVA_LONG, 24, 1);
                if (passFd >= 0 && sent == 0) {
                    attachFd(msg, control, passFd);
                }
                long n = (long) Libc.SENDMSG.invokeExact(state, fd(), msg, Libc.MSG_NOSIGNAL);
                if (n < 0) {
                    if (Libc.errno(state) == Libc.EINTR) {
                        continue;
                    }
                    throw Libc.fail("sendmsg", state);
                }
                sent += (int) n;
            } while (sent < data.length);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * Reads exactly {@code data.length} bytes. Where {@code fdOut} is not null, the first descriptor passed with
     * them is stored in {@code fdOut[0]} (else -1); the caller owns it. Descriptors are never accepted where
     * {@code fdOut} is null.
     *
     * @throws EOFException when the peer closes first
     */
    public void receiveFully(byte[] data, int[] fdOut) throws IOException {
        if (fdOut != null) {
            fdOut[0] = -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment iov = arena.allocate(IOVEC_SIZE, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            MemorySegment control = fdOut != null ? arena.allocate(CMSG_SPACE_ONE_FD, 8) : MemorySegment.NULL;
            int got = 0;
            while (got < data.length) {
                iov.set(ValueLayout.ADDRESS, 0, buf.asSlice(got));
                iov.set(ValueLayout.JAVA_LONG, 8, data.length - got);
                msg.fill((byte) 0);
                msg.set(ValueLayout.ADDRESS, 16, iov);
                msg.set(ValueLayout.JAVA_LONG, 24, 1);
                if (fdOut != null) {
                    control.fill((byte) 0);
                    msg.set(ValueLayout.ADDRESS, 32, control);
                    msg.set(ValueLayout.JAVA_LONG, 40, CMSG_SPACE_ONE_FD);
                }
                long n = (long) Libc.RECVMSG.invokeExact(state, fd(), msg, Libc.MSG_CMSG_CLOEXEC);
                if (n < 0) {
                    if (Libc.errno(state) == Libc.EINTR) {
                        continue;
                    }
                    throw Libc.fail("recvmsg", state);
                }
                if (fdOut != null) {
                    takeFd(msg, control, fdOut);
                }
                if (n == 0) {
                    throw new EOFException("the peer closed the connection after " + got + " of " + data.length
                            + " bytes");
                }
                got += (int) n;
            }
            MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, data, 0, data.length);
        } catch (IOException e) {
            if (fdOut != null && fdOut[0] >= 0) {
                Libc.closeQuietly(fdOut[0]);
                fdOut[0] = -1;
            }
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Keeps the first SCM_RIGHTS descriptor received; closes any other. */
    private static void takeFd(MemorySegment msg, MemorySegment control, int[] fdOut) {
        long controlLen = msg.get(ValueLayout.JAVA_LONG, 40);
        if (controlLen < CMSG_LEN_ONE_FD) {
            return;
        }
        long len = control.get(ValueLayout.JAVA_LONG, 0);
        int level = control.get(ValueLayout.JAVA_INT, 8);
        int type = control.get(ValueLayout.JAVA_INT, 12);
        if (level != Libc.SOL_SOCKET || type != Libc.SCM_RIGHTS || len < CMSG_LEN_ONE_FD) {
            return;
        }
        int received = control.get(ValueLayout.JAVA_INT, 16);
        if (fdOut[0] < 0) {
            fdOut[0] = received;
        } else {
            Libc.closeQuietly(received);
        }
    }

    /** The descriptor (−1 once closed). */
    public int fd() {
        return fd;
    }

    /**
     * Shuts the socket down for both directions; a thread blocked in {@link #accept()} or a receive returns.
     * Safe from any thread; the descriptor stays open until {@link #close()}.
     */
    public synchronized void shutdown() {
        int f = fd;
        if (f < 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) Libc.SHUTDOWN.invokeExact(Libc.callState(arena), f, Libc.SHUT_RDWR);
        } catch (Throwable t) {
            // nothing to undo
        }
    }

    /** Closes the descriptor. Idempotent. */
    @Override
    public synchronized void close() {
        int f = fd;
        fd = -1;
        Libc.closeQuietly(f);
    }

    private void setTimeout(int option, Duration d, String name) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment tv = arena.allocate(16, 8);
            tv.set(ValueLayout.JAVA_LONG, 0, d.toSeconds());
            tv.set(ValueLayout.JAVA_LONG, 8, d.toNanosPart() / 1_000);
            if ((int) Libc.SETSOCKOPT.invokeExact(state, fd(), Libc.SOL_SOCKET, option, tv, 16) != 0) {
                throw Libc.fail("setsockopt(" + name + ")", state);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * Sends one datagram to the {@code AF_UNIX} datagram socket at {@code address} (a path, or {@code @name} for an
     * abstract socket, as systemd's {@code NOTIFY_SOCKET} gives it), with {@code passFd} attached when not negative.
     */
    public static void sendDatagram(String address, byte[] data, int passFd) throws IOException {
        int s = socket(SOCK_DGRAM);
        try (UnixSocket socket = new UnixSocket(s); Arena arena = Arena.ofConfined()) {
            MemorySegment addr = address.startsWith("@") ? abstractAddress(arena, address.substring(1))
                    : address(arena, Path.of(address));
            MemorySegment state = Libc.callState(arena);
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment iov = arena.allocate(IOVEC_SIZE, 8);
            iov.set(ValueLayout.ADDRESS, 0, buf);
            iov.set(ValueLayout.JAVA_LONG, 8, data.length);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            msg.set(ValueLayout.ADDRESS, 0, addr);
            msg.set(ValueLayout.JAVA_INT, 8, (int) addr.byteSize());
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            if (passFd >= 0) {
                attachFd(msg, arena.allocate(CMSG_SPACE_ONE_FD, 8), passFd);
            }
            long n;
            do {
                n = (long) Libc.SENDMSG.invokeExact(state, socket.fd(), msg, Libc.MSG_NOSIGNAL);
            } while (n < 0 && Libc.errno(state) == Libc.EINTR);
            if (n < 0) {
                throw Libc.fail("sendmsg(" + address + ")", state);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** A datagram socket bound at {@code path} (tests: the receiving end of {@link #sendDatagram}). */
    public static UnixSocket bindDatagram(Path path) throws IOException {
        return bound(SOCK_DGRAM, path, -1);
    }

    /** Attaches {@code fd} to {@code msg} as SCM_RIGHTS, in {@code control} ({@link #CMSG_SPACE_ONE_FD} bytes). */
    private static void attachFd(MemorySegment msg, MemorySegment control, int fd) {
        control.fill((byte) 0);
        control.set(ValueLayout.JAVA_LONG, 0, CMSG_LEN_ONE_FD);
        control.set(ValueLayout.JAVA_INT, 8, Libc.SOL_SOCKET);
        control.set(ValueLayout.JAVA_INT, 12, Libc.SCM_RIGHTS);
        control.set(ValueLayout.JAVA_INT, 16, fd);
        msg.set(ValueLayout.ADDRESS, 32, control);
        msg.set(ValueLayout.JAVA_LONG, 40, CMSG_SPACE_ONE_FD);
    }

    private static final int SOCK_DGRAM = 2;

    private static int socket() throws ErrnoException {
        return socket(Libc.SOCK_STREAM);
    }

    private static MemorySegment abstractAddress(Arena arena, String name) throws IOException {
        byte[] p = name.getBytes(StandardCharsets.UTF_8);
        if (p.length == 0 || p.length > SUN_PATH_MAX) {
            throw new IOException("abstract socket name @" + name + " is not 1 to " + SUN_PATH_MAX + " bytes");
        }
        MemorySegment a = arena.allocate(SOCKADDR_UN_SIZE, 8);
        a.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_UNIX);
        MemorySegment.copy(p, 0, a, ValueLayout.JAVA_BYTE, 3, p.length); // sun_path[0] = 0: abstract
        return a.asSlice(0, 2 + 1 + p.length);
    }

    private static int socket(int type) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int s = (int) Libc.SOCKET.invokeExact(state, Libc.AF_UNIX, type | Libc.SOCK_CLOEXEC, 0);
            if (s < 0) {
                throw Libc.fail("socket(AF_UNIX)", state);
            }
            return s;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    private static MemorySegment address(Arena arena, Path path) throws IOException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length == 0 || p.length > SUN_PATH_MAX) {
            throw new IOException("socket path " + path + " is " + p.length + " bytes; a Unix socket path takes 1 to "
                    + SUN_PATH_MAX + ": choose a shorter one");
        }
        MemorySegment a = arena.allocate(SOCKADDR_UN_SIZE, 8);
        a.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_UNIX);
        MemorySegment.copy(p, 0, a, ValueLayout.JAVA_BYTE, 2, p.length);
        return a.asSlice(0, 2 + p.length + 1);
    }
}
