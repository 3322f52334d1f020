package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibraryPathsTest {

    private static Path touch(Path root, String path) throws IOException {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        return Files.writeString(p, "");
    }

    @Test
    void looksForNvrtcInCudaHomeThenNewestInstallThenTheLoader(@TempDir Path root) throws IOException {
        Path home = root.resolve("opt/cuda-custom");
        Path custom = touch(home, "lib64/libnvrtc.so.12");
        Path v13 = touch(root, "usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13");
        Path v124 = touch(root, "usr/local/cuda-12.4/targets/x86_64-linux/lib/libnvrtc.so.12");
        Path v129 = touch(root, "usr/local/cuda-12.10/lib64/libnvrtc.so.12");
        Files.createDirectories(root.resolve("usr/local/cuda-11.8/lib64")); // no NVRTC there
        List<String> found = LibraryPaths.nvrtcCandidates(Map.of("CUDA_HOME", home.toString()), root);
        assertEquals(List.of(custom.toString(), v13.toString(), v129.toString(), v124.toString(),
                "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), found);
    }

    @Test
    void prefersTheCudaSymlinkAndVersionThirteen(@TempDir Path root) throws IOException {
        Path plain13 = touch(root, "usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.13");
        Path plain12 = touch(root, "usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.12");
        List<String> found = LibraryPaths.nvrtcCandidates(Map.of(), root);
        assertEquals(List.of(plain13.toString(), plain12.toString(), "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), found);
    }

    @Test
    void fallsBackToTheLoaderAndSaysWhereItLooked(@TempDir Path root) {
        assertEquals(LibraryPaths.NVRTC_NAMES, LibraryPaths.nvrtcCandidates(Map.of(), root));
        String where = LibraryPaths.describeNvrtcSearch(Map.of(), root);
        assertTrue(where.contains("libnvrtc.so.13"), where);
        assertTrue(where.contains("$CUDA_HOME (unset)"), where);
        assertTrue(where.contains("no CUDA installation found"), where);
        assertTrue(where.contains("LD_LIBRARY_PATH"), where);
    }

    @Test
    void looksForTheDriverThroughTheLoaderThenInDriverFolders(@TempDir Path root) throws IOException {
        Path nv = touch(root, "usr/local/nvidia/lib64/libcuda.so.1");
        Path sys = touch(root, "usr/lib/x86_64-linux-gnu/libcuda.so.1");
        assertEquals(List.of("libcuda.so.1", sys.toString(), nv.toString()), LibraryPaths.driverCandidates(root));
    }

    @Test
    void ordersVersionsNumerically() {
        assertTrue(LibraryPaths.VERSION_ORDER.compare(LibraryPaths.version("12.10"), LibraryPaths.version("12.4")) > 0);
        assertTrue(LibraryPaths.VERSION_ORDER.compare(LibraryPaths.version("13.0"), LibraryPaths.version("12.9")) > 0);
        assertEquals(0, LibraryPaths.VERSION_ORDER.compare(LibraryPaths.version("13"), LibraryPaths.version("13.0")));
    }

    @Test
    void putsTheDriversMajorFirstAndNewerMajorsLast(@TempDir Path root) throws IOException {
        Path v13 = touch(root, "usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13");
        Path v126 = touch(root, "usr/local/cuda-12.6/targets/x86_64-linux/lib/libnvrtc.so.12");
        Path v118 = touch(root, "usr/local/cuda-11.8/lib64/libnvrtc.so");
        List<String> forTwelve = LibraryPaths.nvrtcCandidates(Map.of(), root, 12080);
        assertEquals(List.of(v126.toString(), "libnvrtc.so.12", v118.toString(), "libnvrtc.so", v13.toString(),
                "libnvrtc.so.13"), forTwelve);
        List<String> forThirteen = LibraryPaths.nvrtcCandidates(Map.of(), root, 13000);
        assertEquals(List.of(v13.toString(), "libnvrtc.so.13", v126.toString(), "libnvrtc.so.12", v118.toString(),
                "libnvrtc.so"), forThirteen);
        assertEquals(LibraryPaths.nvrtcCandidates(Map.of(), root), LibraryPaths.nvrtcCandidates(Map.of(), root, 0),
                "no driver: the plain order");
        assertEquals(11, LibraryPaths.nvrtcMajor(v118.toString()));
    }

    @Test
    void findsTheBuiltinsOfNvrtcsOwnVersionInItsFolder(@TempDir Path root) throws IOException {
        Path dir = root.resolve("usr/local/cuda-13.0/targets/x86_64-linux/lib");
        Path real = touch(dir, "libnvrtc.so.13.0.88");
        Path link = Files.createSymbolicLink(dir.resolve("libnvrtc.so.13"), real.getFileName());
        Path exact = touch(dir, "libnvrtc-builtins.so.13.0");
        Path full = touch(dir, "libnvrtc-builtins.so.13.0.88");
        Path newer = touch(dir, "libnvrtc-builtins.so.13.1");
        touch(dir, "libnvrtc-builtins.so.12.8"); // another major: never
        List<Path> found = LibraryPaths.nvrtcBuiltins(link);
        assertEquals(List.of(full.toRealPath(), exact.toRealPath(), newer.toRealPath()),
                found.stream().map(p -> { try { return p.toRealPath(); } catch (IOException e) { throw new RuntimeException(e); } }).toList());
        assertEquals(List.of(), LibraryPaths.nvrtcBuiltins(root.resolve("nowhere/libnvrtc.so.13")));
    }
}
