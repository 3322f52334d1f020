package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Ferry's FFM bindings checked against the real CUDA headers where they are installed: every driver symbol is the one
 * {@code cuda.h} maps its API name to (or a justified older version), and every descriptor has the prototype's
 * parameter count, widths and integer/floating classes; the same for NVRTC against {@code nvrtc.h}; and every
 * {@code CU_*}/{@code CUDA_*} constant has the header's value. Skipped, saying where it looked, where a header is
 * absent. {@link CHeaderTest} tests the parser itself.
 */
class CudaHeaderTest {
    /**
     * Bindings that are deliberately an older version than the one {@code cuda.h} maps their API name to, each with
     * its reason. The header must still declare them (its {@code __CUDA_API_VERSION_INTERNAL} section declares the
     * older versions); a new entry needs a reason here, and an entry no binding needs any more fails the test.
     */
    private static final Map<String, String> OLDER_ON_PURPOSE = Map.of(
            "cuCtxCreate_v2", "cuCtxCreate maps to cuCtxCreate_v4 (CUDA 12.5+); drivers before 12.5 lack v4, so "
                    + "Cuda.ctxCreate falls back to v2 (no create params)");

    /** A header found and read: where, and its CUDA_VERSION. */
    record Found(Path file, CHeader header) {
        String where() {
            OptionalLong v = header.constant("CUDA_VERSION");
            return file + (v.isPresent() ? " (CUDA_VERSION " + v.getAsLong() + ")" : "");
        }
    }

    private static final Map<String, Found> HEADERS = new ConcurrentHashMap<>();

