package io.ferry.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Figures of one benchmark run: printed as a table and written as flat JSON. */
public final class Report {
    private final String suite;
    private final Map<String, Object> values = new LinkedHashMap<>();

    public Report(String suite) {
        this.suite = suite;
    }

    public Report put(String key, Object value) {
        values.put(key, value);
        return this;
    }

    public Object get(String key) {
        return values.get(key);
    }

    /** Adds {@code machine} and {@code date}. */
    public Report stamp() {
        values.put("machine", machine());
        values.put("date", ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        return this;
    }

    static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            // not Linux: keep "unknown CPU"
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        return host + ", " + cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{\n  \"suite\": \"").append(suite).append('"');
        for (var e : values.entrySet()) {
            sb.append(",\n  \"").append(e.getKey()).append("\": ").append(json(e.getValue()));
        }
        return sb.append("\n}\n").toString();
    }

    private static String json(Object v) {
        if (v instanceof double[] a) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) {
                sb.append(i == 0 ? "" : ", ").append(json(a[i]));
            }
            return sb.append(']').toString();
        }
        if (v instanceof Double d) {
            return Double.isFinite(d) ? String.format(Locale.ROOT, "%.4f", d) : "null";
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : String.valueOf(v).toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    public void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toJson());
    }
}
