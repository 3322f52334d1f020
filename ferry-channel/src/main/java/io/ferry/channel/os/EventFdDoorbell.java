package io.ferry.channel.os;

import io.ferry.channel.RingDoorbell;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;

/**
 * A {@link RingDoorbell} made of eventfds, without allocating: {@link #await} sleeps in {@code ppoll(2)} until
 * {@code waitFd} is readable and then reads (clears) its counter; {@link #ring} adds 1 to {@code ringFd}.
 * Either may be -1 (that side unused here). The native buffers are allocated once; {@link #await} belongs to one
 * (consumer) thread, {@link #ring} writes a constant and may be called from any thread.
 *
 * <pre>
 * struct pollfd  { int fd; short events; short revents; }    8 bytes
 * struct timespec{ long tv_sec; long tv_nsec; }              16 bytes
 * </pre>
 */
public final class EventFdDoorbell implements RingDoorbell {
    /** The 8-byte value 1 that {@link #signal} writes; never changes, so shared by every thread. */
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    private final int waitFd;
    private final int ringFd;
    private final IntSupplier attached;
    private final MemorySegment pollfd;
    private final MemorySegment timespec;
    private final MemorySegment value;
    private volatile long wakeups;
    private volatile long rings;

    /**
     * @param waitFd   the eventfd {@link #await} sleeps on (-1: none, await returns false)
     * @param ringFd   the eventfd {@link #ring} signals (-1: none)
     * @param attached how many peers can ring {@code waitFd} now; while 0, {@link #await} returns false at once (the
     *                 ring then falls back to its futex), null: always attached
     */
    public EventFdDoorbell(int waitFd, int ringFd, IntSupplier attached) {
        this.waitFd = waitFd;
        this.ringFd = ringFd;
        this.attached = attached;
        Arena arena = Arena.ofAuto();
        this.pollfd = arena.allocate(8, 8);
        this.timespec = arena.allocate(16, 8);
        this.value = arena.allocate(8, 8);
        pollfd.set(ValueLayout.JAVA_INT, 0, waitFd);
    }

    @Override
    public void ring() {
        if (ringFd >= 0 && signal(ringFd)) {
            rings++;
        }
    }

    @Override
    public boolean await(long timeoutNanos) {
        if (waitFd < 0 || (attached != null && attached.getAsInt() == 0)) {
            return false;
        }
        long t = Math.max(0, timeoutNanos);
        pollfd.set(ValueLayout.JAVA_SHORT, 4, Sys.POLLIN);
        pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        timespec.set(ValueLayout.JAVA_LONG, 0, t / 1_000_000_000L);
        timespec.set(ValueLayout.JAVA_LONG, 8, t % 1_000_000_000L);
        try {
            int n = (int) Sys.PPOLL_FAST.invokeExact(pollfd, 1L, timespec, MemorySegment.NULL);
            if (n > 0) {
                long r = (long) Sys.READ_FAST.invokeExact(waitFd, value, 8L);
                if (r == 8) {
                    wakeups++;
                }
            } else if (n < 0) {
                LockSupport.parkNanos(t); // EINTR or a closed fd: nap this once
            }
        } catch (Throwable e) {
            LockSupport.parkNanos(t);
        }
        return true;
    }

    /** Times {@link #await} found the eventfd signalled (interrupts or doorbells received). */
    public long wakeups() {
        return wakeups;
    }

    /** Times {@link #ring} signalled {@code ringFd}. */
    public long rings() {
        return rings;
    }

    /** Adds 1 to eventfd {@code fd} without allocating; false when the write failed (a closed or full eventfd). */
    public static boolean signal(int fd) {
        try {
            return (long) Sys.WRITE_FAST.invokeExact(fd, ONE, 8L) == 8;
        } catch (Throwable t) {
            return false;
        }
    }
}
