package io.ferry.host.config;

import io.ferry.host.config.HostConfig.ConfigException;
import io.ferry.host.config.HostConfig.GuestConfig;
import io.ferry.host.config.HostConfig.Isolation;
import io.ferry.host.config.HostConfig.Metrics;
import io.ferry.host.config.HostConfig.Policy;
import io.ferry.host.config.HostConfig.RegionKind;
import io.ferry.host.config.HostConfig.Reservation;
import io.ferry.host.config.HostConfig.Scheduling;
import io.ferry.host.config.HostConfig.Tee;
import io.ferry.host.config.HostConfig.WorkerLimits;
import io.ferry.host.sched.SchedClass;
import java.nio.file.Path;
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

import static io.ferry.host.config.HostConfig.DEFAULT_OVERRUN_NANOS;
import static io.ferry.host.config.HostConfig.DEFAULT_REGION_DIR;
import static io.ferry.host.config.HostConfig.DEFAULT_REGION_SIZE;
import static io.ferry.host.config.HostConfig.DEFAULT_LANES;
import static io.ferry.host.config.HostConfig.LANES_AUTO;
import static io.ferry.host.config.HostConfig.MAX_LANES;
import static io.ferry.host.config.HostConfig.SECRET_BYTES;

/**
 * The YAML form of {@link HostConfig}: parsing with every value checked once (errors name the file, the key and
 * the fix), and writing it back the way it is read. Also the units of sizes and durations.
 */
final class ConfigYaml {
    /** Every top-level key; README.md's config sample shows each (ConfigSampleTest). */
    static final List<String> KEYS = java.util.stream.Stream.concat(java.util.stream.Stream.of("regionDir", "isolation",
            "adminSocket", "devices", "guests", "scheduler", "tee", "socket", "workerMemory", "compileTimeLimit",
            "workerCpuTime", "metrics"), NetConfig.KEYS.stream()).toList();
    /** Every key of a guest; README.md's config sample shows each (ConfigSampleTest). */
    static final List<String> GUEST_KEYS = List.of("name", "regionSize", "secret", "class", "weight",
            "services", "quotas", "reservation", "overrunLimit", "region", "uids", "lanes");

    /**
     * Keys an older Ferry wrote that are read and ignored with a warning: {@code keepRegions} (regions are kept
     * across host restarts now, and removed when their guest is removed; {@code ferry host --discard-regions}
     * removes them at stop).
     */
    static final List<String> DEPRECATED_KEYS = List.of("keepRegions");
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger("ferry.config");

    private ConfigYaml() {
    }

