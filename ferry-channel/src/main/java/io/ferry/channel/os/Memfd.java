package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Anonymous memory files ({@code memfd_create(2)}) and their seals ({@code fcntl(F_ADD_SEALS)}), for regions.
 *
 * <p>Why: a region that is a plain file can be truncated by anyone who can open it, and a process that has it
 * mapped then takes SIGBUS on the next access past the new end (the JVM dies, or reports an
 * {@link InternalError}). A memfd sealed with {@link #SEAL_SHRINK} and {@link #SEAL_GROW} has a size nobody can
 * change any more, not even its creator, and {@link #SEAL_SEAL} keeps the seals from being lifted; so no holder
 * of the descriptor can make a mapping of it fault. Seals are a property of the file, so they hold for every
 * descriptor and every re-open ({@code /proc/PID/fd/N}).
 */
public final class Memfd {
    /** No further seals may be added. */
    public static final int SEAL_SEAL = 0x0001;
    /** The file may not shrink. */
    public static final int SEAL_SHRINK = 0x0002;
    /** The file may not grow. */
    public static final int SEAL_GROW = 0x0004;
    /** The size is fixed for good: shrink, grow and seal sealed. */
    public static final int SEALS_FIXED_SIZE = SEAL_SHRINK | SEAL_GROW | SEAL_SEAL;

    private Memfd() {
    }

    /**
     * Creates a memfd named {@code name} (shown as {@code /memfd:NAME} in {@code /proc/PID/maps}; at most 249
     * bytes), close-on-exec and sealable, of size 0.
     */
    public static int create(String name) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int fd = (int) Libc.MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name),
                    Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
            if (fd < 0) {
                throw Libc.fail("memfd_create(\"" + name + "\")", state);
            }
            return fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Sets the size of the file behind {@code fd} ({@code ftruncate(2)}); EPERM once resizing is sealed. */
    public static void truncate(int fd, long size) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int rc = (int) Libc.FTRUNCATE.invokeExact(state, fd, size);
            if (rc != 0) {
                throw Libc.fail("ftruncate(fd " + fd + ", " + size + ")", state);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Adds {@code seals} (e.g. {@link #SEALS_FIXED_SIZE}) to the file behind {@code fd}. */
    public static void addSeals(int fd, int seals) throws ErrnoException {
        fcntl(fd, Libc.F_ADD_SEALS, seals, "fcntl(fd " + fd + ", F_ADD_SEALS, 0x" + Integer.toHexString(seals) + ")");
    }

    /** A new descriptor (close-on-exec) of the open file behind {@code fd}; the caller closes it. */
    public static int dup(int fd) throws ErrnoException {
        return fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 3, "fcntl(fd " + fd + ", F_DUPFD_CLOEXEC)");
    }

    /** The seals of the file behind {@code fd}. */
    public static int seals(int fd) throws ErrnoException {
        return fcntl(fd, Libc.F_GET_SEALS, 0, "fcntl(fd " + fd + ", F_GET_SEALS)");
    }

    /** Closes {@code fd}. */
    public static void close(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int rc = (int) Libc.CLOSE.invokeExact(state, fd);
            if (rc != 0) {
                throw Libc.fail("close(fd " + fd + ")", state);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Closes {@code fd} where a failure changes nothing (cleanup). Negative fds are ignored. */
    public static void closeQuietly(int fd) {
        Libc.closeQuietly(fd);
    }

    /**
     * The path through which this process, or another process of the same uid (or root), re-opens {@code fd}:
     * {@code /proc/PID/fd/N} with this process's pid. Opening it yields a new open file description of the same
     * file, seals included.
     */
    public static Path procPath(int fd) {
        return Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "fd", Integer.toString(fd));
    }

    private static int fcntl(int fd, int cmd, int arg, String what) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int rc = (int) Libc.FCNTL_INT.invokeExact(state, fd, cmd, arg);
            if (rc < 0) {
                throw Libc.fail(what, state);
            }
            return rc;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
