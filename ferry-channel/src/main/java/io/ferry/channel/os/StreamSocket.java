package io.ferry.channel.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A stream socket on a raw descriptor, read and written through FFM: an {@code AF_VSOCK} connection from inside a
 * VM to its host (which {@code java.net} cannot open), for the stream transport's {@code ferry+vsock://CID:PORT}; a
 * TCP connection to a loopback address ({@code ferry+tcp}); any connected stream socket ({@code ferry+uds}). A read
 * blocked here is not ended by {@link Thread#interrupt}, unlike a socket channel's.
 * {@link #ofDescriptor} takes any connected stream socket (the tests use a Unix socket pair: an AF_VSOCK socket is
 * never opened on a machine that is not such a VM guest).
 *
 * <p>One thread may read while another writes; {@link #close()} from any thread shuts the socket down, which ends a
 * blocked read or write, and the descriptor is closed once neither uses it. Reads and writes go through native memory: the caller
 * passes native segments (a direct buffer's, an arena's).
 *
 * <p>{@code struct sockaddr_vm} (16 bytes, Linux): 0 u16 svm_family (AF_VSOCK = 40), 2 u16 svm_reserved1,
 * 4 u32 svm_port, 8 u32 svm_cid, 12 u8 svm_flags, 13 u8 svm_zero[3].
 */
public final class StreamSocket implements AutoCloseable {
    public static final int AF_VSOCK = 40;
    /** The host's context id, as a guest names it. */
    public static final long HOST_CID = 2;
    /** Bytes of {@code struct sockaddr_vm}. */
    public static final int SOCKADDR_VM_SIZE = 16;

    private final int fd;
    private volatile boolean closed;
    /** Reads and writes in progress (under this): the descriptor is closed once none is, so it is never reused under one. */
    private int users;
    private boolean released;

    private StreamSocket(int fd) {
        this.fd = fd;
    }

    /** A connected stream socket on {@code fd} (owned: closed by {@link #close()}). */
    public static StreamSocket ofDescriptor(int fd) {
        return new StreamSocket(fd);
    }

    /** {@code struct sockaddr_vm} for {@code cid} and {@code port}, in {@code arena}. */
    public static MemorySegment vsockAddress(Arena arena, long cid, long port) {
        if (cid < 0 || cid > 0xFFFF_FFFFL || port < 0 || port > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("vsock CID " + cid + " and port " + port + " must be u32 values");
        }
        MemorySegment a = arena.allocate(SOCKADDR_VM_SIZE, 4);
        a.set(ValueLayout.JAVA_SHORT, 0, (short) AF_VSOCK);
        a.set(ValueLayout.JAVA_INT, 4, (int) port);
        a.set(ValueLayout.JAVA_INT, 8, (int) cid);
        return a;
    }

    /**
     * Connects to {@code port} of context {@code cid} (2: the host) over AF_VSOCK. Only inside a VM with a vsock
     * device; elsewhere socket(2) or connect(2) fails and the exception names the errno.
     */
    public static StreamSocket connectVsock(long cid, long port) throws IOException {
        int s;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            s = (int) Libc.SOCKET.invokeExact(state, AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            if (s < 0) {
                throw Libc.fail("socket(AF_VSOCK)", state);
            }
            MemorySegment addr = vsockAddress(arena, cid, port);
            int rc;
            do {
                rc = (int) Libc.CONNECT.invokeExact(state, s, addr, SOCKADDR_VM_SIZE);
            } while (rc != 0 && Libc.errno(state) == Libc.EINTR);
            if (rc != 0) {
                IOException e = Libc.fail("connect(vsock CID " + cid + " port " + port + ")", state);
                Libc.closeQuietly(s);
                throw e;
            }
            return new StreamSocket(s);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * Connects over TCP to {@code address}:{@code port} with TCP_NODELAY and SO_KEEPALIVE: for a loopback address,
     * whose connect is answered at once (no timeout is applied). Read through FFM, a thread's blocked read is not
     * ended by {@link Thread#interrupt}, unlike a socket channel's.
     */
    public static StreamSocket connectTcp(java.net.InetAddress address, int port) throws IOException {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("TCP port " + port + " must be 1 to 65535");
        }
        byte[] ip = address.getAddress();
        boolean v6 = ip.length == 16;
        int s;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            s = (int) Libc.SOCKET.invokeExact(state, v6 ? Libc.AF_INET6 : Libc.AF_INET,
                    Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            if (s < 0) {
                throw Libc.fail("socket(" + (v6 ? "AF_INET6" : "AF_INET") + ")", state);
            }
            try {
                MemorySegment one = arena.allocate(ValueLayout.JAVA_INT);
                one.set(ValueLayout.JAVA_INT, 0, 1);
                if ((int) Libc.SETSOCKOPT.invokeExact(state, s, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, one, 4) != 0
                        || (int) Libc.SETSOCKOPT.invokeExact(state, s, Libc.SOL_SOCKET, Libc.SO_KEEPALIVE, one, 4) != 0) {
                    throw Libc.fail("setsockopt(TCP_NODELAY, SO_KEEPALIVE)", state);
                }
                // struct sockaddr_in (16 bytes): u16 family, u16 port (network order), 4-byte address, 8 zero;
                // struct sockaddr_in6 (28 bytes): u16 family, u16 port, u32 flowinfo, 16-byte address, u32 scope id
                MemorySegment addr = arena.allocate(v6 ? 28 : 16, 4);
                addr.set(ValueLayout.JAVA_SHORT, 0, (short) (v6 ? Libc.AF_INET6 : Libc.AF_INET));
                addr.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >>> 8));
                addr.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
                MemorySegment.copy(MemorySegment.ofArray(ip), 0, addr, v6 ? 8 : 4, ip.length);
                if (v6 && address instanceof java.net.Inet6Address a6) {
                    addr.set(ValueLayout.JAVA_INT, 24, a6.getScopeId());
                }
                int rc;
                do {
                    rc = (int) Libc.CONNECT.invokeExact(state, s, addr, (int) addr.byteSize());
                } while (rc != 0 && Libc.errno(state) == Libc.EINTR);
                if (rc != 0) {
                    throw Libc.fail("connect(" + address.getHostAddress() + " port " + port + ")", state);
                }
                return new StreamSocket(s);
            } catch (IOException | RuntimeException | Error e) {
                Libc.closeQuietly(s);
                throw e;
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Reads up to {@code dst.byteSize()} bytes into {@code dst} (native); returns how many, -1 at the end. */
    public int read(MemorySegment dst) throws IOException {
        long n = use(state -> {
            long r;
            do {
                r = (long) Libc.READ.invokeExact(state, fd, dst, dst.byteSize());
            } while (r < 0 && Libc.errno(state) == Libc.EINTR && !closed);
            if (r < 0) {
                throw closed ? new IOException("the socket was closed") : Libc.fail("read(socket)", state);
            }
            return r;
        });
        return n == 0 ? -1 : (int) n;
    }

    /** Writes all of {@code src} (native). */
    public void writeFully(MemorySegment src) throws IOException {
        use(state -> {
            long done = 0;
            while (done < src.byteSize()) {
                long n = (long) Libc.SEND.invokeExact(state, fd, src.asSlice(done),
                        src.byteSize() - done, Libc.MSG_NOSIGNAL);
                if (n < 0) {
                    if (Libc.errno(state) == Libc.EINTR && !closed) {
                        continue;
                    }
                    throw closed ? new IOException("the socket was closed") : Libc.fail("send(socket)", state);
                }
                done += n;
            }
            return done;
        });
    }

    /** A system call on the descriptor, given a call state for errno. */
    private interface Call {
        long run(MemorySegment state) throws Throwable;
    }

    /** Runs {@code call} while the descriptor is held open (see {@link #close()}). */
    private long use(Call call) throws IOException {
        acquire();
        try (Arena arena = Arena.ofConfined()) {
            return call.run(Libc.callState(arena));
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        } finally {
            release();
        }
    }

    private synchronized void acquire() throws IOException {
        if (closed) {
            throw new IOException("the socket was closed");
        }
        users++;
    }

    private synchronized void release() {
        if (--users == 0 && closed) {
            closeDescriptor();
        }
    }

    private void closeDescriptor() {
        if (!released) {
            released = true;
            Libc.closeQuietly(fd);
        }
    }

    /**
     * Shuts the socket down (a blocked read returns the end, a blocked write fails) and closes the descriptor once no
     * read or write uses it. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) Libc.SHUTDOWN.invokeExact(Libc.callState(arena), fd, Libc.SHUT_RDWR);
        } catch (Throwable t) {
            // closing either way
        }
        if (users == 0) {
            closeDescriptor();
        }
    }
}
