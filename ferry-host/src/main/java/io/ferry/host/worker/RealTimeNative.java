package io.ferry.host.worker;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.stream.Stream;

/** {@link RealTime.Os} over libc through FFM (x86_64 Linux), errno captured per call. */
final class RealTimeNative implements RealTime.Os {
    private static final int SCHED_OTHER = 0;
    private static final int SCHED_FIFO = 1;
    private static final int RLIMIT_RTTIME = 15;
    private static final int MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4;
    private static final long SYS_GETTID = 186;
    private static final int CPU_SET_BYTES = 128; // 1024 CPUs, glibc's cpu_set_t
    private static final int NO_FFM = 38; // ENOSYS

    private final MethodHandle syscall;
    private final MethodHandle setScheduler;
    private final MethodHandle getScheduler;
    private final MethodHandle setPriority;
    private final MethodHandle getRlimit;
    private final MethodHandle setRlimit;
    private final MethodHandle mlockall;
    private final MethodHandle setAffinity;
    private final StructLayout state = Linker.Option.captureStateLayout();
    private final VarHandle errno = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private RealTimeNative() {
        Linker l = Linker.nativeLinker();
        SymbolLookup libc = l.defaultLookup();
        Linker.Option e = Linker.Option.captureCallState("errno");
        ValueLayout i = ValueLayout.JAVA_INT;
        syscall = l.downcallHandle(libc.find("syscall").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
        setScheduler = l.downcallHandle(libc.find("sched_setscheduler").orElseThrow(),
                FunctionDescriptor.of(i, i, i, ValueLayout.ADDRESS), e);
        getScheduler = l.downcallHandle(libc.find("sched_getscheduler").orElseThrow(), FunctionDescriptor.of(i, i));
        setPriority = l.downcallHandle(libc.find("setpriority").orElseThrow(), FunctionDescriptor.of(i, i, i, i));
        getRlimit = l.downcallHandle(libc.find("getrlimit").orElseThrow(),
                FunctionDescriptor.of(i, i, ValueLayout.ADDRESS));
        setRlimit = l.downcallHandle(libc.find("setrlimit").orElseThrow(),
                FunctionDescriptor.of(i, i, ValueLayout.ADDRESS), e);
        mlockall = l.downcallHandle(libc.find("mlockall").orElseThrow(), FunctionDescriptor.of(i, i), e);
        setAffinity = l.downcallHandle(libc.find("sched_setaffinity").orElseThrow(),
                FunctionDescriptor.of(i, i, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), e);
    }

    /** The native OS, or one that refuses every call with ENOSYS where FFM cannot reach libc. */
    static RealTime.Os load() {
        try {
            return new RealTimeNative();
        } catch (Throwable t) {
            return new RealTime.Os() {
                @Override public int tid() { return 0; }
                @Override public int setFifo(int tid, int priority) { return NO_FFM; }
                @Override public int setRtTimeLimit(long softMicros) { return NO_FFM; }
                @Override public int lockMemory() { return NO_FFM; }
                @Override public int setAffinity(int tid, BitSet cpus) { return NO_FFM; }
                @Override public int demoteRealTimeThreads() { return 0; }
            };
        }
    }

    @Override
    public int tid() {
        try {
            return (int) (long) syscall.invokeExact(SYS_GETTID);
        } catch (Throwable t) {
            return 0;
        }
    }

    @Override
    public int setFifo(int tid, int priority) {
        return schedule(tid, SCHED_FIFO, priority);
    }

    private int schedule(int tid, int policy, int priority) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(state);
            MemorySegment param = a.allocate(ValueLayout.JAVA_INT);
            param.set(ValueLayout.JAVA_INT, 0, priority);
            int rc = (int) setScheduler.invokeExact(st, tid, policy, param);
            return rc == 0 ? 0 : (int) errno.get(st, 0L);
        } catch (Throwable t) {
            return NO_FFM;
        }
    }

    @Override
    public int setRtTimeLimit(long softMicros) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(state);
            MemorySegment lim = a.allocate(16);
            if ((int) getRlimit.invokeExact(RLIMIT_RTTIME, lim) != 0) {
                return NO_FFM;
            }
            long max = lim.get(ValueLayout.JAVA_LONG, 8); // RLIM_INFINITY is -1 (unsigned)
            lim.set(ValueLayout.JAVA_LONG, 0, max == -1 ? softMicros : Math.min(softMicros, max));
            int rc = (int) setRlimit.invokeExact(st, RLIMIT_RTTIME, lim);
            return rc == 0 ? 0 : (int) errno.get(st, 0L);
        } catch (Throwable t) {
            return NO_FFM;
        }
    }

    @Override
    public int lockMemory() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(state);
            int rc = (int) mlockall.invokeExact(st, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
            return rc == 0 ? 0 : (int) errno.get(st, 0L);
        } catch (Throwable t) {
            return NO_FFM;
        }
    }

    @Override
    public int setAffinity(int tid, BitSet cpus) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(state);
            MemorySegment mask = a.allocate(CPU_SET_BYTES);
            long[] words = cpus.toLongArray();
            for (int w = 0; w < Math.min(words.length, CPU_SET_BYTES / 8); w++) {
                mask.set(ValueLayout.JAVA_LONG, 8L * w, words[w]);
            }
            int rc = (int) setAffinity.invokeExact(st, tid, (long) CPU_SET_BYTES, mask);
            return rc == 0 ? 0 : (int) errno.get(st, 0L);
        } catch (Throwable t) {
            return NO_FFM;
        }
    }

    @Override
    public int demoteRealTimeThreads() {
        int n = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path p : (Iterable<Path>) tasks::iterator) {
                int tid = Integer.parseInt(p.getFileName().toString());
                if ((int) getScheduler.invokeExact(tid) == SCHED_FIFO && schedule(tid, SCHED_OTHER, 0) == 0) {
                    int ignored = (int) setPriority.invokeExact(0, tid, -10);
                    n++;
                }
            }
        } catch (Throwable t) { // /proc unreadable, a thread gone meanwhile: what was demoted is counted
            return n;
        }
        return n;
    }
}
