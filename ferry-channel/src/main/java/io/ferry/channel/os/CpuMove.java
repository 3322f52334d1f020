package io.ferry.channel.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Moves the calling thread off the CPU it is running on, to another CPU its affinity allows, and leaves its affinity
 * as it was: {@code sched_setaffinity} with the thread's own mask less its current CPU (the kernel migrates a thread
 * at once when its CPU leaves its mask), then its own mask again. For a server thread that finds the thread it
 * answers waiting for this CPU ({@code RingIdleStrategy}); never used on a guest's threads.
 */
public final class CpuMove {
    /** Bytes of the CPU mask: 1,024 CPUs, glibc's {@code cpu_set_t}. */
    private static final int MASK_BYTES = 128;
    private static final MethodHandle GETCPU;
    private static final MethodHandle GET_AFFINITY;
    private static final MethodHandle SET_AFFINITY;

    static {
        MethodHandle getcpu = null;
        MethodHandle get = null;
        MethodHandle set = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            FunctionDescriptor affinity = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
            getcpu = linker.downcallHandle(libc.find("sched_getcpu").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT), Linker.Option.critical(false));
            get = linker.downcallHandle(libc.find("sched_getaffinity").orElseThrow(), affinity);
            set = linker.downcallHandle(libc.find("sched_setaffinity").orElseThrow(), affinity);
        } catch (RuntimeException | LinkageError e) {
            getcpu = null; // not Linux's C library: never moves
        }
        GETCPU = getcpu;
        GET_AFFINITY = get;
        SET_AFFINITY = set;
    }

    private CpuMove() {
    }

    /** The CPU the calling thread runs on now, or -1 where that cannot be asked. */
    public static int currentCpu() {
        try {
            return GETCPU == null ? -1 : (int) GETCPU.invokeExact();
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
        if (GETCPU == null) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment own = arena.allocate(MASK_BYTES);
            if ((int) GET_AFFINITY.invokeExact(0, (long) MASK_BYTES, own) != 0) {
                return false;
            }
            int cpu = (int) GETCPU.invokeExact();
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
            if ((int) SET_AFFINITY.invokeExact(0, (long) MASK_BYTES, others) != 0) {
                return false;
            }
            int restored = (int) SET_AFFINITY.invokeExact(0, (long) MASK_BYTES, own);
            return restored == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
