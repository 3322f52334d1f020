package io.ferry.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When NVIDIA's OpenCL library is added to the ICD loader's vendors, over a temporary directory as "/". */
class IcdVendorsTest {
    @TempDir
    Path root;
    @TempDir
    Path temp;

    private Path vendors() throws IOException {
        return Files.createDirectories(root.resolve("etc/OpenCL/vendors"));
    }

    private Path library(String folder) throws IOException {
        Path dir = Files.createDirectories(root.resolve(folder));
        Path real = Files.writeString(dir.resolve("libnvidia-opencl.so.580.95.05"), "ELF");
        return Files.createSymbolicLink(dir.resolve(IcdVendors.LIBRARY), real.getFileName());
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void addsNvidiaBesidesCopiesOfTheSystemsFiles() throws IOException {
        Files.writeString(vendors().resolve("pocl.icd"), "libpocl.so.2\n");
        Path lib = library("usr/lib/x86_64-linux-gnu");
        IcdVendors.Decision d = IcdVendors.decide(Map.of("PATH", "/usr/bin"), root, temp);
        assertTrue(d.added(), d.reason());
        assertEquals(List.of("nvidia.icd", "pocl.icd"), names(d.directory()));
        assertEquals("libpocl.so.2\n", Files.readString(d.directory().resolve("pocl.icd")));
        String line = Files.readString(d.directory().resolve("nvidia.icd")).strip();
        assertEquals(lib.toAbsolutePath().normalize().toString(), line);
        assertTrue(Path.of(line).isAbsolute());
        assertEquals(Path.of(line), d.library());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d.directory())));
        assertTrue(d.directory().startsWith(temp));
    }

    @Test
    void searchesTheDriverFoldersInOrder() throws IOException {
        Path later = library("usr/local/nvidia/lib64");
        assertEquals(later.toAbsolutePath().normalize(), IcdVendors.findLibrary(root));
        Path first = library("usr/lib64");
        assertEquals(first.toAbsolutePath().normalize(), IcdVendors.findLibrary(root));
        // no vendors directory at all: NVIDIA's file is the only one
        IcdVendors.Decision d = IcdVendors.decide(Map.of(), root, temp);
        assertEquals(List.of("nvidia.icd"), names(d.directory()));
    }

    @Test
    void addsNothingWhenAnIcdFileListsNvidiaAlready() throws IOException {
        Files.writeString(vendors().resolve("pocl.icd"), "libpocl.so.2\n");
        Files.writeString(vendors().resolve("10_nvidia.icd"), "/usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1\n");
        library("usr/lib/x86_64-linux-gnu");
        IcdVendors.Decision d = IcdVendors.decide(Map.of(), root, temp);
        assertFalse(d.added());
        assertTrue(d.reason().contains("10_nvidia.icd"), d.reason());
        assertEquals(List.of(), names(temp));
        // a bare name counts too, whatever the version suffix
        assertTrue(IcdVendors.namesNvidia("libnvidia-opencl.so.1"));
        assertTrue(IcdVendors.namesNvidia("  libnvidia-opencl.so.580.95.05  \nignored"));
        assertFalse(IcdVendors.namesNvidia("libpocl.so.2"));
        assertFalse(IcdVendors.namesNvidia("/opt/libnvidia-opencl/libOther.so"));
        assertFalse(IcdVendors.namesNvidia(""));
    }

    @Test
    void addsNothingWhenTheVendorsWereChosen() throws IOException {
        Files.writeString(vendors().resolve("pocl.icd"), "libpocl.so.2\n");
        library("usr/lib/x86_64-linux-gnu");
        IcdVendors.Decision d = IcdVendors.decide(Map.of("OCL_ICD_VENDORS", "/opt/icds"), root, temp);
        assertFalse(d.added());
        assertNull(d.directory());
        assertTrue(d.reason().contains("OCL_ICD_VENDORS is set"), d.reason());
        d = IcdVendors.decide(Map.of("OPENCL_VENDOR_PATH", "/opt/icds"), root, temp);
        assertFalse(d.added());
        assertTrue(d.reason().contains("OPENCL_VENDOR_PATH is set"), d.reason());
        // empty is unset
        assertTrue(IcdVendors.decide(Map.of("OCL_ICD_VENDORS", "", "OPENCL_VENDOR_PATH", ""), root, temp).added());
    }

    @Test
    void addsNothingWithoutTheLibrary() throws IOException {
        Files.writeString(vendors().resolve("pocl.icd"), "libpocl.so.2\n");
        Files.createDirectories(root.resolve("usr/lib/x86_64-linux-gnu"));
        // a link to nothing is no library
        Files.createSymbolicLink(root.resolve("usr/lib/x86_64-linux-gnu").resolve(IcdVendors.LIBRARY),
                Path.of("libnvidia-opencl.so.1.gone"));
        IcdVendors.Decision d = IcdVendors.decide(Map.of(), root, temp);
        assertFalse(d.added());
        assertTrue(d.reason().startsWith("no " + IcdVendors.LIBRARY), d.reason());
        assertEquals(List.of(), names(temp));
    }

    @Test
    void skipsIcdFilesItCannotRead() throws IOException {
        Path v = vendors();
        Files.writeString(v.resolve("pocl.icd"), "libpocl.so.2\n");
        Files.createDirectory(v.resolve("folder.icd")); // read fails, root or not
        Files.createSymbolicLink(v.resolve("dangling.icd"), v.resolve("nowhere"));
        Path locked = Files.writeString(v.resolve("locked.icd"), "liblocked.so\n");
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        Files.writeString(v.resolve("notes.txt"), "libnvidia-opencl.so.1\n"); // not an .icd file: ignored
        library("usr/lib/x86_64-linux-gnu");
        IcdVendors.Decision d = IcdVendors.decide(Map.of(), root, temp);
        assertTrue(d.added(), d.reason());
        List<String> written = names(d.directory());
        assertTrue(written.containsAll(List.of("nvidia.icd", "pocl.icd")), written.toString());
        assertFalse(written.contains("folder.icd") || written.contains("dangling.icd") || written.contains("notes.txt"),
                written.toString());
        // as root the locked file is readable and copied; otherwise it is skipped
        assertEquals(Files.isReadable(locked), written.contains("locked.icd"), written.toString());
    }

    @Test
    void keepsASystemFileCalledNvidiaIcdThatNamesSomethingElse() throws IOException {
        Files.writeString(vendors().resolve("nvidia.icd"), "libsomething.so\n");
        library("usr/lib");
        IcdVendors.Decision d = IcdVendors.decide(Map.of(), root, temp);
        assertEquals(List.of("ferry-nvidia.icd", "nvidia.icd"), names(d.directory()));
        assertEquals("libsomething.so\n", Files.readString(d.directory().resolve("nvidia.icd")));
        assertEquals(d.library().toString(), Files.readString(d.directory().resolve("ferry-nvidia.icd")).strip());
    }
}
