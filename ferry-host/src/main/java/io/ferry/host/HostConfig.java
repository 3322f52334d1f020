package io.ferry.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * The host's configuration, read from YAML:
 *
 * <pre>
 * regionDir: /dev/shm/ferry      # where guest regions live (default)
 * keepRegions: false             # keep region files after shutdown
 * isolation: process             # process: CPU-device work of each guest runs in a worker process; inprocess
 * adminSocket: /dev/shm/ferry/admin.sock   # ./ferry status talks to it (default: regionDir/admin.sock)
 * socket: /run/ferry/guest.sock # guests get their region here (default; see guestSocket)
 * devices: [pthread]             # optional: only devices whose name contains one of these, or backend names
 * scheduler: {policy: ferry, bestEffortCap: 4ms}   # or policy: fifo (device commands in arrival order)
 * tee: {dir: /var/lib/ferry/tee, policy: /etc/ferry/tee.policy}   # optional: the software TEE and its policy
 *                                # (callLimit: 10s: the per-call TA watchdog; a longer call ends its TA instance)
 * workerMemory: 2GiB            # address space of a device worker (RLIMIT_AS), on top of the guest's region
 * compileTimeLimit: 60s         # a guest's program build that runs longer ends that guest's device worker
 * workerCpuTime: 0s             # total CPU time of a device worker (RLIMIT_CPU); 0s: no limit
 * guests:
 *   - name: alice
 *     regionSize: 64MiB          # header + rings + heap
 *     secret: 3q2+7w==...        # base64, 32 bytes; written by ./ferry guest add; checked at the handshake
 *     region: memfd              # memfd (sealed, handed over the guest socket; default) | file (VMs, in regionDir)
 *                                # | ivshmem (sealed memfd also served to QEMU's ivshmem-doorbell)
 *     uids: [1000]               # optional: only these peer uids (SO_PEERCRED) may take the region
 *     class: NORMAL              # CRITICAL | HIGH | NORMAL | BEST_EFFORT (for the scheduler)
 *     weight: 1
 *     services: [compute, tee]
 *     quotas: {deviceMemory: 1GiB, objects: 4096, commandsInFlight: 4096, oneWayOutstanding: 65536}
 *     overrunLimit: 2s           # a device command that runs longer is cancelled (its worker killed); 0s: off
 * </pre>
 *
 * Values are checked once by {@link #parse}; the result is immutable.
 */
public record HostConfig(Path regionDir, boolean keepRegions, Isolation isolation, Path adminSocket,
                         List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                         Path guestSocket, WorkerLimits workerLimits) {

    /**
     * What bounds a guest's device worker (see docs/security.md, "Device worker sandbox"): its address space on top
     * of the guest's region (RLIMIT_AS), the wall time of one program build, and its total CPU time (RLIMIT_CPU,
     * 0: none).
     */
    public record WorkerLimits(long memoryBytes, long compileTimeNanos, long cpuTimeNanos) {
        public static final WorkerLimits DEFAULT = new WorkerLimits(2L << 30, 60_000_000_000L, 0);
    }

    /** The overrun limit of a guest whose config names none: a device command running longer is cancelled. */
    public static final long DEFAULT_OVERRUN_NANOS = 2_000_000_000L;

    /**
     * The TEE service: the software TEE's state directory (signing keys, root key, sealed storage, signed TAs) and
     * the access policy file (deny by default). Null when the host offers no TEE.
     */
    public record Tee(Path dir, Path policy, long callLimitMillis) {
        /** The default per-call TA watchdog of the software TEE. */
        public static final long DEFAULT_CALL_LIMIT_MILLIS = 10_000;

        public Tee(Path dir, Path policy) {
            this(dir, policy, DEFAULT_CALL_LIMIT_MILLIS);
        }
    }

    public static final Path DEFAULT_REGION_DIR = Path.of("/dev/shm/ferry");
    public static final long DEFAULT_REGION_SIZE = 64L << 20;
    public static final int SECRET_BYTES = 32;
    /** The guest socket of a host on the default region directory. */
    public static final Path DEFAULT_GUEST_SOCKET = Path.of("/run/ferry/guest.sock");
    private static final List<String> KEYS = List.of("regionDir", "keepRegions", "isolation", "adminSocket",
            "devices", "guests", "scheduler", "tee", "socket", "workerMemory", "compileTimeLimit",
            "workerCpuTime");
    private static final List<String> GUEST_KEYS = List.of("name", "regionSize", "secret", "class", "weight",
            "services", "quotas", "reservation", "overrunLimit", "region", "uids");

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
     * Host-wide scheduling: the policy, and the most best-effort device time let onto a device at once (what an
     * arriving critical command may have to wait behind).
     */
    public record Scheduling(Policy policy, long bestEffortCapNanos) {
        public static final Scheduling DEFAULT = new Scheduling(Policy.FERRY, 4_000_000);
    }

    /** A device-time budget per period (nanoseconds). */
    public record Reservation(long budgetNanos, long periodNanos) {
    }

    /** Where a guest's CPU-device work runs. */
    public enum Isolation { PROCESS, INPROCESS }

    /** Scheduling classes, most critical first. */
    public enum SchedClass { CRITICAL, HIGH, NORMAL, BEST_EFFORT }

    /**
     * One provisioned guest. {@code secret} is null when the config has none (then a random one per start).
     * {@code uids}: where not empty, only a peer with one of these uids (SO_PEERCRED) gets the region.
     */
    public record GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                              Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos,
                              RegionKind region, List<Integer> uids) {
        public GuestConfig {
            services = Set.copyOf(services);
            secret = secret == null ? null : secret.clone();
            region = region == null ? RegionKind.MEMFD : region;
            uids = uids == null ? List.of() : List.copyOf(uids);
        }

        public GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                           Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos) {
            this(name, regionSize, secret, schedClass, weight, services, quotas, reservation, overrunLimitNanos,
                    RegionKind.MEMFD, List.of());
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
                    overrunLimitNanos, region, uids);
        }

        public GuestConfig withScheduling(SchedClass c, int w, Reservation r, long overrunNanos) {
            return new GuestConfig(name, regionSize, secret, c, w, services, quotas, r, overrunNanos, region, uids);
        }

        /** This guest with its region backed by {@code kind}. */
        public GuestConfig withRegion(RegionKind kind) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, kind, uids);
        }

        /** This guest, given only to peers of these uids (empty: any uid with the secret). */
        public GuestConfig withUids(List<Integer> allowed) {
            return new GuestConfig(name, regionSize, secret, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos, region, allowed);
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
        if (adminSocket == null) {
            adminSocket = regionDir.resolve("admin.sock");
        }
        if (guestSocket == null) {
            guestSocket = defaultGuestSocket(regionDir);
        }
    }

    /** A config with the default guest socket and worker limits. */
    public HostConfig(Path regionDir, boolean keepRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee) {
        this(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, null, null);
    }

    /** A config with the default worker limits. */
    public HostConfig(Path regionDir, boolean keepRegions, Isolation isolation, Path adminSocket,
                      List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee,
                      Path guestSocket) {
        this(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee, guestSocket, null);
    }

    /** A config with defaults for the host-wide settings. */
    public HostConfig(Path regionDir, boolean keepRegions, List<String> deviceFilter, List<GuestConfig> guests) {
        this(regionDir, keepRegions, Isolation.PROCESS, null, deviceFilter, guests, Scheduling.DEFAULT, null, null,
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

    public HostConfig withGuests(List<GuestConfig> gs) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, gs, scheduling, tee,
                guestSocket, workerLimits);
    }

    public HostConfig withIsolation(Isolation i) {
        return new HostConfig(regionDir, keepRegions, i, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, workerLimits);
    }

    public HostConfig withScheduling(Scheduling sc) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, sc, tee,
                guestSocket, workerLimits);
    }

    public HostConfig withTee(Tee t) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, t,
                guestSocket, workerLimits);
    }

    /** This config with guests taking their regions at {@code socket}. */
    public HostConfig withGuestSocket(Path socket) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                socket, workerLimits);

    }

    public HostConfig withWorkerLimits(WorkerLimits w) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, tee,
                guestSocket, w);
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
        Object root;
        try {
            root = new Load(LoadSettings.builder().setLabel(source).build()).loadFromString(yaml);
        } catch (RuntimeException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            root = Map.of();
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new ConfigException(source + ": expected a mapping at the top level");
        }
        checkKeys(map, KEYS, source);
        Path dir = map.get("regionDir") == null ? DEFAULT_REGION_DIR : Path.of(String.valueOf(map.get("regionDir")));
        boolean keep = bool(map.get("keepRegions"), source + ": keepRegions");
        Isolation isolation = map.get("isolation") == null ? Isolation.PROCESS
                : enumValue(Isolation.class, map.get("isolation"), source + ": isolation");
        Path admin = map.get("adminSocket") == null ? null : Path.of(String.valueOf(map.get("adminSocket")));
        List<String> devices = strings(map.get("devices"), source + ": devices");
        Object gs = map.get("guests");
        if (gs != null && !(gs instanceof List<?>)) {
            throw new ConfigException(source + ": 'guests' must be a list");
        }
        List<GuestConfig> guests = new ArrayList<>();
        if (gs != null) {
            for (Object o : (List<?>) gs) {
                GuestConfig g = guest(o, source);
                if (guests.stream().anyMatch(x -> x.name.equals(g.name))) {
                    throw new ConfigException(source + ": guest '" + g.name + "' is listed twice");
                }
                guests.add(g);
            }
        }
        Scheduling scheduling = Scheduling.DEFAULT;
        if (map.get("scheduler") != null) {
            if (!(map.get("scheduler") instanceof Map<?, ?> sm)) {
                throw new ConfigException(source + ": scheduler must be a mapping (policy, bestEffortCap)");
            }
            checkKeys(sm, List.of("policy", "bestEffortCap"), source + ": scheduler");
            scheduling = new Scheduling(
                    sm.get("policy") == null ? Policy.FERRY : enumValue(Policy.class, sm.get("policy"),
                            source + ": scheduler.policy"),
                    sm.get("bestEffortCap") == null ? Scheduling.DEFAULT.bestEffortCapNanos()
                            : parseDuration(String.valueOf(sm.get("bestEffortCap")), source + ": scheduler.bestEffortCap"));
        }
        Tee tee = null;
        if (map.get("tee") != null) {
            if (!(map.get("tee") instanceof Map<?, ?> tm) || tm.get("dir") == null || tm.get("policy") == null) {
                throw new ConfigException(source + ": tee needs dir and policy, e.g. {dir: /var/lib/ferry/tee, "
                        + "policy: /etc/ferry/tee.policy}");
            }
            checkKeys(tm, List.of("dir", "policy", "callLimit"), source + ": tee");
            long callLimit = Tee.DEFAULT_CALL_LIMIT_MILLIS;
            if (tm.get("callLimit") != null) {
                long nanos = parseDuration(String.valueOf(tm.get("callLimit")), source + ": tee.callLimit");
                if (nanos < 1_000_000L || nanos > 3_600_000_000_000L) {
                    throw new ConfigException(source + ": tee.callLimit '" + tm.get("callLimit")
                            + "' must be between 1ms and 3600s (default 10s)");
                }
                callLimit = nanos / 1_000_000L;
            }
            tee = new Tee(Path.of(String.valueOf(tm.get("dir"))), Path.of(String.valueOf(tm.get("policy"))), callLimit);
        }
        WorkerLimits w = WorkerLimits.DEFAULT;
        w = new WorkerLimits(
                map.get("workerMemory") == null ? w.memoryBytes()
                        : parseSize(String.valueOf(map.get("workerMemory")), source + ": workerMemory"),
                map.get("compileTimeLimit") == null ? w.compileTimeNanos()
                        : parseDuration(String.valueOf(map.get("compileTimeLimit")), source + ": compileTimeLimit"),
                map.get("workerCpuTime") == null ? w.cpuTimeNanos()
                        : durationOrOff(map.get("workerCpuTime"), source + ": workerCpuTime"));
        if (w.memoryBytes() < 1536L << 20) {
            // measured: a worker (JVM + PoCL + LLVM) reserves about 1.3 GB of address space before any guest work
            throw new ConfigException(source + ": workerMemory " + map.get("workerMemory") + " is below 1536MiB, too "
                    + "little for a JVM and PoCL (they reserve about 1.3 GB); give at least 1536MiB (default 2GiB)");
        }
        if (w.compileTimeNanos() < 1_000_000_000L) {
            throw new ConfigException(source + ": compileTimeLimit " + map.get("compileTimeLimit")
                    + " is below 1s; give at least 1s (default 60s)");
        }
        Path guestSocket = map.get("socket") == null ? null : Path.of(String.valueOf(map.get("socket")));
        return new HostConfig(dir, keep, isolation, admin, devices, guests, scheduling, tee, guestSocket, w);
    }

    private static GuestConfig guest(Object o, String source) {
        if (!(o instanceof Map<?, ?> g)) {
            throw new ConfigException(source + ": each guest must be a mapping with at least 'name'");
        }
        Object name = g.get("name");
        if (name == null || !GuestNames.valid(String.valueOf(name))) {
            throw new ConfigException(source + ": guest name '" + name + "' is not valid: " + GuestNames.RULE);
        }
        String where = source + ": guest " + name;
        checkKeys(g, GUEST_KEYS, where);
        long size = g.get("regionSize") == null ? DEFAULT_REGION_SIZE
                : parseSize(String.valueOf(g.get("regionSize")), where + " regionSize");
        byte[] secret = null;
        if (g.get("secret") != null) {
            try {
                secret = Base64.getDecoder().decode(String.valueOf(g.get("secret")));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + ": secret is not base64");
            }
            if (secret.length != SECRET_BYTES) {
                throw new ConfigException(where + ": secret must be " + SECRET_BYTES + " bytes, not " + secret.length
                        + " (re-provision with ./ferry guest remove / add)");
            }
        }
        SchedClass cls = g.get("class") == null ? SchedClass.NORMAL
                : enumValue(SchedClass.class, g.get("class"), where + " class");
        int weight = g.get("weight") == null ? 1 : integer(g.get("weight"), where + " weight", 1, 1_000_000);
        Set<String> services = g.get("services") == null ? Set.of("compute", "tee")
                : new TreeSet<>(strings(g.get("services"), where + " services"));
        for (String s : services) {
            if (!s.equals("compute") && !s.equals("tee")) {
                throw new ConfigException(where + ": unknown service '" + s + "' (known: compute, tee)");
            }
        }
        Quotas q = Quotas.DEFAULT;
        if (g.get("quotas") != null) {
            if (!(g.get("quotas") instanceof Map<?, ?> qm)) {
                throw new ConfigException(where + ": quotas must be a mapping");
            }
            checkKeys(qm, List.of("deviceMemory", "objects", "commandsInFlight", "oneWayOutstanding"),
                    where + " quotas");
            q = new Quotas(
                    qm.get("deviceMemory") == null ? q.deviceMemoryBytes()
                            : parseSize(String.valueOf(qm.get("deviceMemory")), where + " quotas.deviceMemory"),
                    qm.get("objects") == null ? q.objects()
                            : integer(qm.get("objects"), where + " quotas.objects", 1, 1 << 24),
                    qm.get("commandsInFlight") == null ? q.commandsInFlight()
                            : integer(qm.get("commandsInFlight"), where + " quotas.commandsInFlight", 1, 1 << 24),
                    qm.get("oneWayOutstanding") == null ? q.oneWayOutstanding()
                            : integer(qm.get("oneWayOutstanding"), where + " quotas.oneWayOutstanding", 1, 1 << 24));
        }
        Reservation reservation = null;
        if (g.get("reservation") != null) {
            if (!(g.get("reservation") instanceof Map<?, ?> rm) || rm.get("budget") == null || rm.get("period") == null) {
                throw new ConfigException(where + ": reservation needs budget and period, e.g. {budget: 3ms, period: 16.667ms}");
            }
            checkKeys(rm, List.of("budget", "period"), where + " reservation");
            long budget = parseDuration(String.valueOf(rm.get("budget")), where + " reservation.budget");
            long period = parseDuration(String.valueOf(rm.get("period")), where + " reservation.period");
            if (budget > period) {
                throw new ConfigException(where + ": reservation budget " + rm.get("budget") + " exceeds its period "
                        + rm.get("period"));
            }
            reservation = new Reservation(budget, period);
        }
        long overrun = g.get("overrunLimit") == null ? DEFAULT_OVERRUN_NANOS
                : durationOrOff(g.get("overrunLimit"), where + " overrunLimit");
        RegionKind region = g.get("region") == null ? RegionKind.MEMFD
                : enumValue(RegionKind.class, g.get("region"), where + " region");
        List<Integer> uids = new ArrayList<>();
        for (String u : strings(g.get("uids"), where + " uids")) {
            uids.add(integer(u, where + " uids", 0, Integer.MAX_VALUE));
        }
        return new GuestConfig(String.valueOf(name), size, secret, cls, weight, services, q, reservation, overrun,
                region, uids);
    }

    /** A duration, or 0 for "0", "0s" or "off" (the limit is off). */
    static long durationOrOff(Object value, String what) {
        String t = String.valueOf(value).trim().toLowerCase(Locale.ROOT);
        return t.equals("off") || t.matches("0+(\\.0*)?(ns|us|ms|s)?") ? 0 : parseDuration(t, what);
    }

    /** "16.667ms", "500us", "2s", "1500000ns" → nanoseconds. */
    public static long parseDuration(String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        double mult;
        if (t.endsWith("ns")) {
            mult = 1;
        } else if (t.endsWith("us") || t.endsWith("µs")) {
            mult = 1e3;
        } else if (t.endsWith("ms")) {
            mult = 1e6;
        } else if (t.endsWith("s")) {
            mult = 1e9;
            t = t + "_";
        } else {
            throw new ConfigException(what + ": '" + text + "' needs a unit (ns, us, ms, s), e.g. 16.667ms");
        }
        t = t.substring(0, t.length() - 2);
        try {
            double v = Double.parseDouble(t) * mult;
            if (!(v > 0) || v > 3.6e12) {
                throw new NumberFormatException();
            }
            return Math.round(v);
        } catch (NumberFormatException e) {
            throw new ConfigException(what + ": '" + text + "' is not a positive duration (e.g. 3ms, 16.667ms, 2s)");
        }
    }

    public static String formatDuration(long nanos) {
        if (nanos % 1_000_000_000L == 0) {
            return nanos / 1_000_000_000L + "s";
        }
        if (nanos % 1_000 == 0 && nanos < 10_000_000_000L) {
            return String.format(Locale.ROOT, "%sms", java.math.BigDecimal.valueOf(nanos, 6).stripTrailingZeros()
                    .toPlainString());
        }
        return nanos + "ns";
    }

    /** The config as YAML, the way {@link #parse} reads it. */
    public String toYaml() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("regionDir", regionDir.toString());
        root.put("keepRegions", keepRegions);
        root.put("isolation", isolation.name().toLowerCase(Locale.ROOT));
        root.put("adminSocket", adminSocket.toString());
        root.put("socket", guestSocket.toString());
        if (!deviceFilter.isEmpty()) {
            root.put("devices", deviceFilter);
        }
        Map<String, Object> sched = new LinkedHashMap<>();
        sched.put("policy", scheduling.policy().name().toLowerCase(Locale.ROOT));
        sched.put("bestEffortCap", formatDuration(scheduling.bestEffortCapNanos()));
        root.put("scheduler", sched);
        if (!workerLimits.equals(WorkerLimits.DEFAULT)) {
            root.put("workerMemory", formatSize(workerLimits.memoryBytes()));
            root.put("compileTimeLimit", formatDuration(workerLimits.compileTimeNanos()));
            root.put("workerCpuTime", workerLimits.cpuTimeNanos() == 0 ? "0s" : formatDuration(workerLimits.cpuTimeNanos()));
        }
        if (tee != null) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dir", tee.dir().toString());
            t.put("policy", tee.policy().toString());
            if (tee.callLimitMillis() != Tee.DEFAULT_CALL_LIMIT_MILLIS) {
                t.put("callLimit", tee.callLimitMillis() + "ms");
            }
            root.put("tee", t);
        }
        List<Map<String, Object>> gs = new ArrayList<>();
        for (GuestConfig g : guests) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", g.name);
            m.put("regionSize", formatSize(g.regionSize));
            if (g.secret != null) {
                m.put("secret", Base64.getEncoder().encodeToString(g.secret));
            }
            m.put("class", g.schedClass.name());
            m.put("weight", g.weight);
            m.put("services", new ArrayList<>(new TreeSet<>(g.services)));
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("deviceMemory", formatSize(g.quotas.deviceMemoryBytes()));
            q.put("objects", g.quotas.objects());
            q.put("commandsInFlight", g.quotas.commandsInFlight());
            q.put("oneWayOutstanding", g.quotas.oneWayOutstanding());
            m.put("quotas", q);
            if (g.reservation != null) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("budget", formatDuration(g.reservation.budgetNanos()));
                r.put("period", formatDuration(g.reservation.periodNanos()));
                m.put("reservation", r);
            }
            if (g.overrunLimitNanos != DEFAULT_OVERRUN_NANOS) {
                m.put("overrunLimit", g.overrunLimitNanos == 0 ? "0s" : formatDuration(g.overrunLimitNanos));
            }
            if (g.region != RegionKind.MEMFD) {
                m.put("region", g.region.name().toLowerCase(Locale.ROOT));
            }
            if (!g.uids.isEmpty()) {
                m.put("uids", g.uids);
            }
            gs.add(m);
        }
        root.put("guests", gs);
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).build()).dumpToString(root);
    }

    private static void checkKeys(Map<?, ?> map, List<String> known, String where) {
        for (Object key : map.keySet()) {
            if (!known.contains(String.valueOf(key))) {
                throw new ConfigException(where + ": unknown key '" + key + "' (known: " + String.join(", ", known)
                        + ")");
            }
        }
    }

    private static boolean bool(Object o, String what) {
        if (o == null) {
            return false;
        }
        if (o instanceof Boolean b) {
            return b;
        }
        throw new ConfigException(what + ": '" + o + "' is not true or false");
    }

    private static int integer(Object o, String what, int min, int max) {
        try {
            long v = o instanceof Number n ? n.longValue() : Long.parseLong(String.valueOf(o).trim());
            if (v < min || v > max) {
                throw new NumberFormatException();
            }
            return (int) v;
        } catch (NumberFormatException e) {
            throw new ConfigException(what + ": '" + o + "' is not a whole number in " + min + ".." + max);
        }
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, Object o, String what) {
        String s = String.valueOf(o).trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(s)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        throw new ConfigException(what + ": '" + o + "' is not one of " + names);
    }

    private static List<String> strings(Object o, String what) {
        List<String> out = new ArrayList<>();
        if (o == null) {
            return out;
        }
        if (!(o instanceof List<?> l)) {
            throw new ConfigException(what + " must be a list");
        }
        for (Object x : l) {
            out.add(String.valueOf(x));
        }
        return out;
    }

    /** "64MiB", "1GiB", "65536", "4k" → bytes. */
    public static long parseSize(String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        long mult = 1;
        for (var e : List.of(Map.entry("gib", 1L << 30), Map.entry("mib", 1L << 20), Map.entry("kib", 1L << 10),
                Map.entry("g", 1L << 30), Map.entry("m", 1L << 20), Map.entry("k", 1L << 10), Map.entry("b", 1L))) {
            if (t.endsWith(e.getKey())) {
                mult = e.getValue();
                t = t.substring(0, t.length() - e.getKey().length());
                break;
            }
        }
        try {
            long v = Long.parseLong(t);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(v, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new ConfigException(what + ": '" + text + "' is not a size (examples: 64MiB, 1GiB, 65536)");
        }
    }

    public static String formatSize(long bytes) {
        if (bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "GiB";
        }
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "MiB";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "KiB";
        }
        return Long.toString(bytes);
    }

    /** A configuration error; the message names the file and what to change. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }
}
