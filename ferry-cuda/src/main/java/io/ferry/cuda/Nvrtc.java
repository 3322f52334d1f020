package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * NVRTC (the CUDA C runtime compiler) over FFM: CUDA C source → PTX. Loaded on first use from the first of
 * {@link LibraryPaths#nvrtcCandidates} that opens; when none does, CUDA C builds fail with
 * {@link Status#UNSUPPORTED} saying where NVRTC was looked for (PTX programs still build).
 */
final class Nvrtc {
    /** The compiled PTX and the compiler's log. */
    record Result(String ptx, String log) {
    }

    private static volatile Nvrtc instance;
    private static volatile String missing;

    final String loadedFrom;
    private final MethodHandle version;
    private final MethodHandle createProgram;
    private final MethodHandle compileProgram;
    private final MethodHandle getProgramLogSize;
    private final MethodHandle getProgramLog;
    private final MethodHandle getPtxSize;
    private final MethodHandle getPtx;
    private final MethodHandle destroyProgram;

    @SuppressWarnings("restricted")
    private Nvrtc(SymbolLookup lookup, String loadedFrom) {
        this.loadedFrom = loadedFrom;
        Linker linker = Linker.nativeLinker();
        version = bind(linker, lookup, "nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createProgram = bind(linker, lookup, "nvrtcCreateProgram",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        compileProgram = bind(linker, lookup, "nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        getProgramLogSize = bind(linker, lookup, "nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getProgramLog = bind(linker, lookup, "nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getPtxSize = bind(linker, lookup, "nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getPtx = bind(linker, lookup, "nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        destroyProgram = bind(linker, lookup, "nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    @SuppressWarnings("restricted")
    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor d) {
        return linker.downcallHandle(lookup.find(name).orElseThrow(() ->
                new IllegalStateException("the NVRTC library does not export " + name)), d);
    }

    /** The loaded compiler, or throws {@link Status#UNSUPPORTED} saying where it was looked for. */
    static Nvrtc get() throws BackendException {
        Nvrtc n = instance;
        if (n != null) {
            return n;
        }
        synchronized (Nvrtc.class) {
            if (instance == null && missing == null) {
                load();
            }
            if (instance != null) {
                return instance;
            }
            throw new BackendException(Status.UNSUPPORTED, "CUDA C needs NVRTC, which was not found: " + missing
                    + "; install the CUDA toolkit's NVRTC or set CUDA_HOME (PTX programs build without it)");
        }
    }

    @SuppressWarnings("restricted")
    private static void load() {
        List<String> errors = new ArrayList<>();
        for (String candidate : LibraryPaths.nvrtcCandidates(System.getenv(), Path.of("/"))) {
            try {
                SymbolLookup lookup = candidate.indexOf('/') >= 0
                        ? SymbolLookup.libraryLookup(Path.of(candidate), Arena.global())
                        : SymbolLookup.libraryLookup(candidate, Arena.global());
                instance = new Nvrtc(lookup, candidate);
                return;
            } catch (RuntimeException | Error e) {
                errors.add(candidate);
            }
        }
        missing = LibraryPaths.describeNvrtcSearch(System.getenv(), Path.of("/"));
    }

    /** {@code "13.0"}, or "unknown". */
    String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            int rc = (int) version.invokeExact(major, minor);
            return rc == 0 ? major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0) : "unknown";
        } catch (Throwable t) {
            return "unknown";
        }
    }

    /**
     * Compiles {@code source} with {@code options}. Returns the PTX and log; a compile error throws
     * {@link Status#BUILD_FAILED} with the log in the message.
     */
    Result compile(String source, String programName, List<String> options) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment progSlot = arena.allocate(JAVA_LONG);
            MemorySegment src = arena.allocateFrom(source, StandardCharsets.UTF_8);
            MemorySegment name = arena.allocateFrom(programName, StandardCharsets.UTF_8);
            int rc = (int) createProgram.invokeExact(progSlot, src, name, 0, MemorySegment.NULL, MemorySegment.NULL);
            if (rc != 0) {
                throw new BackendException(rc == 1 ? Status.OUT_OF_DEVICE_MEMORY : Status.BUILD_FAILED,
                        CudaErrors.nvrtcMessage("nvrtcCreateProgram", rc, null));
            }
            long prog = progSlot.get(JAVA_LONG, 0);
            try {
                MemorySegment opts = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i), StandardCharsets.UTF_8));
                }
                rc = (int) compileProgram.invokeExact(prog, options.size(), opts);
                String log = text(arena, prog, getProgramLogSize, getProgramLog);
                if (rc != 0) {
                    String message = CudaErrors.nvrtcMessage("nvrtcCompileProgram", rc, "options " + options);
                    throw new BackendException(rc == 1 ? Status.OUT_OF_DEVICE_MEMORY : Status.BUILD_FAILED,
                            log.isBlank() ? message : message + "\nbuild log:\n" + log);
                }
                return new Result(text(arena, prog, getPtxSize, getPtx), log);
            } finally {
                progSlot.set(JAVA_LONG, 0, prog);
                int ignored = (int) destroyProgram.invokeExact(progSlot);
            }
        } catch (BackendException e) {
            throw e;
        } catch (Throwable t) {
            throw new BackendException(Status.INTERNAL, "NVRTC call failed: " + t, t);
        }
    }

    private static String text(Arena arena, long prog, MethodHandle sizeFn, MethodHandle getFn) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if ((int) sizeFn.invokeExact(prog, size) != 0) {
            return "";
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) {
            return "";
        }
        MemorySegment buf = arena.allocate(n);
        if ((int) getFn.invokeExact(prog, buf) != 0) {
            return "";
        }
        byte[] bytes = buf.asSlice(0, n - 1).toArray(JAVA_BYTE);
        return new String(bytes, StandardCharsets.UTF_8).strip();
    }
}
