package io.ferry.host.worker;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.logging.Logger;

/**
 * What a worker does to itself before it touches guest code, with what Linux offers an unprivileged process:
 * no new privileges (no setuid escalation through exec), death with the host (PR_SET_PDEATHSIG, so an orphaned
 * worker never outlives it), and no core dumps (a crash must not write guest data to disk). A production
 * deployment adds a separate uid, a seccomp filter and Landlock rules (docs/security.md).
 */
public final class Sandbox {
    private static final Logger LOG = Logger.getLogger("ferry.worker");
    private static final int PR_SET_PDEATHSIG = 1;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int SIGKILL = 9;
    private static final int RLIMIT_CORE = 4;

    private Sandbox() {
    }

    public static void enterWorker() {
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            MethodHandle prctl = linker.downcallHandle(libc.find("prctl").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1));
            MethodHandle setrlimit = linker.downcallHandle(libc.find("setrlimit").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            int a = (int) prctl.invokeExact(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
            int b = (int) prctl.invokeExact(PR_SET_PDEATHSIG, (long) SIGKILL, 0L, 0L, 0L);
            int c;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment limit = arena.allocate(16);
                c = (int) setrlimit.invokeExact(RLIMIT_CORE, limit);
            }
            if (a != 0 || b != 0 || c != 0) {
                LOG.warning("worker sandbox partly applied: no_new_privs=" + a + " pdeathsig=" + b + " rlimit_core=" + c);
            }
        } catch (Throwable t) {
            LOG.warning("worker sandbox not applied: " + t);
        }
    }
}
