package io.ferry.protocol;

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
 * Linux futexes on a shared mapping, through FFM: a thread sleeps until the other side rings, across processes
 * (the futex key of a MAP_SHARED file page is the file and offset, not the address). The doorbells of the region's
 * rings (ferry-channel's {@code SpscRing}) and of the software TEE's lanes ({@link TeeLane}) sleep on it. Where a
 * mapping does not support futexes (a PCI BAR inside a VM: the other side is another kernel) {@link #await} answers
 * false and the caller falls back to timed naps.
 */
public final class Futex {
    private static final long SYS_FUTEX = 202; // x86_64
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int ETIMEDOUT = 110;
    private static final MethodHandle SYSCALL;
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final boolean AVAILABLE;

    static {
        MethodHandle h = null;
        try {
            Linker linker = Linker.nativeLinker();
            h = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
                    Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
        } catch (RuntimeException e) {
            h = null;
        }
        SYSCALL = h;
        AVAILABLE = h != null && System.getProperty("os.arch", "").equals("amd64")
                && System.getProperty("os.name", "").startsWith("Linux");
    }

    private Futex() {
    }

    /**
     * Sleeps while the 32-bit word at {@code word} still holds {@code expected}, at most {@code timeoutNanos}.
     * Returns false when futexes do not work on this mapping (the caller should nap instead).
     */
    public static boolean await(MemorySegment word, int expected, long timeoutNanos) {
        if (!AVAILABLE) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ts = arena.allocate(16, 8);
            ts.set(ValueLayout.JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            ts.set(ValueLayout.JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
            MemorySegment state = arena.allocate(CALL_STATE);
            long rc = (long) SYSCALL.invokeExact(state, SYS_FUTEX, word, FUTEX_WAIT, expected, ts);
            if (rc == 0) {
                return true;
            }
            int errno = (int) ERRNO.get(state, 0L);
            return errno == EAGAIN || errno == EINTR || errno == ETIMEDOUT;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Wakes one sleeper on {@code word}. */
    public static void wake(MemorySegment word) {
        if (!AVAILABLE) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long rc = (long) SYSCALL.invokeExact(state, SYS_FUTEX, word, FUTEX_WAKE, 1, MemorySegment.NULL);
        } catch (Throwable t) {
            // nothing to do: the sleeper's timeout wakes it
        }
    }
}
