package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The libc calls of the VM doorbells ({@link EventFdDoorbell}, {@link Vfio}), bound through FFM. The hot-path handles
 * ({@code *_FAST}) capture no errno, so a call allocates nothing; setup calls go through the errno-capturing ones.
 */
final class Sys {
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final short POLLIN = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static final ValueLayout A = ValueLayout.ADDRESS;

    /** {@code int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)}. */
    static final MethodHandle PPOLL_FAST = fast("ppoll", FunctionDescriptor.of(I, A, L, A, A));
    static final MethodHandle READ_FAST = fast("read", FunctionDescriptor.of(L, I, A, L));
    static final MethodHandle WRITE_FAST = fast("write", FunctionDescriptor.of(L, I, A, L));
    static final MethodHandle PWRITE_FAST = fast("pwrite", FunctionDescriptor.of(L, I, A, L, L));
    static final MethodHandle PREAD = errno("pread", FunctionDescriptor.of(L, I, A, L, L), -1);
    static final MethodHandle PWRITE = errno("pwrite", FunctionDescriptor.of(L, I, A, L, L), -1);
    /** {@code int open(const char *path, int flags, ...)} with the mode as the one variadic int. */
    static final MethodHandle OPEN = errno("open", FunctionDescriptor.of(I, A, I, I), 2);
    /** {@code int ioctl(int fd, unsigned long request, ...)} with a pointer argument. */
    static final MethodHandle IOCTL_PTR = errno("ioctl", FunctionDescriptor.of(I, I, L, A), 2);
    /** {@code int ioctl(int fd, unsigned long request, ...)} with an integer argument. */
    static final MethodHandle IOCTL_LONG = errno("ioctl", FunctionDescriptor.of(I, I, L, L), 2);

    private Sys() {
    }

    private static MethodHandle fast(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libc has no " + name)), fd);
    }

    private static MethodHandle errno(String name, FunctionDescriptor fd, int firstVariadic) {
        MemorySegment sym = LINKER.defaultLookup().find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libc has no " + name));
        return firstVariadic < 0
                ? LINKER.downcallHandle(sym, fd, Linker.Option.captureCallState("errno"))
                : LINKER.downcallHandle(sym, fd, Linker.Option.firstVariadicArg(firstVariadic),
                        Linker.Option.captureCallState("errno"));
    }

    /** Opens {@code path} read-write, close-on-exec; the fd. */
    static int open(String path) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_RDWR | O_CLOEXEC, 0);
            if (fd < 0) {
                throw Libc.fail("open " + path, state);
            }
            return fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Closes {@code fd}, ignoring errors. */
    static void close(int fd) {
        Libc.closeQuietly(fd);
    }
}
