package io.ferry.host.worker;

import io.ferry.host.sched.SchedClass;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.logging.Logger;

/**
 * The CPU device's native scheduling lever: the OS scheduler. A guest's device worker (and the host thread that
 * serves the guest) run with a CPU priority that follows the guest's class, so that on a CPU device a critical
 * guest's kernels preempt best-effort kernels for real: BEST_EFFORT threads run under SCHED_IDLE (only when a core
 * would otherwise idle), NORMAL at nice 0, HIGH at nice -5, CRITICAL at nice -10 (raising priority needs
 * CAP_SYS_NICE; without it the thread stays at nice 0 and a log line says so).
 *
 * <p>Linux applies both calls to one thread; threads created afterwards inherit the setting, which is why a
 * worker applies it before it starts its device (PoCL's threads then inherit it).
 */
public final class OsPriority {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_IDLE = 5;
    private static final int PRIO_PROCESS = 0;
    private static final long SYS_GETTID = 186; // x86_64

    private OsPriority() {
    }

    /**
     * For a host thread that serves a guest (it forwards, it does not compute): like {@link #applyToCurrentThread}
     * but a best-effort guest's thread runs at nice 10 rather than SCHED_IDLE, so that handing work to its device
     * worker is not starved behind every other thread (the worker itself is the one under SCHED_IDLE).
     */
    public static boolean applyToServingThread(SchedClass c) {
        return apply(c, false);
    }

    /** Applies {@code c} to the calling thread; returns false (with a log line) where the OS refused. */
    public static boolean applyToCurrentThread(SchedClass c) {
        return apply(c, true);
    }

    /**
     * As {@link #applyToServingThread(SchedClass)}, first confining the thread to its class's CPU set and, for a
     * CRITICAL guest with {@code realtime}, trying SCHED_FIFO ({@link RealTime}); nice levels where that is refused.
     */
    public static boolean applyToServingThread(SchedClass c, RealTime.Settings rt) {
        return RealTime.os().apply(c, rt, false) || apply(c, false);
    }

    /** As above with the host's settings for {@code c}; a NORMAL guest without a CPU set is left as it is. */
    public static boolean applyToServingThread(SchedClass c, io.ferry.host.config.HostConfig.Scheduling s) {
        RealTime.Settings rt = RealTime.Settings.of(s, c);
        return (c == SchedClass.NORMAL && rt.cpus() == null) || applyToServingThread(c, rt);
    }

    /** As {@link #applyToCurrentThread(SchedClass)} in a device worker, with {@link RealTime} first (and mlockall). */
    public static boolean applyToWorkerThread(SchedClass c, RealTime.Settings rt) {
        return RealTime.os().apply(c, rt, true) || apply(c, true);
    }

    private static boolean apply(SchedClass c, boolean idleForBestEffort) {
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            MethodHandle syscall = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
            MethodHandle schedSet = linker.downcallHandle(libc.find("sched_setscheduler").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS));
            MethodHandle setPriority = linker.downcallHandle(libc.find("setpriority").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT));
            int tid = (int) (long) syscall.invokeExact(SYS_GETTID);
            int rc;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment param = arena.allocate(ValueLayout.JAVA_INT); // sched_priority = 0
                boolean idle = c == SchedClass.BEST_EFFORT && idleForBestEffort;
                rc = (int) schedSet.invokeExact(tid, idle ? SCHED_IDLE : SCHED_OTHER, param);
            }
            int nice = switch (c) {
                case CRITICAL -> -10;
                case HIGH -> -5;
                case NORMAL -> 0;
                case BEST_EFFORT -> idleForBestEffort ? 0 : 10;
            };
            int rc2 = c == SchedClass.BEST_EFFORT && idleForBestEffort ? 0
                    : (int) setPriority.invokeExact(PRIO_PROCESS, tid, nice);
            if (rc != 0 || rc2 != 0) {
                LOG.info("thread " + tid + ": OS priority for " + c + " not fully applied (needs CAP_SYS_NICE to raise)");
                return false;
            }
            return true;
        } catch (Throwable t) {
            LOG.info("OS priority not applied: " + t);
            return false;
        }
    }
}
