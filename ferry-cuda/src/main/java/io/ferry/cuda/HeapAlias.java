package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A second virtual mapping of the pages of a shared mapping ({@code mremap} with an old size of 0, which Linux
 * answers with a new mapping of the same pages), so that a session's further device contexts can each register the
 * guest's heap for themselves. CUDA registers an address range once per process
 * ({@code CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED}), and a portable registration would map the heap into every
 * context of the process, other guests' included; a view of its own keeps each registration in its own context.
 */
final class HeapAlias {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final int MREMAP_MAYMOVE = 1;
    private static final int SC_PAGESIZE = 30;
    private static final MethodHandle MREMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mremap").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT), Linker.Option.firstVariadicArg(4));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle SYSCONF = LINKER.downcallHandle(LINKER.defaultLookup().find("sysconf").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT));

    private HeapAlias() {
    }

    /**
     * A view of the same memory as {@code shared} (a {@code MAP_SHARED} mapping, e.g. of a {@code /dev/shm} file) at
     * another address; release it with {@link #release}. Throws {@link IllegalStateException} when the kernel
     * refuses (a private mapping).
     */
    @SuppressWarnings("restricted")
    static MemorySegment of(MemorySegment shared) {
        long page = pageSize();
        long base = shared.address() / page * page;
        long length = (shared.address() + shared.byteSize() - base + page - 1) / page * page;
        long at;
        try {
            at = (long) MREMAP.invokeExact(base, 0L, length, MREMAP_MAYMOVE);
        } catch (Throwable t) {
            throw new IllegalStateException("mremap failed: " + t, t);
        }
        if (at == -1L) {
            throw new IllegalStateException("mremap would not map the heap's pages a second time (not a shared "
                    + "mapping?)");
        }
        return MemorySegment.ofAddress(at + (shared.address() - base)).reinterpret(shared.byteSize());
    }

    /** Unmaps a view made by {@link #of}. */
    static void release(MemorySegment view) {
        long page = pageSize();
        long base = view.address() / page * page;
        long length = (view.address() + view.byteSize() - base + page - 1) / page * page;
        try {
            int ignored = (int) MUNMAP.invokeExact(base, length);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed: " + t, t);
        }
    }

    private static long pageSize() {
        try {
            long p = (long) SYSCONF.invokeExact(SC_PAGESIZE);
            return p > 0 ? p : 4096;
        } catch (Throwable t) {
            return 4096;
        }
    }
}
