package io.ferry.host.vfio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The few sysfs operations VFIO assignment needs, on paths relative to a sysfs root ({@code bus/pci/devices/BDF/class},
 * {@code kernel/iommu_groups}). Every operation of {@link VfioAssigner} and {@link PciScan} goes through this seam:
 * {@link #at} is the real one (files under {@code FERRY_SYSFS}, {@code /sys} by default), and the tests put a layer
 * in front of a fixture tree that reacts to writes the way the kernel does (an unbind removes the driver link).
 */
public interface Sysfs {

    /** The environment variable naming the sysfs root. */
    String ENV = "FERRY_SYSFS";

    /** The root these paths are relative to, for messages. */
    Path root();

    /** The attribute's content without its trailing newline; null when it does not exist. */
    String read(String path) throws IOException;

    /** Writes {@code value} to an attribute, as {@code echo -n value > attribute} would (one write). */
    void write(String path, String value) throws IOException;

    /** The last name of the link's target ({@code driver} → {@code nvidia}); null when there is no such link. */
    String linkName(String path) throws IOException;

    /** The names in a directory, sorted; empty when it does not exist. */
    List<String> list(String dir) throws IOException;

    /** Whether the path exists (following links). */
    boolean exists(String path);

    /** The sysfs named by {@code FERRY_SYSFS} in {@code env}, else {@code /sys}. */
    static Sysfs fromEnvironment(Map<String, String> env) {
        String root = env.get(ENV);
        return at(Path.of(root == null || root.isBlank() ? "/sys" : root));
    }

    /** The real sysfs (or a copy of its layout) under {@code root}. */
    static Sysfs at(Path root) {
        return new Tree(root);
    }

    /** Files under a root directory: reads and writes are plain file operations. */
    final class Tree implements Sysfs {
        private final Path root;

        Tree(Path root) {
            this.root = root;
        }

        private Path path(String relative) {
            if (relative.startsWith("/") || relative.contains("..")) {
                throw new IllegalArgumentException("not a relative sysfs path: " + relative);
            }
            return root.resolve(relative);
        }

        @Override
        public Path root() {
            return root;
        }

        @Override
        public String read(String relative) throws IOException {
            Path p = path(relative);
            try {
                String s = Files.readString(p, StandardCharsets.UTF_8);
                return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
            } catch (NoSuchFileException e) {
                return null;
            }
        }

        @Override
        public void write(String relative, String value) throws IOException {
            Path p = path(relative);
            if (!Files.exists(p)) {
                throw new NoSuchFileException(p.toString(), null, "no such sysfs attribute");
            }
            // sysfs attributes are written in place, never truncated and replaced (no temp file, no rename)
            Files.writeString(p, value, StandardCharsets.UTF_8, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        }

        @Override
        public String linkName(String relative) throws IOException {
            Path p = path(relative);
            if (!Files.isSymbolicLink(p)) {
                return null;
            }
            Path target = Files.readSymbolicLink(p);
            Path name = target.getFileName();
            return name == null ? null : name.toString();
        }

        @Override
        public List<String> list(String dir) throws IOException {
            Path p = path(dir);
            if (!Files.isDirectory(p)) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            try (Stream<Path> s = Files.list(p)) {
                s.forEach(c -> names.add(c.getFileName().toString()));
            }
            names.sort(null);
            return names;
        }

        @Override
        public boolean exists(String relative) {
            return Files.exists(path(relative));
        }
    }
}