    /** Parses YAML text; {@code source} names it in error messages. */
    static HostConfig parse(String yaml, String source) {
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
        List<String> accepted = new ArrayList<>(KEYS);
        accepted.addAll(DEPRECATED_KEYS);
        checkKeys(map, accepted, source);
        if (map.containsKey("keepRegions")) {
            bool(map.get("keepRegions"), source + ": keepRegions"); // still checked, so a typo'd value is named
            LOG.warning(source + ": keepRegions is deprecated and ignored: a host keeps every region across its "
                    + "restarts (guests go on), and removes a region when its guest is removed; to remove them all "
                    + "at stop, run 'ferry host --discard-regions'. Delete the line to silence this warning.");
        }
        Path dir = map.get("regionDir") == null ? DEFAULT_REGION_DIR : Path.of(String.valueOf(map.get("regionDir")));
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
                if (guests.stream().anyMatch(x -> x.name().equals(g.name()))) {
                    throw new ConfigException(source + ": guest '" + g.name() + "' is listed twice");
                }
                guests.add(g);
            }
        }
        Scheduling scheduling = Scheduling.DEFAULT;
        if (map.get("scheduler") != null) {
            if (!(map.get("scheduler") instanceof Map<?, ?> sm)) {
                throw new ConfigException(source + ": scheduler must be a mapping (policy, bestEffortCap, realtime, "
                        + "cpus, releaseHold)");
            }
            checkKeys(sm, List.of("policy", "bestEffortCap", "realtime", "cpus", "releaseHold"), source + ": scheduler");
            Object rt = sm.get("realtime");
            if (rt != null && !(rt instanceof Boolean)) {
                throw new ConfigException(source + ": scheduler.realtime must be true or false, not '" + rt + "'");
            }
            scheduling = new Scheduling(
                    sm.get("policy") == null ? Policy.FERRY : enumValue(Policy.class, sm.get("policy"),
                            source + ": scheduler.policy"),
                    sm.get("bestEffortCap") == null ? Scheduling.DEFAULT.bestEffortCapNanos()
                            : parseDuration(String.valueOf(sm.get("bestEffortCap")), source + ": scheduler.bestEffortCap"),
                    Boolean.TRUE.equals(rt), cpus(sm.get("cpus"), source + ": scheduler.cpus"),
                    sm.get("releaseHold") == null ? HostConfig.ReleaseHold.AUTO : enumValue(HostConfig.ReleaseHold.class,
                            sm.get("releaseHold"), source + ": scheduler.releaseHold"));
        }
        Tee tee = null;
        if (map.get("tee") != null) {
            if (!(map.get("tee") instanceof Map<?, ?> tm) || tm.get("dir") == null || tm.get("policy") == null) {
                throw new ConfigException(source + ": tee needs dir and policy, e.g. {dir: /var/lib/ferry/tee, "
                        + "policy: /etc/ferry/tee.policy}");
            }
            checkKeys(tm, List.of("dir", "policy", "callLimit", "isolation"), source + ": tee");
            Object teeIsolation = tm.get("isolation") == null ? "process" : tm.get("isolation");
            if (!teeIsolation.equals("process") && !teeIsolation.equals("none")) {
                throw new ConfigException(source + ": tee.isolation '" + teeIsolation + "' must be process (each TA "
                        + "instance in its sandbox, the default) or none (tests only: TAs get the host's files)");
            }
            long callLimit = Tee.DEFAULT_CALL_LIMIT_MILLIS;
            if (tm.get("callLimit") != null) {
                long nanos = parseDuration(String.valueOf(tm.get("callLimit")), source + ": tee.callLimit");
                if (nanos < 1_000_000L || nanos > 3_600_000_000_000L) {
                    throw new ConfigException(source + ": tee.callLimit '" + tm.get("callLimit")
                            + "' must be between 1ms and 3600s (default 10s)");
                }
                callLimit = nanos / 1_000_000L;
            }
            tee = new Tee(Path.of(String.valueOf(tm.get("dir"))), Path.of(String.valueOf(tm.get("policy"))), callLimit,
                    teeIsolation.equals("process"));
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
        Metrics metrics = null;
        if (map.get("metrics") != null) {
            if (!(map.get("metrics") instanceof Map<?, ?> mm) || mm.get("listen") == null) {
                throw new ConfigException(source + ": metrics needs listen, e.g. {listen: 127.0.0.1:9464} (see "
                        + "docs/metrics.md; leave metrics out to turn the HTTP listener off)");
            }
            checkKeys(mm, List.of("listen"), source + ": metrics");
            metrics = Metrics.parseListen(String.valueOf(mm.get("listen")), source + ": metrics.listen");
        }
        return new HostConfig(dir, false, isolation, admin, devices, guests, scheduling, tee, guestSocket, w, metrics,
                NetConfig.parse(map, source));
    }

    private static HostConfig.GuestConfig guest(Object o, String source) {
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
        // absent (0): DEFAULT_LANES; auto: up to AUTO_LANES, as many as the region holds (compute.GuestLayout)
        int lanes = g.get("lanes") == null ? 0 : "auto".equals(String.valueOf(g.get("lanes")).trim()) ? LANES_AUTO
                : integer(g.get("lanes"), where + " lanes (1 to " + MAX_LANES + ", or auto)", 1, MAX_LANES);
        return new GuestConfig(String.valueOf(name), size, secret, cls, weight, services, q, reservation, overrun,
                region, uids, lanes);
    }

    /** A duration, or 0 for "0", "0s" or "off" (the limit is off). */
    static long durationOrOff(Object value, String what) {
        String t = String.valueOf(value).trim().toLowerCase(Locale.ROOT);
        return t.equals("off") || t.matches("0+(\\.0*)?(ns|us|ms|s)?") ? 0 : parseDuration(t, what);
    }

    /** "16.667ms", "500us", "2s", "1500000ns" → nanoseconds. */
    static long parseDuration(String text, String what) {
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

    static String formatDuration(long nanos) {
        if (nanos % 1_000_000_000L == 0) {
            return nanos / 1_000_000_000L + "s";
        }
        if (nanos % 1_000 == 0 && nanos < 10_000_000_000L) {
            return String.format(Locale.ROOT, "%sms", java.math.BigDecimal.valueOf(nanos, 6).stripTrailingZeros()
                    .toPlainString());
        }
        return nanos + "ns";
    }

    /**
     * The config as YAML, the way {@link #parse} reads it: every key with its value, defaults included (so that
     * the file {@code ./ferry guest add} writes shows what can be changed), but the optional tee and reservation.
     */
    static String toYaml(HostConfig c) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("regionDir", c.regionDir().toString());
        root.put("isolation", c.isolation().name().toLowerCase(Locale.ROOT));
        root.put("adminSocket", c.adminSocket().toString());
        root.put("socket", c.guestSocket().toString());
        root.put("devices", c.deviceFilter());
        Map<String, Object> sched = new LinkedHashMap<>();
        sched.put("policy", c.scheduling().policy().name().toLowerCase(Locale.ROOT));
        sched.put("bestEffortCap", formatDuration(c.scheduling().bestEffortCapNanos()));
        sched.put("realtime", c.scheduling().realtime());
        sched.put("releaseHold", c.scheduling().releaseHold().name().toLowerCase(Locale.ROOT));
        if (!c.scheduling().cpus().isEmpty()) {
            Map<String, Object> cpus = new LinkedHashMap<>();
            new java.util.TreeMap<>(c.scheduling().cpus()).forEach((k, v) -> cpus.put(k.name(), CpuList.format(v)));
            sched.put("cpus", cpus);
        }
        root.put("scheduler", sched);
        root.put("workerMemory", formatSize(c.workerLimits().memoryBytes()));
        root.put("compileTimeLimit", formatDuration(c.workerLimits().compileTimeNanos()));
        root.put("workerCpuTime", c.workerLimits().cpuTimeNanos() == 0 ? "0s" : formatDuration(c.workerLimits().cpuTimeNanos()));
        if (c.tee() != null) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dir", c.tee().dir().toString());
            t.put("policy", c.tee().policy().toString());
            t.put("callLimit", formatDuration(c.tee().callLimitMillis() * 1_000_000L));
            if (!c.tee().sandboxed()) {
                t.put("isolation", "none");
            }
            root.put("tee", t);
        }
        if (c.metrics() != null) {
            root.put("metrics", Map.of("listen", c.metrics().listen()));
        }
        c.net().toYaml(root);
        List<Map<String, Object>> gs = new ArrayList<>();
        for (GuestConfig g : c.guests()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", g.name());
            m.put("regionSize", formatSize(g.regionSize()));
            if (g.secret() != null) {
                m.put("secret", Base64.getEncoder().encodeToString(g.secret()));
            }
            m.put("class", g.schedClass().name());
            m.put("weight", g.weight());
            m.put("services", new ArrayList<>(new TreeSet<>(g.services())));
            m.put("lanes", g.lanes() == LANES_AUTO ? "auto" : g.lanes() > 0 ? g.lanes() : DEFAULT_LANES);
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("deviceMemory", formatSize(g.quotas().deviceMemoryBytes()));
            q.put("objects", g.quotas().objects());
            q.put("commandsInFlight", g.quotas().commandsInFlight());
            q.put("oneWayOutstanding", g.quotas().oneWayOutstanding());
            m.put("quotas", q);
            if (g.reservation() != null) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("budget", formatDuration(g.reservation().budgetNanos()));
                r.put("period", formatDuration(g.reservation().periodNanos()));
                m.put("reservation", r);
            }
            m.put("overrunLimit", g.overrunLimitNanos() == 0 ? "0s" : formatDuration(g.overrunLimitNanos()));
            m.put("region", g.region().name().toLowerCase(Locale.ROOT));
            m.put("uids", g.uids());
            gs.add(m);
        }
        root.put("guests", gs);
        // No anchors and aliases: shared values (the same empty list of each guest) would make a config of many guests
        // exceed the parser's alias limit, and a person reads and edits the file.
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setDereferenceAliases(true).build())
                .dumpToString(root);
    }

    /** {@code cpus: {critical: "1", best_effort: "0"}}: a CPU list per class; null gives none. */
    private static Map<SchedClass, java.util.BitSet> cpus(Object o, String what) {
        if (o == null) {
            return Map.of();
        }
        if (!(o instanceof Map<?, ?> m)) {
            throw new ConfigException(what + " must map classes to CPU lists, e.g. {critical: \"1\", "
                    + "best_effort: \"0\"}");
        }
        Map<SchedClass, java.util.BitSet> out = new java.util.EnumMap<>(SchedClass.class);
        for (Map.Entry<?, ?> e : m.entrySet()) {
            var c = enumValue(SchedClass.class, e.getKey(), what);
            out.put(c, CpuList.parse(String.valueOf(e.getValue()), what + "." + c));
        }
        return out;
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
    static long parseSize(String text, String what) {
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

    static String formatSize(long bytes) {
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
}
