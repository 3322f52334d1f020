package io.ferry.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * devices: [pthread]             # optional: only devices whose name contains one of these (case-insensitive)
 * guests:
 *   - name: alice
 *     regionSize: 64MiB          # header + rings + heap
 * </pre>
 *
 * Values are checked once by {@link #parse}; the result is immutable.
 */
public record HostConfig(Path regionDir, boolean keepRegions, List<String> deviceFilter, List<GuestConfig> guests) {

    public static final Path DEFAULT_REGION_DIR = Path.of("/dev/shm/ferry");
    public static final long DEFAULT_REGION_SIZE = 64L << 20;

    /** One provisioned guest. */
    public record GuestConfig(String name, long regionSize) {
    }

    public HostConfig {
        deviceFilter = List.copyOf(deviceFilter);
        guests = List.copyOf(guests);
    }

    public GuestConfig guest(String name) {
        for (GuestConfig g : guests) {
            if (g.name.equals(name)) {
                return g;
            }
        }
        return null;
    }

    public static HostConfig load(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new ConfigException("config file " + file + " does not exist; create it or run ./ferry guest add NAME");
        }
        return parse(Files.readString(file), file.toString());
    }

    /** Parses YAML text; {@code source} names it in error messages. */
    @SuppressWarnings("unchecked")
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
        for (Object key : map.keySet()) {
            if (!List.of("regionDir", "keepRegions", "devices", "guests").contains(String.valueOf(key))) {
                throw new ConfigException(source + ": unknown key '" + key
                        + "' (known: regionDir, keepRegions, devices, guests)");
            }
        }
        Path dir = map.get("regionDir") == null ? DEFAULT_REGION_DIR : Path.of(String.valueOf(map.get("regionDir")));
        boolean keep = Boolean.TRUE.equals(map.get("keepRegions"));
        List<String> devices = new ArrayList<>();
        if (map.get("devices") instanceof List<?> l) {
            for (Object o : l) {
                devices.add(String.valueOf(o));
            }
        }
        List<GuestConfig> guests = new ArrayList<>();
        Object gs = map.get("guests");
        if (gs != null && !(gs instanceof List<?>)) {
            throw new ConfigException(source + ": 'guests' must be a list");
        }
        if (gs != null) {
            for (Object o : (List<Object>) gs) {
                if (!(o instanceof Map<?, ?> g)) {
                    throw new ConfigException(source + ": each guest must be a mapping with at least 'name'");
                }
                Object name = g.get("name");
                if (name == null || !GuestNames.valid(String.valueOf(name))) {
                    throw new ConfigException(source + ": guest name '" + name + "' is not valid: "
                            + GuestNames.RULE);
                }
                long size = g.get("regionSize") == null ? DEFAULT_REGION_SIZE
                        : parseSize(String.valueOf(g.get("regionSize")), source + ": guest " + name + " regionSize");
                for (GuestConfig existing : guests) {
                    if (existing.name.equals(name)) {
                        throw new ConfigException(source + ": guest '" + name + "' is listed twice");
                    }
                }
                guests.add(new GuestConfig(String.valueOf(name), size));
            }
        }
        return new HostConfig(dir, keep, devices, guests);
    }

    /** The config as YAML, the way {@link #parse} reads it. */
    public String toYaml() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("regionDir", regionDir.toString());
        root.put("keepRegions", keepRegions);
        if (!deviceFilter.isEmpty()) {
            root.put("devices", deviceFilter);
        }
        List<Map<String, Object>> gs = new ArrayList<>();
        for (GuestConfig g : guests) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", g.name);
            m.put("regionSize", formatSize(g.regionSize));
            gs.add(m);
        }
        root.put("guests", gs);
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).build()).dumpToString(root);
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
