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
}
