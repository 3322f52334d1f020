package io.ferry.host.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import io.ferry.host.sched.SchedClass;

/**
 * The host's configuration, read from YAML. Every key, with its default, is in README.md's config sample, which
 * {@code ConfigSampleTest} parses and holds to this class's defaults (so the two cannot drift apart):
 *
 * <pre>
 * regionDir: /dev/shm/ferry      # where the host keeps regions; adminSocket and socket default beside it
 * guests:
 *   - name: alice
 *     secret: 3q2+7w==...        # base64, 32 bytes; written by ./ferry guest add; checked at the handshake
 * </pre>
 *
 * Values are checked once by {@link #parse}; the result is immutable. {@link #toYaml} writes every key.
 */
public record HostConfig(Path regionDir, boolean discardRegions, Isolation isolation, Path adminSocket,
                         List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                         Path guestSocket, WorkerLimits workerLimits, Metrics metrics, NetConfig net) {

    /**
     * The HTTP listener of {@code io.ferry.host.metrics.OpsServer} ({@code /metrics}, {@code /api/status}, the
     * dashboard): {@code metrics: {listen: 127.0.0.1:9464}}. Null in the config when there is none (off).
     * {@code host} is an address or name to bind ({@code :PORT} in the YAML means 127.0.0.1); {@code port} 0 binds
     * an ephemeral port (tests). See docs/metrics.md.
     */
    public record Metrics(String host, int port) {
        public static final String DEFAULT_HOST = "127.0.0.1";
        public static final int DEFAULT_PORT = 9464;

        public Metrics {
            if (host == null || host.isBlank()) {
                host = DEFAULT_HOST;
            }
            if (port < 0 || port > 65535) {
                throw new ConfigException("metrics.listen: port " + port + " must be between 0 and 65535");
            }
        }

        /** {@code HOST:PORT}, {@code [V6]:PORT} or {@code :PORT} (127.0.0.1); {@code what} names it in errors. */
        public static Metrics parseListen(String text, String what) {
            String t = text == null ? "" : text.trim();
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                throw new ConfigException(what + ": '" + text + "' is not HOST:PORT (e.g. 127.0.0.1:9464, or :9464 "
                        + "for 127.0.0.1)");
            }
            String h = t.substring(0, colon);
            if (h.startsWith("[") && h.endsWith("]")) {
                h = h.substring(1, h.length() - 1);
            }
            int p;
            try {
                p = Integer.parseInt(t.substring(colon + 1));
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 0 || p > 65535) {
                throw new ConfigException(what + ": '" + text + "' needs a port between 0 and 65535 after the colon "
                        + "(0: any free port)");
            }
            return new Metrics(h.isEmpty() ? DEFAULT_HOST : h, p);
        }

        /** The listen text, the way {@link #parseListen} reads it. */
        public String listen() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /**
     * What bounds a guest's device worker (see docs/security.md, "Device worker sandbox"): its address space on top
     * of the guest's region (RLIMIT_AS), the wall time of one program build, and its total CPU time (RLIMIT_CPU,
     * 0: none).
     */
    public record WorkerLimits(long memoryBytes, long compileTimeNanos, long cpuTimeNanos) {
        public static final WorkerLimits DEFAULT = new WorkerLimits(2L << 30, 60_000_000_000L, 0);

        /**
         * These limits for the worker of a guest whose buffers may hold {@code deviceMemoryBytes}: a CPU device's
         * buffers live in the worker's own address space, so RLIMIT_AS grows by the guest's device-memory quota
         * (else a buffer the quota allows fails deep in the OpenCL runtime and kills the worker).
         */
        public WorkerLimits withDeviceMemory(long deviceMemoryBytes) {
            long m = memoryBytes > Long.MAX_VALUE - deviceMemoryBytes ? Long.MAX_VALUE : memoryBytes + deviceMemoryBytes;
            return new WorkerLimits(m, compileTimeNanos, cpuTimeNanos);
        }
    }

    /** The overrun limit of a guest whose config names none: a device command running longer is cancelled. */
    public static final long DEFAULT_OVERRUN_NANOS = 2_000_000_000L;

    /**
     * The TEE service: the software TEE's state directory (signing keys, root key, sealed storage, signed TAs) and
     * the access policy file (deny by default); {@code sandboxed} false ({@code isolation: none}, for tests only)
     * runs TA instances without their sandbox. Null when the host offers no TEE.
     */
    public record Tee(Path dir, Path policy, long callLimitMillis, boolean sandboxed) {
        /** The default per-call TA watchdog of the software TEE. */
        public static final long DEFAULT_CALL_LIMIT_MILLIS = 10_000;

        public Tee(Path dir, Path policy) {
            this(dir, policy, DEFAULT_CALL_LIMIT_MILLIS);
        }

        public Tee(Path dir, Path policy, long callLimitMillis) {
            this(dir, policy, callLimitMillis, true);
        }
    }

    public static final Path DEFAULT_REGION_DIR = Path.of("/dev/shm/ferry");
    public static final long DEFAULT_REGION_SIZE = 64L << 20;
    public static final int SECRET_BYTES = 32;
    /** The guest socket of a host on the default region directory. */
    public static final Path DEFAULT_GUEST_SOCKET = Path.of("/run/ferry/guest.sock");

    /**
     * What backs a guest's region: a sealed memfd handed to the guest over the guest socket (its size fixed for
     * good, so no holder can make a mapping fault), or a file in regionDir (for QEMU's ivshmem-plain and PCI BARs).
     */
    public enum RegionKind {
        /** Sealed memfd, handed to process guests over the guest socket. */
        MEMFD,
        /** A file in regionDir, for QEMU's ivshmem-plain (memory-backend-file) and PCI BARs. */
        FILE,
        /** Sealed memfd, also served to QEMU's ivshmem-doorbell at regionDir/GUEST.ivshmem (and the socket). */
        IVSHMEM
    }

    /** How device commands reach a device: in arrival order, or through Ferry's scheduler. */
    public enum Policy { FERRY, FIFO }

    /**
     * Host-wide scheduling: the policy, the most best-effort device time let onto a device at once (what an
     * arriving critical command may have to wait behind), whether CRITICAL guests' threads try SCHED_FIFO
     * ({@code realtime}), and an optional CPU set per class ({@code cpus}, absent classes run anywhere).
     */
    public record Scheduling(Policy policy, long bestEffortCapNanos, boolean realtime,
                             java.util.Map<io.ferry.host.sched.SchedClass, java.util.BitSet> cpus,
                             ReleaseHold releaseHold) {
        public static final Scheduling DEFAULT = new Scheduling(Policy.FERRY, 4_000_000);

        public Scheduling {
            cpus = java.util.Map.copyOf(cpus);
            java.util.Objects.requireNonNull(releaseHold, "releaseHold");
        }

        public Scheduling(Policy policy, long bestEffortCapNanos, boolean realtime,
                          java.util.Map<io.ferry.host.sched.SchedClass, java.util.BitSet> cpus) {
            this(policy, bestEffortCapNanos, realtime, cpus, ReleaseHold.AUTO);
        }

        public Scheduling(Policy policy, long bestEffortCapNanos) {
            this(policy, bestEffortCapNanos, false, java.util.Map.of());
        }

        /** Whether declared releases hold lower classes back on a device that may preempt them itself. */
        public boolean holdsForReleases(boolean devicePreempts) {
            return releaseHold == ReleaseHold.ON || !devicePreempts;
        }

        public Scheduling withReleaseHold(ReleaseHold hold) {
            return new Scheduling(policy, bestEffortCapNanos, realtime, cpus, hold);
        }

        /** The CPU set of class {@code c}, or null for any CPU. */
        public java.util.BitSet cpusOf(io.ferry.host.sched.SchedClass c) {
            java.util.BitSet b = cpus.get(c);
            return b == null ? null : (java.util.BitSet) b.clone();
        }
    }

    /** Where releases hold lower classes back: AUTO on devices that cannot preempt them (docs/scheduling.md), ON all. */
    public enum ReleaseHold { AUTO, ON }

    /** A device-time budget per period (nanoseconds). */
    public record Reservation(long budgetNanos, long periodNanos) {
    }

    /** Where a guest's CPU-device work runs. */
    public enum Isolation { PROCESS, INPROCESS }

    /** Lanes of a guest whose config names none: one session at a time, with the guest's whole heap and quotas. */
    public static final int DEFAULT_LANES = 1;
    /** {@code lanes: auto}: up to this many lanes, as many as the region holds ({@code compute.GuestLayout}). */
    public static final int AUTO_LANES = 4;
    /** The {@code lanes} value that means {@code auto}. */
    public static final int LANES_AUTO = -1;
    /** Heap each lane of {@code lanes: auto} keeps at least: a region too small for 4 gets fewer. */
    public static final long MIN_DEFAULT_LANE_HEAP = 1L << 20;
    /** Most lanes a guest may have (the region layout's MAX_LANES; config depends on no channel class). */
    public static final int MAX_LANES = 16;

    /**
     * One provisioned guest. {@code secret} is null when the config has none (then a random one per start).
     * {@code uids}: where not empty, only a peer with one of these uids (SO_PEERCRED) gets the region.
     * {@code lanes}: sessions the guest may hold at once, one per guest process (0: the default, {@link #DEFAULT_LANES};
     * {@link #LANES_AUTO}: up to {@link #AUTO_LANES}, as many as the region holds with {@link #MIN_DEFAULT_LANE_HEAP}
     * of heap each; see docs/protocol.md §3). The heap and the quotas are split evenly between the lanes.
     */
    public record GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                              Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos,
                              RegionKind region, List<Integer> uids, int lanes) {
        public GuestConfig {
            services = Set.copyOf(services);
            secret = secret == null ? null : secret.clone();
            region = region == null ? RegionKind.MEMFD : region;
            uids = uids == null ? List.of() : List.copyOf(uids);
            if (lanes < LANES_AUTO || lanes > MAX_LANES) {
                throw new ConfigException("guest " + name + ": lanes " + lanes + " must be between 1 and " + MAX_LANES);
            }
        }

        public GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                           Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos,
                           RegionKind region, List<Integer> uids) {
            this(name, regionSize, secret, schedClass, weight, services, quotas, reservation, overrunLimitNanos,
                    region, uids, 0);
        }

        public GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                           Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos) {
            this(name, regionSize, secret, schedClass, weight, services, quotas, reservation, overrunLimitNanos,
                    RegionKind.MEMFD, List.of());
        }

        /** This guest with {@code q} as its quotas. */
        public GuestConfig withQuotas(Quotas q) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, q, reservation,
                    overrunLimitNanos, region, uids, lanes);
        }

        /** This guest with {@code n} lanes (0: the default). */
        public GuestConfig withLanes(int n) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, region, uids, n);
        }

        /** A guest with defaults for everything but name and size. */
        public GuestConfig(String name, long regionSize) {
            this(name, regionSize, null, SchedClass.NORMAL, 1, Set.of("compute", "tee"), Quotas.DEFAULT);
        }

        public GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                           Set<String> services, Quotas quotas) {
            this(name, regionSize, secret, schedClass, weight, services, quotas, null, DEFAULT_OVERRUN_NANOS);
        }

        public GuestConfig withSecret(byte[] s) {
            return new GuestConfig(name, regionSize, s, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, region, uids, lanes);
        }

        public GuestConfig withScheduling(SchedClass c, int w, Reservation r, long overrunNanos) {
            return new GuestConfig(name, regionSize, secret, c, w, services, quotas, r, overrunNanos, region, uids,
                    lanes);
        }

        /** This guest with its region backed by {@code kind}. */
        public GuestConfig withRegion(RegionKind kind) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, kind, uids, lanes);
        }

        /** This guest, given only to peers of these uids (empty: any uid with the secret). */
        public GuestConfig withUids(List<Integer> allowed) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, region, allowed, lanes);
        }

        public boolean allows(String service) {
            return services.contains(service);
        }
    }

    public HostConfig {
        if (scheduling == null) {
            scheduling = Scheduling.DEFAULT;
        }
        if (workerLimits == null) {
            workerLimits = WorkerLimits.DEFAULT;
        }
        deviceFilter = List.copyOf(deviceFilter);
        guests = List.copyOf(guests);
        // metrics: null is off
        net = net == null ? NetConfig.NONE : net;
        if (adminSocket == null) {
            adminSocket = defaultAdminSocket(regionDir);
        }
        if (guestSocket == null) {
            guestSocket = defaultGuestSocket(regionDir);
        }
    }

    /** A config without stream listeners. */
    public HostConfig(Path regionDir, boolean discardRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                      Path guestSocket, WorkerLimits workerLimits, Metrics metrics) {
        this(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, guestSocket,
                workerLimits, metrics, null);
    }

    /** This config with the stream transport's listeners (docs/network.md; null: none). */
    public HostConfig withNet(NetConfig n) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, workerLimits, metrics, n);
    }

    /** A config without metrics. */
    public HostConfig(Path regionDir, boolean discardRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                      Path guestSocket, WorkerLimits workerLimits) {
        this(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, guestSocket,
                workerLimits, null);
    }

    /** A config with the default guest socket and worker limits. */
    public HostConfig(Path regionDir, boolean discardRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee) {
        this(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, null, null);
    }

    /** A config with the default worker limits. */
    public HostConfig(Path regionDir, boolean discardRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                      Path guestSocket) {
        this(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, guestSocket, null);
    }

    /** A config with defaults for the host-wide settings. */
    public HostConfig(Path regionDir, boolean discardRegions, List<String> deviceFilter, List<GuestConfig> guests) {
        this(regionDir, discardRegions, Isolation.PROCESS, null, deviceFilter, guests, Scheduling.DEFAULT, null, null,
                null);
    }

    /**
     * The guest socket when the config names none: {@link #DEFAULT_GUEST_SOCKET} for the default region
     * directory, else {@code REGIONDIR.sock} next to the region directory (outside it: guests of any uid must
     * reach the socket, and only the host's uid may enter the region directory).
     */
    public static Path defaultGuestSocket(Path regionDir) {
        if (regionDir.toAbsolutePath().normalize().equals(DEFAULT_REGION_DIR)) {
            return DEFAULT_GUEST_SOCKET;
        }
        Path abs = regionDir.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ".sock");
    }

    /**
     * The region directory whose {@link #defaultGuestSocket} is {@code guestSocket}, or null where no directory's
     * is (a socket not named {@code NAME.sock}): how a command that has only a guest's view of a host (FERRY_HOST)
     * finds its admin socket, where the host's config leaves both sockets at their defaults.
     */
    public static Path regionDirOfGuestSocket(Path guestSocket) {
        Path abs = guestSocket.toAbsolutePath().normalize();
        if (abs.equals(DEFAULT_GUEST_SOCKET)) {
            return DEFAULT_REGION_DIR;
        }
        String name = abs.getFileName() == null ? "" : abs.getFileName().toString();
        return name.endsWith(".sock") && name.length() > ".sock".length()
                ? abs.resolveSibling(name.substring(0, name.length() - ".sock".length())) : null;
    }

    /** The admin socket when the config names none: {@code admin.sock} in the region directory. */
    public static Path defaultAdminSocket(Path regionDir) {
        return regionDir.resolve("admin.sock");
    }

    public HostConfig withGuests(List<GuestConfig> gs) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, gs, scheduling, tee,
                guestSocket, workerLimits, metrics, net);
    }

    public HostConfig withIsolation(Isolation i) {
        return new HostConfig(regionDir, discardRegions, i, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, workerLimits, metrics, net);
    }

    public HostConfig withScheduling(Scheduling sc) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, sc, tee,
                guestSocket, workerLimits, metrics, net);
    }

    public HostConfig withTee(Tee t) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, t,
                guestSocket, workerLimits, metrics, net);
    }

    /** This config with guests taking their regions at {@code socket}. */
    public HostConfig withGuestSocket(Path socket) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                socket, workerLimits, metrics, net);
    }

    /**
     * This config with {@code discardRegions}: whether the host removes every region (files deleted, kept memfds
     * dropped) when it stops. Off by default, and not a key of the config file: regions are kept across restarts so
     * that guests go on; {@code ferry host --discard-regions} sets it for one run.
     */
    public HostConfig withDiscardRegions(boolean discard) {
        return new HostConfig(regionDir, discard, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, workerLimits, metrics, net);
    }

    public HostConfig withWorkerLimits(WorkerLimits w) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, w, metrics, net);
    }

    /** This config with the HTTP listener of docs/metrics.md (null: off). */
    public HostConfig withMetrics(Metrics m) {
        return new HostConfig(regionDir, discardRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, workerLimits, m, net);
    }

    public GuestConfig guest(String name) {
        for (GuestConfig g : guests) {
            if (g.name.equals(name)) {
                return g;
            }
        }
        return null;
    }

    public static byte[] newSecret() {
        byte[] s = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(s);
        return s;
    }

    public static HostConfig load(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new ConfigException("config file " + file + " does not exist; create it or run ./ferry guest add NAME");
        }
        return parse(Files.readString(file), file.toString());
    }

    /** Writes the config with mode 0600 (it holds the guests' secrets). */
    public void save(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, toYaml());
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Parses YAML text; {@code source} names it in error messages. */
    public static HostConfig parse(String yaml, String source) {
        return ConfigYaml.parse(yaml, source);
    }

    /** The config as YAML, the way {@link #parse} reads it. */
    public String toYaml() {
        return ConfigYaml.toYaml(this);
    }

    /** Where control regions of device workers live (private to the host). */
    public Path workerDir() {
        return regionDir.resolve("workers");
    }

    /** A configuration error; the message names the file and what to change. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }
}
