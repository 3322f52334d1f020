package io.ferry.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where the native libraries are looked for. Pure functions of the environment and a file-system root, so the
 * search order is unit-tested without a GPU.
 *
 * <ul>
 * <li>The driver, {@code libcuda.so.1}: the dynamic loader's path first (LD_LIBRARY_PATH, ldconfig), then the usual
 * driver folders ({@code /usr/lib/x86_64-linux-gnu}, {@code /usr/lib64}, {@code /usr/local/nvidia/lib64}, ...).</li>
 * <li>NVRTC, {@code libnvrtc.so.13} or {@code .12}: {@code $CUDA_HOME} and {@code $CUDA_PATH}, then
 * {@code /usr/local/cuda} and {@code /usr/local/cuda-*} (newest version first), each in {@code targets/*\/lib},
 * {@code lib64} and {@code lib}; then the loader's path by bare name.</li>
 * </ul>
 */
final class LibraryPaths {
    static final String DRIVER = "libcuda.so.1";
    static final List<String> NVRTC_NAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so");
    static final List<String> DRIVER_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/usr/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib");

    private LibraryPaths() {
    }

    /** Candidates for the driver library, in order: a bare name (the loader searches) or an existing file. */
    static List<String> driverCandidates(Path root) {
        List<String> out = new ArrayList<>();
        out.add(DRIVER);
        for (String dir : DRIVER_DIRS) {
            Path p = root.resolve(dir.substring(1)).resolve(DRIVER);
            if (Files.isRegularFile(p) || Files.isSymbolicLink(p)) {
                out.add(p.toString());
            }
        }
        return out;
    }

    /** The CUDA installation folders to look in, in order. */
    static List<Path> cudaHomes(Map<String, String> env, Path root) {
        Set<Path> homes = new LinkedHashSet<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) {
                homes.add(Path.of(v.strip()));
            }
        }
        Path local = root.resolve("usr/local");
        Path plain = local.resolve("cuda");
        if (Files.isDirectory(plain)) {
            homes.add(plain);
        }
        if (Files.isDirectory(local)) {
            try (Stream<Path> s = Files.list(local)) {
                s.filter(p -> p.getFileName().toString().startsWith("cuda-") && Files.isDirectory(p))
                        .sorted(Comparator.comparing((Path p) -> version(p.getFileName().toString().substring(5)), VERSION_ORDER)
                                .reversed())
                        .forEach(homes::add);
            } catch (IOException e) {
                // unreadable: nothing to add
            }
        }
        return List.copyOf(homes);
    }

    /** Library folders of one CUDA installation: {@code targets/*\/lib}, {@code lib64}, {@code lib}. */
    static List<Path> libraryDirs(Path home) {
        List<Path> out = new ArrayList<>();
        Path targets = home.resolve("targets");
        if (Files.isDirectory(targets)) {
            try (Stream<Path> s = Files.list(targets)) {
                s.sorted().map(t -> t.resolve("lib")).filter(Files::isDirectory).forEach(out::add);
            } catch (IOException e) {
                // unreadable: skip
            }
        }
        for (String d : List.of("lib64", "lib")) {
            if (Files.isDirectory(home.resolve(d))) {
                out.add(home.resolve(d));
            }
        }
        return out;
    }

    /**
     * Candidates for NVRTC for a driver of {@code driverVersion} ({@code 13000} = 13.0; 0 when unknown): those of
     * the driver's major first, then older majors (newest first), then those of unknown version, and newer majors
     * last, whose PTX the driver cannot load (CUDA_ERROR_UNSUPPORTED_PTX_VERSION). Within a rank, the order of
     * {@link #nvrtcCandidates(Map, Path)}.
     */
    static List<String> nvrtcCandidates(Map<String, String> env, Path root, int driverVersion) {
        List<String> all = nvrtcCandidates(env, root);
        int driverMajor = driverVersion / 1000;
        if (driverMajor <= 0) {
            return all;
        }
        List<String> out = new ArrayList<>(all);
        out.sort(Comparator.comparingInt((String c) -> {
            int major = nvrtcMajor(c);
            if (major == driverMajor) {
                return 0;
            }
            if (major > 0 && major < driverMajor) {
                return 1 + (driverMajor - major);
            }
            return major <= 0 ? 1000 : 2000 + major;
        }));
        return out;
    }

    /** The CUDA major of an NVRTC candidate, from its name ({@code libnvrtc.so.13}) or folder ({@code cuda-12.6}); 0 if unknown. */
    static int nvrtcMajor(String candidate) {
        Path p = Path.of(candidate);
        String name = p.getFileName().toString();
        if (name.startsWith("libnvrtc.so.")) {
            return version(name.substring("libnvrtc.so.".length())).get(0);
        }
        for (Path q = p.getParent(); q != null; q = q.getParent()) {
            Path n = q.getFileName();
            if (n != null && n.toString().startsWith("cuda-")) {
                return version(n.toString().substring(5)).get(0);
            }
        }
        return 0;
    }

    /**
     * The builtins libraries to open before the NVRTC at {@code nvrtc}, best first: in its own folder,
     * {@code libnvrtc-builtins.so.M.m} of the version its real file name carries ({@code libnvrtc.so.13.0.88}), then
     * others of the same major, newest first. NVRTC opens its builtins by bare name at its first compile, which
     * fails where the toolkit's folder is not in the loader's cache; one already open is found by that name.
     */
    static List<Path> nvrtcBuiltins(Path nvrtc) {
        Path real;
        try {
            real = nvrtc.toRealPath();
        } catch (IOException e) {
            real = nvrtc;
        }
        Path dir = real.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        String name = real.getFileName().toString();
        List<Integer> v = name.startsWith("libnvrtc.so.") ? version(name.substring("libnvrtc.so.".length())) : List.of();
        String prefix = "libnvrtc-builtins.so.";
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().startsWith(prefix)).forEach(found::add);
        } catch (IOException e) {
            return List.of();
        }
        java.util.function.Function<Path, List<Integer>> builtinsVersion =
                p -> version(p.getFileName().toString().substring(prefix.length()));
        Comparator<Path> newest = Comparator.comparing(builtinsVersion, VERSION_ORDER).reversed();
        if (v.isEmpty()) {
            found.sort(newest);
            return found;
        }
        // NVRTC's own major only; its own major.minor first
        return found.stream()
                .filter(p -> builtinsVersion.apply(p).get(0).equals(v.get(0)))
                .sorted(Comparator.comparing((Path p) -> {
                    List<Integer> b = builtinsVersion.apply(p);
                    return !(v.size() >= 2 && b.size() >= 2 && b.get(1).equals(v.get(1)));
                }).thenComparing(newest))
                .toList();
    }

    /** Candidates for NVRTC, in order: existing files first, then bare names for the loader. */
    static List<String> nvrtcCandidates(Map<String, String> env, Path root) {
        List<String> out = new ArrayList<>();
        for (Path home : cudaHomes(env, root)) {
            for (Path dir : libraryDirs(home)) {
                for (String name : NVRTC_NAMES) {
                    Path p = dir.resolve(name);
                    if (Files.exists(p) && !out.contains(p.toString())) {
                        out.add(p.toString());
                    }
                }
            }
        }
        out.addAll(NVRTC_NAMES);
        return out;
    }

    /** Says where NVRTC was looked for, for the message when it is missing. */
    static String describeNvrtcSearch(Map<String, String> env, Path root) {
        List<String> where = new ArrayList<>();
        where.add("$CUDA_HOME" + (env.get("CUDA_HOME") == null ? " (unset)" : "=" + env.get("CUDA_HOME")));
        where.add("$CUDA_PATH" + (env.get("CUDA_PATH") == null ? " (unset)" : "=" + env.get("CUDA_PATH")));
        List<Path> homes = cudaHomes(env, root);
        where.add("/usr/local/cuda*/{targets/*/lib,lib64,lib}" + (homes.isEmpty() ? " (no CUDA installation found)"
                : " (found " + homes + ")"));
        where.add("the loader path (LD_LIBRARY_PATH, ldconfig)");
        return "looked for " + String.join(", ", NVRTC_NAMES) + " in " + String.join(", ", where);
    }

    /** "13.0" → [13, 0]; unparsable parts count as 0. */
    static List<Integer> version(String text) {
        List<Integer> out = new ArrayList<>();
        for (String part : text.split("\\.")) {
            int v = 0;
            for (int i = 0; i < part.length() && Character.isDigit(part.charAt(i)); i++) {
                v = v * 10 + (part.charAt(i) - '0');
            }
            out.add(v);
        }
        return out;
    }

    private static int compare(List<Integer> a, List<Integer> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            int x = i < a.size() ? a.get(i) : 0;
            int y = i < b.size() ? b.get(i) : 0;
            if (x != y) {
                return Integer.compare(x, y);
            }
        }
        return 0;
    }

    /** Orders versions numerically ("12.10" after "12.4"). */
    static final Comparator<List<Integer>> VERSION_ORDER = LibraryPaths::compare;
}
