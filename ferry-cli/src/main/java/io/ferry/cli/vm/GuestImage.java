package io.ferry.cli.vm;

import io.ferry.channel.Region;
import io.ferry.cli.workload.Workload;
import io.ferry.client.Ferry;
import io.ferry.protocol.Status;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The guest's boot image. The base (kernel, busybox, a jlinked Java runtime, {@code /init}) is built once by
 * {@code tools/vm/build-image.sh} into the cache directory and rebuilt only when that script, the init script or
 * the JDK changes; each run then writes its initramfs as the base followed by a small second cpio archive that
 * holds Ferry's classes ({@code /ferry/lib}) and the guest's arguments ({@code /ferry/guest.env}).
 */
final class GuestImage {
    static final String SCRIPT = "build-image.sh";
    static final String INIT = "init";
    static final long BUILD_TIMEOUT_MINUTES = 10;

    private final Path kernel;
    private final Path base;

    private GuestImage(Path kernel, Path base) {
        this.kernel = kernel;
        this.base = base;
    }

    Path kernel() {
        return kernel;
    }

    Path base() {
        return base;
    }

    /** {@code $FERRY_CACHE/vm}, else {@code $XDG_CACHE_HOME/ferry/vm}, else {@code ~/.cache/ferry/vm}. */
    static Path defaultCacheDir() {
        String ferry = System.getenv("FERRY_CACHE");
        if (ferry != null && !ferry.isBlank()) {
            return Path.of(ferry, "vm");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "ferry", "vm");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "ferry", "vm");
    }

    /**
     * The repository's {@code tools/vm}: under {@code -Dferry.home} (set by the launcher), else the first parent of
     * the working directory or of this class's location that has it.
     */
    static Path toolsDir() {
        List<Path> starts = new ArrayList<>();
        String home = System.getProperty("ferry.home");
        if (home != null) {
            starts.add(Path.of(home));
        }
        starts.add(Path.of(System.getProperty("user.dir")));
        starts.add(codeSource(GuestImage.class));
        for (Path start : starts) {
            for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
                Path tools = p.resolve("tools").resolve("vm");
                if (Files.isRegularFile(tools.resolve(SCRIPT)) && Files.isRegularFile(tools.resolve(INIT))) {
                    return tools;
                }
            }
        }
        throw new VmException("cannot find tools/vm/" + SCRIPT + " (looked above " + starts + "); run from Ferry's"
                + " repository or pass -Dferry.home=REPO");
    }

    /** The base image in {@code cacheDir}, built first when missing or stale. Safe against concurrent builders. */
    static GuestImage ensure(Path cacheDir, PrintStream log) throws IOException, InterruptedException {
        Path tools = toolsDir();
        Path jdk = Path.of(System.getProperty("java.home"));
        String stamp = stamp(tools, jdk);
        Files.createDirectories(cacheDir);
        Path kernel = cacheDir.resolve("vmlinuz");
        Path base = cacheDir.resolve("base.cpio");
        Path stampFile = cacheDir.resolve("stamp");
        try (FileChannel lockFile = FileChannel.open(cacheDir.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock lock = lockFile.lock()) {
            if (Files.isRegularFile(kernel) && Files.isRegularFile(base) && Files.isRegularFile(stampFile)
                    && Files.readString(stampFile).strip().equals(stamp)) {
                log.println("vm-demo: guest image: " + cacheDir + " (cached)");
                return new GuestImage(kernel, base);
            }
            log.println("vm-demo: building the guest image into " + cacheDir + " (once; about 20 s)");
            Files.deleteIfExists(stampFile);
            ProcessBuilder pb = new ProcessBuilder("bash", tools.resolve(SCRIPT).toString(), cacheDir.toString(), stamp)
                    .redirectErrorStream(true);
            if (Files.isExecutable(jdk.resolve("bin").resolve("jlink"))) {
                pb.environment().put("JAVA_HOME", jdk.toString());
            }
            Process p = pb.start();
            List<String> output = new ArrayList<>();
            Thread pump = Thread.ofPlatform().daemon().start(() -> {
                try (var r = p.inputReader(StandardCharsets.UTF_8)) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (output) {
                            output.add(line);
                        }
                        if (line.startsWith("vm-image: ")) {
                            log.println("  " + line);
                        }
                    }
                } catch (IOException e) {
                    log.println("  [build] output lost: " + e.getMessage());
                }
            });
            if (!p.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new VmException("building the guest image took more than " + BUILD_TIMEOUT_MINUTES
                        + " minutes; killed (" + tools.resolve(SCRIPT) + " " + cacheDir + ")");
            }
            pump.join(2000);
            if (p.exitValue() != 0 || !Files.isRegularFile(base) || !Files.isRegularFile(kernel)) {
                String tail;
                synchronized (output) {
                    tail = String.join("\n  ", output.subList(Math.max(0, output.size() - 15), output.size()));
                }
                throw new VmException("building the guest image failed (exit " + p.exitValue() + "):\n  " + tail);
            }
            return new GuestImage(kernel, base);
        }
    }

    /** What the base image depends on: the build script, the init script and the JDK that jlinks the runtime. */
    static String stamp(Path tools, Path jdk) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(Files.readAllBytes(tools.resolve(SCRIPT)));
            d.update(Files.readAllBytes(tools.resolve(INIT)));
            d.update((jdk + " " + Runtime.version()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * The class path the guest program needs (client, channel, protocol, workloads, {@link VmGuest}): the jar or
     * class directory each comes from. One entry when running from the shaded ferry.jar; several in a build tree.
     */
    static List<Path> guestClassPath() {
        Set<Path> entries = new LinkedHashSet<>();
        for (Class<?> c : List.of(VmGuest.class, Workload.class, Ferry.class, Region.class, Status.class)) {
            entries.add(codeSource(c));
        }
        return List.copyOf(entries);
    }

    private static Path codeSource(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new VmException("cannot tell where " + c.getName() + " was loaded from: " + e);
        }
    }

    /**
     * Writes the initramfs for one run to {@code out}: the cached base, then an archive with {@code classPath}
     * under {@code /ferry/lib} (jars as {@code N-name.jar}, directories as {@code N-name/}) and {@code guestEnv} as
     * {@code /ferry/guest.env}.
     */
    void writeInitrd(Path out, List<Path> classPath, String guestEnv) throws IOException {
        writeInitrd(out, classPath, guestEnv, List.of());
    }

    /**
     * As {@link #writeInitrd(Path, List, String)}, plus {@code extra} files at their guest paths (each parent
     * directory gets an entry first: the kernel creates no missing directories, and one that exists stays).
     */
    void writeInitrd(Path out, List<Path> classPath, String guestEnv, List<GuestIcd.GuestFile> extra)
            throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            long baseSize = Files.copy(base, os);
            // The kernel looks for the next archive's header on a 4-byte boundary (zeros in between are skipped).
            for (long pad = (4 - baseSize % 4) % 4; pad > 0; pad--) {
                os.write(0);
            }
            try (CpioWriter cpio = new CpioWriter(os)) {
                int i = 0;
                for (Path entry : classPath) {
                    String name = String.format("ferry/lib/%02d-%s", i++, entry.getFileName());
                    cpio.tree(name, entry);
                }
                cpio.file("ferry/guest.env", guestEnv.getBytes(StandardCharsets.UTF_8), false);
                GuestIcd.write(cpio, extra);
            }
        }
    }
}
