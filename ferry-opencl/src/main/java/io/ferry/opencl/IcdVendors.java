package io.ferry.opencl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whether NVIDIA's OpenCL driver must be added to the ICD loader's vendors, and the vendors directory that adds it.
 *
 * <p>GPU hosts may have {@code libnvidia-opencl.so.1} (the driver's OpenCL library) without an {@code .icd} file
 * naming it in {@code /etc/OpenCL/vendors} (a container runtime mounts the driver's libraries but not that file).
 * ocl-icd then offers no NVIDIA platform. When nobody chose the vendors ({@code OCL_ICD_VENDORS} and
 * {@code OPENCL_VENDOR_PATH} unset or empty), no system {@code .icd} file names NVIDIA's library, and the library is in
 * one of the usual driver folders, {@link #decide} writes a private directory (0700) holding a copy of every readable
 * system {@code .icd} file and {@code nvidia.icd} naming the library by its absolute path, for
 * {@code OCL_ICD_VENDORS}. Pure apart from the file system under {@code root} and the directory it writes.
 */
final class IcdVendors {
    static final String LIBRARY = "libnvidia-opencl.so.1";
    /** The driver folders searched for {@link #LIBRARY}, in order, relative to the root. */
    static final List<String> DRIVER_FOLDERS = List.of("usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu",
            "usr/lib64", "usr/lib", "usr/local/nvidia/lib64", "usr/local/nvidia/lib");
    static final String VENDORS = "etc/OpenCL/vendors";
    /** rwx------ where the file system has POSIX permissions. */
    private static final FileAttribute<?>[] OWNER_ONLY = FileSystems.getDefault().supportedFileAttributeViews()
            .contains("posix") ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------"))} : new FileAttribute<?>[0];

    /**
     * The outcome: {@code directory} (null when nothing was added) is where the vendors were written; {@code library}
     * the NVIDIA library named there; {@code reason} says why, in words.
     */
    record Decision(Path directory, Path library, String reason) {
        boolean added() {
            return directory != null;
        }
    }

    private IcdVendors() {
    }

    /**
     * Decides, from the environment {@code env} and the file system under {@code root}, whether NVIDIA's ICD must be
     * added; when it must, writes the vendors directory under {@code tempParent} (null: the JVM's temporary folder).
     *
     * @throws IOException when the directory is needed but cannot be written
     */
    static Decision decide(Map<String, String> env, Path root, Path tempParent) throws IOException {
        for (String variable : List.of("OCL_ICD_VENDORS", "OPENCL_VENDOR_PATH")) {
            String v = env.get(variable);
            if (v != null && !v.isEmpty()) {
                return new Decision(null, null, variable + " is set (" + v + "): the ICD vendors are as given");
            }
        }
        Path library = findLibrary(root);
        if (library == null) {
            return new Decision(null, null, "no " + LIBRARY + " in " + DRIVER_FOLDERS);
        }
        List<Path> icds = systemIcds(root.resolve(VENDORS));
        List<byte[]> contents = new ArrayList<>();
        for (Path icd : icds) {
            byte[] content;
            try {
                content = Files.readAllBytes(icd);
            } catch (IOException | SecurityException e) {
                contents.add(null); // unreadable: the loader cannot use it either
                continue;
            }
            contents.add(content);
            if (namesNvidia(new String(content, StandardCharsets.UTF_8))) {
                return new Decision(null, null, icd + " lists NVIDIA's OpenCL already");
            }
        }
        Path dir = tempParent == null ? Files.createTempDirectory("ferry-opencl-vendors", OWNER_ONLY)
                : Files.createTempDirectory(tempParent, "ferry-opencl-vendors", OWNER_ONLY);
        dir.toFile().deleteOnExit(); // registered first, so deleted after its files
        String ours = "nvidia.icd";
        for (int i = 0; i < icds.size(); i++) {
            if (contents.get(i) != null) {
                String name = icds.get(i).getFileName().toString();
                ours = name.equals(ours) ? "ferry-nvidia.icd" : ours;
                write(dir.resolve(name), contents.get(i));
            }
        }
        write(dir.resolve(ours), (library + "\n").getBytes(StandardCharsets.UTF_8));
        return new Decision(dir, library, "no .icd file in " + root.resolve(VENDORS) + " lists " + library);
    }

    private static void write(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        file.toFile().deleteOnExit();
    }

    /** The first driver folder's {@link #LIBRARY} under {@code root}, absolute; null when none has it. */
    static Path findLibrary(Path root) {
        for (String folder : DRIVER_FOLDERS) {
            Path p = root.resolve(folder).resolve(LIBRARY);
            try {
                if (Files.isRegularFile(p)) { // follows the link to the versioned library
                    return p.toAbsolutePath().normalize();
                }
            } catch (SecurityException e) {
                // not ours to look at: the next folder
            }
        }
        return null;
    }

    /** The {@code *.icd} files of {@code vendors}, sorted by name; none when it is missing or unreadable. */
    static List<Path> systemIcds(Path vendors) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(vendors, "*.icd")) {
            for (Path p : s) {
                out.add(p);
            }
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        out.sort(null);
        return out;
    }

    /** Whether an {@code .icd} file's first line names a library whose file name starts with libnvidia-opencl. */
    static boolean namesNvidia(String content) {
        String line = content.lines().findFirst().orElse("").strip();
        int slash = line.lastIndexOf('/');
        return line.substring(slash + 1).toLowerCase(Locale.ROOT).startsWith("libnvidia-opencl");
    }
}