    /** Where a CUDA header is looked for, in order: each CUDA installation's include and targets/*&#47;include. */
    static List<Path> candidates(String file) {
        List<Path> out = new ArrayList<>();
        for (Path home : LibraryPaths.cudaHomes(System.getenv(), Path.of("/"))) {
            out.add(home.resolve("include").resolve(file));
            if (Files.isDirectory(home.resolve("targets"))) {
                try (Stream<Path> s = Files.list(home.resolve("targets"))) {
                    s.sorted().forEach(t -> out.add(t.resolve("include").resolve(file)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out;
    }

    /** The parsed header, or the test is skipped saying where it looked. */
    private static Found header(String file) {
        Path found = candidates(file).stream().filter(Files::isRegularFile).findFirst().orElse(null);
        Assumptions.assumeTrue(found != null, () -> "no " + file + " found: looked in $CUDA_HOME/include, "
                + "$CUDA_PATH/include, /usr/local/cuda/include, /usr/local/cuda-*/include (newest first) and their "
                + "targets/*/include: " + candidates(file) + (file.equals("cuda.h") ? "" : cudaH()));
        return HEADERS.computeIfAbsent(file, f -> {
            try {
                return new Found(found, CHeader.read(found));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Where cuda.h is, with its CUDA_VERSION, for a message about another header. */
    private static String cudaH() {
        return candidates("cuda.h").stream().filter(Files::isRegularFile).findFirst()
                .map(p -> "; cuda.h is " + header("cuda.h").where()).orElse("; no cuda.h either");
    }

    static String versionless(String symbol) {
        return symbol.replaceFirst("_v\\d+$", "");
    }

    /** The API name a symbol is a version of: the define that maps to it, else its unversioned name if defined. */
    static String apiName(CHeader h, String symbol) {
        return h.apiFor(symbol).orElseGet(() -> {
            String base = versionless(symbol);
            return !base.equals(symbol) && !h.symbolFor(base).equals(base) ? base : symbol;
        });
    }

    @Test
    void driverBindingsAreTheSymbolsAndPrototypesOfCudaH() {
        Found cuda = header("cuda.h");
        List<String> problems = new ArrayList<>();
        Set<String> olderUsed = new HashSet<>();
        List<Cuda.Binding> bindings = Cuda.bindings();
        assertFalse(bindings.isEmpty(), "Cuda.bindings() is empty");
        for (Cuda.Binding b : bindings) {
            problems.addAll(check(cuda.header(), b.names(), b.descriptor(), olderUsed));
        }
        for (String entry : OLDER_ON_PURPOSE.keySet()) {
            if (!olderUsed.contains(entry)) {
                problems.add(entry + " is in OLDER_ON_PURPOSE, but no binding is that older version any more: remove it");
            }
        }
        long symbols = bindings.stream().mapToLong(b -> b.names().size()).sum();
        System.out.printf("checked %d driver bindings (%d symbols) against %s%n", bindings.size(), symbols, cuda.where());
        assertTrue(problems.isEmpty(), cuda.where() + ":\n  " + String.join("\n  ", problems));
    }

    /**
     * One driver binding against the header: its first name is the symbol its API name maps to (or in
     * {@link #OLDER_ON_PURPOSE}, then added to {@code olderUsed}), later names are older versions of it, and every
     * name is declared with a prototype that matches the descriptor.
     */
    static List<String> check(CHeader h, List<String> names, FunctionDescriptor d, Set<String> olderUsed) {
        List<String> problems = new ArrayList<>();
        String primary = names.get(0);
        String api = apiName(h, primary);
        String expected = h.symbolFor(api);
        if (!expected.equals(primary)) {
            if (OLDER_ON_PURPOSE.containsKey(primary)) {
                olderUsed.add(primary);
            } else {
                problems.add(primary + ": the header maps " + api + " to " + expected + ", not " + primary + " (bind "
                        + expected + " first, or justify " + primary + " in OLDER_ON_PURPOSE); descriptor " + d);
            }
        }
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (i > 0 && !versionless(name).equals(versionless(primary))) {
                problems.add(name + ": a fallback of " + primary + " that is not an older version of it");
            }
            List<CHeader.Prototype> declared = h.prototypes(name);
            if (declared.isEmpty()) {
                problems.add(name + ": the header declares no such symbol" + (i > 0 ? " (fallback of " + primary + ")" : "")
                        + "; descriptor " + d);
            }
            for (CHeader.Prototype p : declared) {
                problems.addAll(compare(h, name, p, d));
            }
        }
        return problems;
    }

    @Test
    void nvrtcBindingsAreThePrototypesOfNvrtcH() {
        Found nvrtc = header("nvrtc.h");
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, FunctionDescriptor> e : Nvrtc.SYMBOLS.entrySet()) {
            String name = e.getKey();
            String symbol = nvrtc.header().symbolFor(name);
            if (!symbol.equals(name)) {
                problems.add(name + ": nvrtc.h maps it to " + symbol + "; descriptor " + e.getValue());
            }
            List<CHeader.Prototype> declared = nvrtc.header().prototypes(name);
            if (declared.isEmpty()) {
                problems.add(name + ": nvrtc.h declares no such function; descriptor " + e.getValue());
            }
            for (CHeader.Prototype p : declared) {
                problems.addAll(compare(nvrtc.header(), name, p, e.getValue()));
            }
        }
        System.out.printf("checked %d NVRTC bindings against %s%n", Nvrtc.SYMBOLS.size(), nvrtc.where());
        assertTrue(problems.isEmpty(), nvrtc.where() + ":\n  " + String.join("\n  ", problems));
    }

    @Test
    void constantsHaveTheValuesOfCudaH() throws Exception {
        Found cuda = header("cuda.h");
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Class<?> c : packageClasses()) {
            for (Field f : c.getDeclaredFields()) {
                int m = f.getModifiers();
                if (!Modifier.isStatic(m) || !Modifier.isFinal(m) || f.getType() != int.class
                        || !(f.getName().startsWith("CU_") || f.getName().startsWith("CUDA_"))) {
                    continue;
                }
                f.setAccessible(true);
                int value = f.getInt(null);
                OptionalLong h = cuda.header().constant(f.getName());
                checked++;
                String field = c.getSimpleName() + "." + f.getName() + " = " + value;
                if (h.isEmpty()) {
                    problems.add(field + ": cuda.h has no enumerator or integer #define of that name");
                } else if (h.getAsLong() != value && h.getAsLong() != Integer.toUnsignedLong(value)) {
                    problems.add(field + ": cuda.h says " + h.getAsLong());
                }
            }
        }
        System.out.printf("checked %d constants against %s%n", checked, cuda.where());
        assertTrue(checked > 0, "no CU_* or CUDA_* constants found in " + packageClasses());
        assertTrue(problems.isEmpty(), cuda.where() + ":\n  " + String.join("\n  ", problems));
    }

    /** The prototype against the descriptor: parameter count, then each parameter's and the result's width and class. */
    static List<String> compare(CHeader h, String symbol, CHeader.Prototype p, FunctionDescriptor d) {
        String where = "\n      header " + p + "\n      descriptor " + d;
        List<String> out = new ArrayList<>();
        List<CHeader.CType> params;
        CHeader.CType result;
        try {
            params = h.paramTypes(p);
            result = h.returnType(p);
        } catch (IllegalArgumentException e) {
            return List.of(symbol + ": " + e.getMessage() + where);
        }
        List<MemoryLayout> args = d.argumentLayouts();
        if (params.size() != args.size()) {
            return List.of(symbol + ": the header has " + params.size() + " parameters, the descriptor " + args.size() + where);
        }
        for (int i = 0; i < params.size(); i++) {
            String m = mismatch(params.get(i), args.get(i));
            if (m != null) {
                out.add(symbol + ": parameter " + (i + 1) + " (" + String.join(" ", p.params().get(i)) + ") " + m + where);
            }
        }
        String r = d.returnLayout().isPresent() ? mismatch(result, d.returnLayout().get())
                : result.size() == 0 ? null : "is " + result + " but the descriptor returns nothing";
        if (r != null) {
            out.add(symbol + ": the result " + r + where);
        }
        return out;
    }

    /** Null when the layout passes the C type (same width, same integer/floating class), else what differs. */
    static String mismatch(CHeader.CType c, MemoryLayout layout) {
        if (!(layout instanceof ValueLayout v)) {
            return "is " + c + " but the descriptor has " + layout + ", not a value layout";
        }
        boolean floating = v.carrier() == float.class || v.carrier() == double.class;
        if (c.size() == v.byteSize() && c.floating() == floating) {
            return null;
        }
        return "is " + c + " but the descriptor has " + layout + " (" + v.byteSize() + "-byte "
                + (floating ? "floating" : "integer") + ")";
    }

    /** The classes of io.ferry.cuda's main code, from the folder or jar it was loaded from (not initialised). */
    static List<Class<?>> packageClasses() throws Exception {
        Path from = Path.of(Cuda.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String folder = Cuda.class.getPackageName().replace('.', '/') + "/";
        List<String> files = new ArrayList<>();
        if (Files.isDirectory(from)) {
            try (Stream<Path> s = Files.list(from.resolve(folder))) {
                s.map(p -> p.getFileName().toString()).forEach(files::add);
            }
        } else {
            try (JarFile jar = new JarFile(from.toFile())) {
                jar.stream().map(e -> e.getName()).filter(n -> n.startsWith(folder) && n.indexOf('/', folder.length()) < 0)
                        .map(n -> n.substring(folder.length())).forEach(files::add);
            }
        }
        List<Class<?>> out = new ArrayList<>();
        for (String f : files.stream().filter(n -> n.endsWith(".class") && !n.contains("-info")).sorted().toList()) {
            String name = Cuda.class.getPackageName() + "." + f.substring(0, f.length() - ".class".length());
            out.add(Class.forName(name, false, Cuda.class.getClassLoader()));
        }
        return out;
    }
}
