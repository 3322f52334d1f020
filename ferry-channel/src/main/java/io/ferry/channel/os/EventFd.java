package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Linux eventfds ({@code eventfd(2)}): an 8-byte counter in the kernel that one side adds to ({@link #signal})
 * and the other reads and clears ({@link #drain}). QEMU's ivshmem-doorbell device turns a write to a guest's
 * eventfd into an interrupt in that guest, and a guest's doorbell write into a write to the target's eventfd.
 * Created close-on-exec and non-blocking.
 */
public final class EventFd {
    private EventFd() {
    }

    /** A new eventfd with counter 0. */
    public static int create() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int fd = (int) Libc.EVENTFD.invokeExact(state, 0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (fd < 0) {
                throw Libc.fail("eventfd", state);
            }
            return fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Adds 1 to the counter (wakes a reader; through QEMU, interrupts the guest that owns it). */
    public static void signal(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L);
            long n = (long) Libc.WRITE.invokeExact(state, fd, one, 8L);
            if (n != 8) {
                throw Libc.fail("write(eventfd " + fd + ")", state);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Reads and clears the counter; 0 when nothing was signalled since the last drain. */
    public static long drain(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            long n = (long) Libc.READ.invokeExact(state, fd, value, 8L);
            if (n == 8) {
                return value.get(ValueLayout.JAVA_LONG, 0);
            }
            if (n < 0 && Libc.errno(state) == Libc.EAGAIN) {
                return 0;
            }
            throw Libc.fail("read(eventfd " + fd + ")", state);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
