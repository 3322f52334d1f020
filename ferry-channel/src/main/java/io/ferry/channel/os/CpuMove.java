package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Moves the calling thread off the CPU it is running on, to another CPU its affinity allows, and leaves its affinity
 * as it was: {@code sched_setaffinity} with the thread's own mask less its current CPU (the kernel migrates a thread
 * at once when its CPU leaves its mask), then its own mask again. For a server thread that finds the thread it
 * answers waiting for this CPU ({@code RingIdleStrategy}); never used on a guest's threads.
 */
public final class CpuMove {
    /** Bytes of the CPU mask: 1,024 CPUs, glibc's {@code cpu_set_t}. */
    private static final int MASK_BYTES = 128;

    private CpuMove() {
    }

    /** The CPU the calling thread runs on now, or -1 where that cannot be asked. */
    public static int currentCpu() {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Libc.SCHED_GETCPU.invokeExact(Libc.callState(arena));
        } catch (Throwable t) {
            return -1;
        }
    }

    /**
     * Moves the calling thread to another CPU it may run on.
     *
     * @return false where it could not: one allowed CPU only, no such calls here, or the kernel refused
     */
    public static boolean moveOff() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment own = arena.allocate(MASK_BYTES);
            if ((int) Libc.SCHED_GETAFFINITY.invokeExact(state, 0, (long) MASK_BYTES, own) != 0) {
                return false;
            }
            int cpu = currentCpu();
            if (cpu < 0 || cpu >= MASK_BYTES * 8) {
                return false;
            }
            MemorySegment others = arena.allocate(MASK_BYTES);
            others.copyFrom(own);
            long at = cpu / 8;
            others.set(ValueLayout.JAVA_BYTE, at, (byte) (others.get(ValueLayout.JAVA_BYTE, at) & ~(1 << (cpu % 8))));
            if (others.mismatch(arena.allocate(MASK_BYTES)) < 0) {
                return false; // no other CPU allowed
            }
            if ((int) Libc.SCHED_SETAFFINITY.invokeExact(state, 0, (long) MASK_BYTES, others) != 0) {
                return false;
            }
            int restored = (int) Libc.SCHED_SETAFFINITY.invokeExact(state, 0, (long) MASK_BYTES, own);
            return restored == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
