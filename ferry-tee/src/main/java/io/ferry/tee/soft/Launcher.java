package io.ferry.tee.soft;

import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackendConfig;
import io.ferry.spi.TeeReturn;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Starts and ends the processes of the software TEE: checks a TA's image, creates an instance's lane (mode 0600 in
 * a private directory of mode 0700), starts its {@link TeeMain} with its configuration on stdin, waits for READY,
 * and kills the process and removes the lane when the instance ends.
 */
final class Launcher {
    private static final Logger LOG = Logger.getLogger("ferry.tee");
    static final long START_TIMEOUT_MILLIS = 20_000;

    private final TeeBackendConfig config;
    private final Path laneDir;
    private final List<PublicKey> trusted;
    /** Whether each verified TA asks for an instance per session (its manifest), by UUID. */
    private final java.util.Map<UUID, Boolean> perSession = new java.util.concurrent.ConcurrentHashMap<>();
    /** The seccomp program of sandboxed instances, in the lane directory; null without sandbox or filter. */
    private final Path seccomp;
    /**
     * The one thread that starts every instance's process. bubblewrap's {@code --die-with-parent} is a parent-death
     * signal, and Linux sends it when the *thread* that forked the process ends: started from a guest's endpoint
     * thread, an instance would be killed when that thread ends (the guest's lane stopped, or the host stopping its
     * endpoints before the TEE), taking other lanes' sessions of the guest with it. This thread lives as long as the
     * backend.
     */
    private final java.util.concurrent.ExecutorService spawner = java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("soft-tee-spawner").daemon(true).unstarted(r));

    private Launcher(TeeBackendConfig config, Path laneDir, List<PublicKey> trusted, Path seccomp) {
        this.config = config;
        this.laneDir = laneDir;
        this.trusted = trusted;
        this.seccomp = seccomp;
    }

    /**
     * Prepares the lane directory and the trusted keys; refuses, saying why and what to do, when TA instances are
     * to be sandboxed and bubblewrap cannot make a sandbox here.
     */
    static Launcher create(TeeBackendConfig config) throws BackendException {
        if (config.sandboxed()) {
            TaSandbox.check();
        } else {
            LOG.warning("soft-tee: TA instances run UNSANDBOXED (tee isolation: none): a TA sees the host's files, the "
                    + "root key included, and its network; for tests only (docs/tee.md)");
        }
        List<PublicKey> trusted = new ArrayList<>();
        try {
            for (byte[] k : config.trustedKeys()) {
                trusted.add(TaImage.publicKey(k));
            }
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            throw new BackendException(Status.INVALID_ARGUMENT, "a trusted TA signing key is not an Ed25519 key: " + e);
        }
        Path dir;
        try {
            Files.createDirectories(config.workDir());
            dir = Files.createTempDirectory(config.workDir(), "soft-tee-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackendException(Status.INTERNAL, "cannot create the TEE lane directory in " + config.workDir()
                    + ": " + e);
        }
        Path seccomp = null;
        if (config.sandboxed()) {
            try {
                seccomp = TaSandbox.seccomp(dir);
            } catch (IOException e) {
                throw new BackendException(Status.INTERNAL, "cannot write the TA sandbox's seccomp program in " + dir
                        + ": " + e);
            }
        }
        return new Launcher(config, dir, List.copyOf(trusted), seccomp);
    }

    /** Whether {@code ta}'s image exists and verifies; null when it does, else the answer (origin TEE). */
    TeeReturn verifyImage(UUID ta) {
        Path file = config.taDir().resolve(ta + TaImage.SUFFIX);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return TeeReturn.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE);
        } catch (IOException e) {
            LOG.warning("soft-tee: cannot read TA image " + file + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE);
        }
        try {
            TaImage image = TaImage.verify(bytes, trusted);
            if (!image.uuid().equals(ta)) {
                LOG.warning("soft-tee: TA image " + file + " is signed for " + image.uuid() + ", not " + ta + ": refused");
                return TeeReturn.of(TeeWire.ERROR_SECURITY, TeeWire.ORIGIN_TEE);
            }
            perSession.put(ta, image.instancePerSession());
        } catch (TaImage.RefusedException e) {
            LOG.warning("soft-tee: TA image " + file + " refused: " + e.getMessage());
            return TeeReturn.of(TeeWire.ERROR_SECURITY, TeeWire.ORIGIN_TEE);
        }
        return null;
    }

    /** Whether {@code ta}'s image, as last verified, asks for an instance per session. */
    boolean perSession(UUID ta) {
        return perSession.getOrDefault(ta, false);
    }

    /**
     * Starts the instance's process (lock held); null when it is ready, else the answer. {@code region}: the guest's
     * region for direct lanes (its descriptor 6), or null; {@code gone} runs when the process has ended.
     */
    TeeReturn spawn(Instance inst, Path region, Runnable gone) {
        Instance.Key key = inst.key;
        Path lanePath = laneDir.resolve(Lane.fileName(inst.id));
        try {
            inst.lane = new LaneClient(Lane.create(lanePath, 4 * LaneClient.MAX_MEMREF));
        } catch (IOException | RuntimeException e) {
            LOG.warning("soft-tee: cannot create the lane of " + inst.describe() + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        Path storeDir = SecureStorage.storeDir(config.storageDir().toAbsolutePath(), key.guest(), key.ta());
        Path image = config.taDir().toAbsolutePath().resolve(key.ta() + TaImage.SUFFIX);
        // Native access: the lane's futex (io.ferry.protocol.Futex) is an FFM downcall. Without the flag Java 25 warns
        // on stderr at each instance's start (four WARNING lines in the host's log), and a later JDK that denies
        // native access by default would break the lane. It gives the TA nothing it lacked: on the class path the
        // TA's classes are as unnamed as the TEE's, and Java 25 only warns (its code is contained by the process and
        // its sandbox, not by the class loader).
        List<String> jvm = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx128m",
                "-XX:-UsePerfData",
                "-Dferry.tee.spins=" + Backoff.spins(), "-Dferry.tee.yieldNanos=" + Backoff.YIELD_NANOS,
                "-cp", String.join(java.io.File.pathSeparator, classPath()),
                TeeMain.class.getName());
        List<String> cmd = new ArrayList<>();
        if (config.sandboxed()) {
            try {
                // the storage directory is bound into the sandbox, so it must be there (0700, as the store makes it)
                Files.createDirectories(storeDir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (IOException e) {
                LOG.warning("soft-tee: cannot create the storage directory " + storeDir + " of " + inst.describe()
                        + ": " + e);
                return TeeReturn.of(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, TeeWire.ORIGIN_TEE);
            }
            cmd.addAll(TaSandbox.command(seccomp, image, lanePath, storeDir, region, classPath(), jvm));
        } else {
            cmd.addAll(List.of("/bin/sh", "-c", "exec 6<>\"$1\"; shift; exec \"$@\"", "sh",
                    region == null ? "/dev/null" : region.toString()));
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(jvm);
        }
        inst.region = region;
        inst.regionInode = region == null ? null : inode(region);
        Process p;
        try {
            p = spawner.submit(() -> new ProcessBuilder(cmd).redirectErrorStream(true).start()).get();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.RejectedExecutionException e) {
            LOG.warning("soft-tee: cannot start the process of " + inst.describe() + ": "
                    + (e.getCause() != null ? e.getCause() : e));
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        inst.process = p;
        byte[] storageKey = SecureStorage.storageKey(config.rootKey(), key.guest(), key.ta());
        try {
            OutputStream stdin = p.getOutputStream();
            boolean boxed = config.sandboxed();
            StringBuilder cfg = new StringBuilder();
            cfg.append("lane=").append(boxed ? TaSandbox.LANE : lanePath).append('\n');
            cfg.append("taDir=").append(boxed ? TaSandbox.TA_DIR : config.taDir().toAbsolutePath()).append('\n');
            cfg.append("ta=").append(key.ta()).append('\n');
            cfg.append("guest=").append(key.guest()).append('\n');
            cfg.append("storeDir=").append(boxed ? TaSandbox.STORE : storeDir).append('\n');
            for (byte[] k : config.trustedKeys()) {
                cfg.append("trustedKey=").append(Base64.getEncoder().encodeToString(k)).append('\n');
            }
            cfg.append("storageKey=").append(Base64.getEncoder().encodeToString(storageKey)).append('\n');
            if (key.perSession()) {
                cfg.append("sharedStorage=true\n");
            }
            if (region != null) {
                cfg.append("region=/proc/self/fd/6\n");
            }
            cfg.append("callLimitMillis=").append(config.callLimitMillis()).append('\n');
            cfg.append("end\n");
            stdin.write(cfg.toString().getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            LOG.warning("soft-tee: cannot configure the process of " + inst.describe() + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        } finally {
            Arrays.fill(storageKey, (byte) 0);
        }
        CountDownLatch ready = new CountDownLatch(1);
        String tag = key.guest() + "/" + key.ta() + "[" + p.pid() + "]";
        Thread.ofPlatform().name("soft-tee-output-" + inst.id).daemon(true).start(() -> {
            pump(p, tag, ready);
            gone.run();
        });
        try {
            if (!ready.await(START_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) || !p.isAlive()) {
                LOG.warning("soft-tee: the process of " + inst.describe() + " did not become ready (exit "
                        + (p.isAlive() ? "none" : String.valueOf(p.exitValue())) + "); see the log above");
                return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        LOG.info("soft-tee: " + inst.describe() + " started");
        return null;
    }

    /**
     * Ends an instance's process and lane (lock held, or the instance not yet shared): closes its stdin, then kills
     * it at once ({@code kill}) or after 2 s; unmaps and deletes the lane.
     */
    static void release(Instance inst, boolean kill) {
        Process p = inst.process;
        if (p != null) {
            try {
                p.getOutputStream().close();
            } catch (IOException e) {
                // it is being killed anyway
            }
            if (kill) {
                p.destroyForcibly();
            } else {
                p.onExit().orTimeout(2, TimeUnit.SECONDS).exceptionally(t -> {
                    p.destroyForcibly();
                    return p;
                });
            }
        }
        if (inst.lane != null) {
            Path file = inst.lane.lane().path();
            inst.lane.close();
            inst.lane = null;
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.log(Level.FINE, "soft-tee: could not delete " + file, e);
            }
        }
    }

    /** Stops every process (stdin closed, killed if still there after 2 s) and removes the lane directory. */
    void shutdown(List<Instance> all) {
        for (Instance i : all) {
            Process p = i.process;
            if (p != null) {
                try {
                    p.getOutputStream().close();
                } catch (IOException e) {
                    p.destroyForcibly();
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Instance i : all) {
            Process p = i.process;
            if (p != null) {
                try {
                    if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                }
            }
            boolean locked = i.lock.tryLock();
            try {
                i.dead = true;
                if (locked && i.lane != null) {
                    i.lane.close();
                    i.lane = null;
                }
            } finally {
                if (locked) {
                    i.lock.unlock();
                }
            }
        }
        spawner.shutdown(); // after the processes: it is their parent thread
        try (var files = Files.list(laneDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(laneDir);
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.FINE, "soft-tee: could not remove " + laneDir, e);
        }
    }

    private static void pump(Process p, String tag, CountDownLatch ready) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.equals("READY")) {
                    ready.countDown();
                } else if (line.startsWith("SEVERE") || line.startsWith("WARNING")) {
                    LOG.warning("soft-tee " + tag + ": " + line);
                } else {
                    LOG.info("soft-tee " + tag + ": " + line);
                }
            }
        } catch (IOException e) {
            LOG.fine("soft-tee output closed: " + e.getMessage());
        } finally {
            // The process ended (or closed its output): do not keep a starting call waiting for READY.
            ready.countDown();
        }
    }

    /** The inode of the file {@code p} names (through /proc's links), or null where it cannot be read. */
    static Object inode(Path p) {
        try {
            return Files.getAttribute(p, "unix:ino");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Class path of a TEE process: this module and the protocol constants, wherever they were loaded from. */
    private static Set<String> classPath() {
        Set<String> parts = new LinkedHashSet<>();
        for (Class<?> c : List.of(TeeMain.class, TeeWire.class)) {
            try {
                parts.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath()
                        .normalize().toString());
            } catch (URISyntaxException e) {
                throw new IllegalStateException("cannot locate the class path of " + c, e);
            }
        }
        return parts;
    }
}
