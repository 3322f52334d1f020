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
 * devices: [pthread]             # optional: only devices whose name contains one of these, or backend names
 * scheduler: {policy: ferry, bestEffortCap: 4ms}   # or policy: fifo (device commands in arrival order)
 * tee: {dir: /var/lib/ferry/tee, policy: /etc/ferry/tee.policy}   # optional: the software TEE and its policy
 * guests:
 *   - name: alice
 *     regionSize: 64MiB          # header + rings + heap
 *     secret: 3q2+7w==...        # base64, 32 bytes; written by ./ferry guest add; checked at the handshake
 *     class: NORMAL              # CRITICAL | HIGH | NORMAL | BEST_EFFORT (for the scheduler)
 *     weight: 1
 *     services: [compute, tee]
 *     quotas: {deviceMemory: 1GiB, objects: 4096, commandsInFlight: 4096, oneWayOutstanding: 65536}
 * </pre>
 *
 * Values are checked once by {@link #parse}; the result is immutable.
 */
public record HostConfig(Path regionDir, boolean keepRegions, Isolation isolation, Path adminSocket,
                         List<String> deviceFilter, List<GuestConfig> guests, Scheduling scheduling, Tee tee) {

    /**
     * The TEE service: the software TEE's state directory (signing keys, root key, sealed storage, signed TAs) and
     * the access policy file (deny by default). Null when the host offers no TEE.
     */
    public record Tee(Path dir, Path policy) {
    }

    public static final Path DEFAULT_REGION_DIR = Path.of("/dev/shm/ferry");
    public static final long DEFAULT_REGION_SIZE = 64L << 20;
    public static final int SECRET_BYTES = 32;
    private static final List<String> KEYS = List.of("regionDir", "keepRegions", "isolation", "adminSocket",
            "devices", "guests", "scheduler", "tee");
    private static final List<String> GUEST_KEYS = List.of("name", "regionSize", "secret", "class", "weight",
            "services", "quotas", "reservation", "overrunLimit");

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

    /** One provisioned guest. {@code secret} is null when the config has none (then a random one per start). */
    public record GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                              Set<String> services, Quotas quotas, Reservation reservation, long overrunLimitNanos) {
        public GuestConfig {
            services = Set.copyOf(services);
            secret = secret == null ? null : secret.clone();
        }

        /** A guest with defaults for everything but name and size. */
        public GuestConfig(String name, long regionSize) {
            this(name, regionSize, null, SchedClass.NORMAL, 1, Set.of("compute", "tee"), Quotas.DEFAULT);
        }

        public GuestConfig(String name, long regionSize, byte[] secret, SchedClass schedClass, int weight,
                           Set<String> services, Quotas quotas) {
            this(name, regionSize, secret, schedClass, weight, services, quotas, null, 0);
        }

        public GuestConfig withSecret(byte[] s) {
            return new GuestConfig(name, regionSize, s, schedClass, weight, services, quotas, reservation,
                    overrunLimitNanos);
        }

        public GuestConfig withScheduling(SchedClass c, int w, Reservation r, long overrunNanos) {
            return new GuestConfig(name, regionSize, secret, c, w, services, quotas, r, overrunNanos);
        }

        public boolean allows(String service) {
            return services.contains(service);
        }
    }

    public HostConfig {
        if (scheduling == null) {
            scheduling = Scheduling.DEFAULT;
        }
        deviceFilter = List.copyOf(deviceFilter);
        guests = List.copyOf(guests);
        if (adminSocket == null) {
            adminSocket = regionDir.resolve("admin.sock");
        }
    }

    /** A config with defaults for the host-wide settings. */
    public HostConfig(Path regionDir, boolean keepRegions, List<String> deviceFilter, List<GuestConfig> guests) {
        this(regionDir, keepRegions, Isolation.PROCESS, null, deviceFilter, guests, Scheduling.DEFAULT, null);
    }

    public HostConfig withGuests(List<GuestConfig> gs) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, gs, scheduling, tee);
    }

    public HostConfig withIsolation(Isolation i) {
        return new HostConfig(regionDir, keepRegions, i, adminSocket, deviceFilter, guests, scheduling, tee);
    }

    public HostConfig withScheduling(Scheduling sc) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, sc, tee);
    }

    public HostConfig withTee(Tee t) {
        return new HostConfig(regionDir, keepRegions, isolation, adminSocket, deviceFilter, guests, scheduling, t);
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
            checkKeys(tm, List.of("dir", "policy"), source + ": tee");
            tee = new Tee(Path.of(String.valueOf(tm.get("dir"))), Path.of(String.valueOf(tm.get("policy"))));
        }
        return new HostConfig(dir, keep, isolation, admin, devices, guests, scheduling, tee);
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
        long overrun = g.get("overrunLimit") == null ? 0
                : parseDuration(String.valueOf(g.get("overrunLimit")), where + " overrunLimit");
        return new GuestConfig(String.valueOf(name), size, secret, cls, weight, services, q, reservation, overrun);
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
        if (!deviceFilter.isEmpty()) {
            root.put("devices", deviceFilter);
        }
        Map<String, Object> sched = new LinkedHashMap<>();
        sched.put("policy", scheduling.policy().name().toLowerCase(Locale.ROOT));
        sched.put("bestEffortCap", formatDuration(scheduling.bestEffortCapNanos()));
        root.put("scheduler", sched);
        if (tee != null) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dir", tee.dir().toString());
            t.put("policy", tee.policy().toString());
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
            if (g.overrunLimitNanos > 0) {
                m.put("overrunLimit", formatDuration(g.overrunLimitNanos));
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
