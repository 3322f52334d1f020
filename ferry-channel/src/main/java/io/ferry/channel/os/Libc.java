package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls Ferry needs for sealed regions and descriptor passing, bound through FFM (no JNI). Each
 * handle captures {@code errno} ({@link Linker.Option#captureCallState}) so a failure can name its cause.
 *
 * <p>Constants and struct layouts are those of Linux on the LP64 ABIs Ferry runs on, x86_64 and aarch64, which
 * agree on every value used here (the generic and x86 socket constants coincide for these names). The struct
 * offsets are spelled out next to each layout in {@link UnixSocket}.
 */
final class Libc {
    // fcntl / memfd
    static final int MFD_CLOEXEC = 0x0001;
    static final int MFD_ALLOW_SEALING = 0x0002;
    static final int F_ADD_SEALS = 1033;
    static final int F_GET_SEALS = 1034;
    // sockets
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_KEEPALIVE = 9;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int IPPROTO_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int SO_PEERCRED = 17;
    static final int SO_RCVTIMEO = 20;
    static final int SO_SNDTIMEO = 21;
    static final int SCM_RIGHTS = 1;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CTRUNC = 0x08;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int SHUT_RDWR = 2;
    // eventfd
    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    // errno
    static final int EPERM = 1;
    static final int EINTR = 4;
    static final int EAGAIN = 11;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static final ValueLayout A = ValueLayout.ADDRESS;

    static final MethodHandle MEMFD_CREATE = errno("memfd_create", FunctionDescriptor.of(I, A, I));
    static final MethodHandle FTRUNCATE = errno("ftruncate", FunctionDescriptor.of(I, I, L));
    /** {@code int fcntl(int fd, int cmd, ...)} with one int argument (variadic from the third). */
    static final MethodHandle FCNTL_INT = errno("fcntl", FunctionDescriptor.of(I, I, I, I), 2);
    static final MethodHandle CLOSE = errno("close", FunctionDescriptor.of(I, I));
    static final MethodHandle SOCKET = errno("socket", FunctionDescriptor.of(I, I, I, I));
    static final MethodHandle SOCKETPAIR = errno("socketpair", FunctionDescriptor.of(I, I, I, I, A));
    static final MethodHandle BIND = errno("bind", FunctionDescriptor.of(I, I, A, I));
    static final MethodHandle LISTEN = errno("listen", FunctionDescriptor.of(I, I, I));
    static final MethodHandle ACCEPT4 = errno("accept4", FunctionDescriptor.of(I, I, A, A, I));
    static final MethodHandle CONNECT = errno("connect", FunctionDescriptor.of(I, I, A, I));
    static final MethodHandle SENDMSG = errno("sendmsg", FunctionDescriptor.of(L, I, A, I));
    static final MethodHandle RECVMSG = errno("recvmsg", FunctionDescriptor.of(L, I, A, I));
    static final MethodHandle SETSOCKOPT = errno("setsockopt", FunctionDescriptor.of(I, I, I, I, A, I));
    static final MethodHandle GETSOCKOPT = errno("getsockopt", FunctionDescriptor.of(I, I, I, I, A, A));
    static final MethodHandle SHUTDOWN = errno("shutdown", FunctionDescriptor.of(I, I, I));
    static final MethodHandle EVENTFD = errno("eventfd", FunctionDescriptor.of(I, I, I));
    static final MethodHandle READ = errno("read", FunctionDescriptor.of(L, I, A, L));
    static final MethodHandle WRITE = errno("write", FunctionDescriptor.of(L, I, A, L));
    static final MethodHandle SEND = errno("send", FunctionDescriptor.of(L, I, A, L, I));
    // the calling thread's CPU and CPU mask (CpuMove)
    static final MethodHandle SCHED_GETCPU = errno("sched_getcpu", FunctionDescriptor.of(I));
    static final MethodHandle SCHED_GETAFFINITY = errno("sched_getaffinity", FunctionDescriptor.of(I, I, L, A));
    static final MethodHandle SCHED_SETAFFINITY = errno("sched_setaffinity", FunctionDescriptor.of(I, I, L, A));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(A, I));

    private Libc() {
    }

    private static MethodHandle errno(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libc has no " + name + " (Ferry needs Linux with glibc 2.27+)")),
                fd, Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle errno(String name, FunctionDescriptor fd, int firstVariadic) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd,
                Linker.Option.firstVariadicArg(firstVariadic), Linker.Option.captureCallState("errno"));
    }

    /** A buffer for the captured call state, allocated in {@code arena}. */
    static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    /** The errno captured in {@code state}. */
    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** The C library's text for {@code errno}, e.g. "Operation not permitted". */
    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** An {@link ErrnoException} for a failed call: "what: text (errno N)". */
    static ErrnoException fail(String what, MemorySegment state) {
        int e = errno(state);
        return new ErrnoException(what, e, strerror(e));
    }

    /** Closes {@code fd}, ignoring errors (for cleanup paths that already carry an exception). */
    static void closeQuietly(int fd) {
        if (fd < 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) CLOSE.invokeExact(callState(arena), fd);
        } catch (Throwable t) {
            // cleanup only
        }
    }

    /** Rethrows what a downcall threw; downcalls throw nothing checked, so this is for the compiler. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
