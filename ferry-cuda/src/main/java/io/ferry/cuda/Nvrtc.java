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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NVRTC (the CUDA C runtime compiler) over FFM: CUDA C source → PTX. Loaded on first use from the first of
 * {@link LibraryPaths#nvrtcCandidates} that opens; when none does, CUDA C builds fail with
 * {@link Status#UNSUPPORTED} saying where NVRTC was looked for (PTX programs still build).
 */
final class Nvrtc {
    /** The compiled PTX (or, for a real architecture, the cubin, with {@code ptx} empty) and the compiler's log. */
    record Result(String ptx, byte[] cubin, String log) {
    }

    /** The functions Ferry binds, by the names NVRTC exports ({@code nvrtc.h} declares them unversioned). */
    static final Map<String, FunctionDescriptor> SYMBOLS = symbols();

    private static volatile Nvrtc instance;
    private static volatile String missing;

    final String loadedFrom;
    /** The builtins library preloaded from NVRTC's own folder; null when none was needed or found. */
    final String builtinsFrom;
    /** The version as {@code major * 1000 + minor * 10} (the driver's encoding), or 0 when unknown. */
    final int versionCode;
    private final MethodHandle version;
    private final MethodHandle createProgram;
    private final MethodHandle compileProgram;
    private final MethodHandle getProgramLogSize;
    private final MethodHandle getProgramLog;
    private final MethodHandle getPtxSize;
    private final MethodHandle getPtx;
    private final MethodHandle getCubinSize;
    private final MethodHandle getCubin;
    private final MethodHandle destroyProgram;

    private static Map<String, FunctionDescriptor> symbols() {
        Map<String, FunctionDescriptor> m = new LinkedHashMap<>();
        m.put("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        m.put("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        m.put("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        m.put("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        m.put("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        return java.util.Collections.unmodifiableMap(m);
    }

    private Nvrtc(SymbolLookup lookup, String loadedFrom, String builtinsFrom) {
        this.loadedFrom = loadedFrom;
        this.builtinsFrom = builtinsFrom;
        version = bind(lookup, "nvrtcVersion");
        createProgram = bind(lookup, "nvrtcCreateProgram");
        compileProgram = bind(lookup, "nvrtcCompileProgram");
        getProgramLogSize = bind(lookup, "nvrtcGetProgramLogSize");
        getProgramLog = bind(lookup, "nvrtcGetProgramLog");
        getPtxSize = bind(lookup, "nvrtcGetPTXSize");
        getPtx = bind(lookup, "nvrtcGetPTX");
        getCubinSize = bind(lookup, "nvrtcGetCUBINSize");
        getCubin = bind(lookup, "nvrtcGetCUBIN");
        destroyProgram = bind(lookup, "nvrtcDestroyProgram");
        versionCode = queryVersion();
    }

    @SuppressWarnings("restricted")
    private static MethodHandle bind(SymbolLookup lookup, String name) {
        return Linker.nativeLinker().downcallHandle(lookup.find(name).orElseThrow(() ->
                new IllegalStateException("the NVRTC library does not export " + name)), SYMBOLS.get(name));
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

    /**
     * Opens the first NVRTC of {@link LibraryPaths#nvrtcCandidates} (those of the driver's CUDA major first) that
     * loads. Before a library file, its builtins ({@code libnvrtc-builtins.so.M.m}, which NVRTC opens by name at its
     * first compile) are opened from the same folder, so a toolkit without a loader-cache entry (a runfile install)
     * compiles too.
     */
    @SuppressWarnings("restricted")
    private static void load() {
        int driver = Cuda.driverVersion();
        for (String candidate : LibraryPaths.nvrtcCandidates(System.getenv(), Path.of("/"), driver)) {
            try {
                String builtins = null;
                SymbolLookup lookup;
                if (candidate.indexOf('/') >= 0) {
                    builtins = preloadBuiltins(Path.of(candidate));
                    lookup = SymbolLookup.libraryLookup(Path.of(candidate), Arena.global());
                } else {
                    lookup = SymbolLookup.libraryLookup(candidate, Arena.global());
                }
                instance = new Nvrtc(lookup, candidate, builtins);
                return;
            } catch (RuntimeException | Error e) {
                // try the next one
            }
        }
        missing = LibraryPaths.describeNvrtcSearch(System.getenv(), Path.of("/"));
    }

    /** Opens the builtins library that goes with {@code nvrtc}; returns its path, or null when none opened. */
    @SuppressWarnings("restricted")
    private static String preloadBuiltins(Path nvrtc) {
        for (Path b : LibraryPaths.nvrtcBuiltins(nvrtc)) {
            try {
                SymbolLookup.libraryLookup(b, Arena.global());
                return b.toString();
            } catch (RuntimeException | Error e) {
                // try the next one; NVRTC may still find its own
            }
        }
        return null;
    }

    /** Asks NVRTC its version, as {@code major * 1000 + minor * 10} (the driver's encoding); 0 when it cannot say. */
    private int queryVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            int rc = (int) version.invokeExact(major, minor);
            return rc == 0 ? major.get(JAVA_INT, 0) * 1000 + minor.get(JAVA_INT, 0) * 10 : 0;
        } catch (Throwable t) {
            return 0;
        }
    }

    /** {@code "13.0"}, or "unknown". */
    String version() {
        return versionCode == 0 ? "unknown" : Cuda.versionText(versionCode);
    }

    /**
     * Compiles {@code source} with {@code options}. Returns the PTX (for a virtual architecture, {@code compute_NN})
     * or the cubin ({@code cubin}: a real one, {@code sm_NN}, where NVRTC makes no PTX) and the log; a compile error
     * throws {@link Status#BUILD_FAILED} with the log in the message.
     */
    Result compile(String source, String programName, List<String> options, boolean cubin) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment progSlot = arena.allocate(JAVA_LONG);
            MemorySegment src = arena.allocateFrom(source, StandardCharsets.UTF_8);
            MemorySegment name = arena.allocateFrom(programName, StandardCharsets.UTF_8);
            int rc = (int) createProgram.invokeExact(progSlot, src, name, 0, MemorySegment.NULL, MemorySegment.NULL);
            if (rc != 0) {
                throw CudaErrors.nvrtcException("nvrtcCreateProgram", rc, null, null);
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
                    throw CudaErrors.nvrtcException("nvrtcCompileProgram", rc, "options " + options, log);
                }
                if (cubin) {
                    byte[] image = bytes(arena, prog, getCubinSize, getCubin);
                    if (image.length == 0) {
                        throw new BackendException(Status.BUILD_FAILED, "NVRTC made no cubin with options " + options
                                + "; name a real architecture (-arch=sm_NN) for a cubin, or a virtual one (compute_NN)");
                    }
                    return new Result("", image, log);
                }
                return new Result(text(arena, prog, getPtxSize, getPtx), null, log);
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
        byte[] b = bytes(arena, prog, sizeFn, getFn);
        int n = b.length > 0 && b[b.length - 1] == 0 ? b.length - 1 : b.length; // the terminating NUL
        return new String(b, 0, n, StandardCharsets.UTF_8).strip();
    }

    /** An NVRTC output of the size its size function reports; empty when there is none. */
    private static byte[] bytes(Arena arena, long prog, MethodHandle sizeFn, MethodHandle getFn) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if ((int) sizeFn.invokeExact(prog, size) != 0) {
            return new byte[0];
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1 || n > Integer.MAX_VALUE - 8) {
            return new byte[0];
        }
        MemorySegment buf = arena.allocate(n);
        if ((int) getFn.invokeExact(prog, buf) != 0) {
            return new byte[0];
        }
        return buf.toArray(JAVA_BYTE);
    }
}
