package io.ferry.host.admin;

import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The status document that the admin socket serves and {@code ./ferry status} shows, written and read by hand (no
 * JSON library on the host's class path):
 *
 * <pre>
 * {"host": {"pid", "uptime_s", "isolation", "region_dir"},
 *  "devices": [{"index", "name", "backend", "type", "compute_units", "global_memory_bytes",
 *               "pci_bus_id" (DDDD:BB:SS.F; null when the device reports none: a CPU device)}],
 *  "guests": [{"name", "connected", "sessions", "session_id", "pid", "device_memory_bytes", "objects",
 *              "commands_in_flight", "calls", "class", "weight",
 *              "reservation_budget_ns", "reservation_period_ns" (0 and 0 without a reservation),
 *              "region_bytes", "heap_bytes",
 *              "lanes", "lanes_busy",
 *              "quotas": {"device_memory_bytes", "objects", "commands_in_flight", "one_way_outstanding"},
 *              "scheduling": [{"device", "device_time_ns", "budget_left_ns", "queued", "in_flight", "expected_wait_ns",
 *                              "deadline_misses", "queue_wait_ns_p50", "queue_wait_ns_p99", "queue_wait_ns_max",
 *                              "overruns", "flagged"}]}]}
 * </pre>
 *
 * {@link #parse} reads any JSON document into maps, lists, strings, longs, doubles, booleans and nulls; it is
 * strict (trailing garbage, bad escapes and nesting deeper than 64 are errors) because the CLI should fail clearly
 * on a reply that is not the host's.
 */
public final class StatusJson {
    private static final int MAX_DEPTH = 64;

    private StatusJson() {
    }

    /** The status of {@code host} now; {@code startedNanos} is when it started serving (System.nanoTime). */
    public static String render(FerryHost host, long startedNanos) {
        StringBuilder sb = new StringBuilder(1024);
        HostConfig cfg = host.config();
        sb.append("{\"host\": {\"pid\": ").append(ProcessHandle.current().pid())
                .append(", \"uptime_s\": ").append(Math.max(0, (System.nanoTime() - startedNanos) / 1_000_000_000L))
                .append(", \"isolation\": ");
        string(sb, cfg.isolation().name().toLowerCase(java.util.Locale.ROOT));
        sb.append(", \"region_dir\": ");
        string(sb, cfg.regionDir().toString());
        sb.append("},\n \"devices\": [");
        boolean first = true;
        for (Devices.Device d : host.devices().served()) { // a withdrawn device (VFIO) is not listed
            sb.append(first ? "" : ", ").append("{\"index\": ").append(d.index()).append(", \"name\": ");
            string(sb, d.info().name());
            sb.append(", \"backend\": ");
            string(sb, d.backend().name());
            sb.append(", \"type\": ");
            string(sb, String.valueOf(d.info().type()));
            sb.append(", \"compute_units\": ").append(d.info().computeUnits())
                    .append(", \"global_memory_bytes\": ").append(d.info().globalMemoryBytes())
                    .append(", \"pci_bus_id\": ");
            if (d.pciBusId() == null) {
                sb.append("null");
            } else {
                string(sb, d.pciBusId());
            }
            sb.append('}');
            first = false;
        }
        sb.append("],\n \"guests\": [");
        first = true;
        for (HostViews.GuestView g : host.guests()) {
            sb.append(first ? "\n  " : ",\n  ").append("{\"name\": ");
            string(sb, g.name());
            sb.append(", \"connected\": ").append(g.connected())
                    .append(", \"sessions\": ").append(g.sessions())
                    .append(", \"session_id\": ").append(g.sessionId())
                    .append(", \"pid\": ").append(g.pid())
                    .append(", \"device_memory_bytes\": ").append(g.deviceMemoryBytes())
                    .append(", \"objects\": ").append(g.objects())
                    .append(", \"commands_in_flight\": ").append(g.commandsInFlight())
                    .append(", \"calls\": ").append(g.calls())
                    .append(", \"class\": ");
            string(sb, String.valueOf(g.schedClass()));
            HostConfig.Reservation resv = reservation(cfg, g.name());
            sb.append(", \"weight\": ").append(g.weight())
                    .append(", \"reservation_budget_ns\": ").append(resv == null ? 0 : resv.budgetNanos())
                    .append(", \"reservation_period_ns\": ").append(resv == null ? 0 : resv.periodNanos())
                    .append(", \"region_bytes\": ").append(g.regionBytes())
                    .append(", \"heap_bytes\": ").append(g.heapBytes())
                    .append(", \"lanes\": ").append(g.lanes()).append(", \"lanes_busy\": ").append(g.lanesBusy())
                    .append(", \"quotas\": {\"device_memory_bytes\": ").append(g.quotas().deviceMemoryBytes())
                    .append(", \"objects\": ").append(g.quotas().objects())
                    .append(", \"commands_in_flight\": ").append(g.quotas().commandsInFlight())
                    .append(", \"one_way_outstanding\": ").append(g.quotas().oneWayOutstanding()).append("}")
                    .append(", \"scheduling\": [");
            boolean firstDevice = true;
            for (HostViews.SchedulingView v : host.scheduling(g.name())) {
                sb.append(firstDevice ? "" : ", ").append("{\"device\": ");
                string(sb, v.device());
                sb.append(", \"device_time_ns\": ").append(v.deviceNanos())
                        .append(", \"budget_left_ns\": ").append(v.budgetLeftNanos())
                        .append(", \"queued\": ").append(v.queued())
                        .append(", \"in_flight\": ").append(v.inFlight())
                        .append(", \"expected_wait_ns\": ").append(v.expectedWaitNanos())
                        .append(", \"deadline_misses\": ").append(v.deadlineMisses())
                        .append(", \"queue_wait_ns_p50\": ").append(v.waitP50Nanos())
                        .append(", \"queue_wait_ns_p99\": ").append(v.waitP99Nanos())
                        .append(", \"queue_wait_ns_max\": ").append(v.waitMaxNanos())
                        .append(", \"overruns\": ").append(v.overruns())
                        .append(", \"flagged\": ").append(v.flagged()).append("}");
                firstDevice = false;
            }
            sb.append("]}");
            first = false;
        }
        sb.append(first ? "]}\n" : "\n ]}\n");
        return sb.toString();
    }

    /** The reservation of guest {@code name} in {@code cfg}, or null (none, or no such guest). */
    private static HostConfig.Reservation reservation(HostConfig cfg, String name) {
        for (HostConfig.GuestConfig gc : cfg.guests()) {
            if (gc.name().equals(name)) {
                return gc.reservation();
            }
        }
        return null;
    }

    /** Appends {@code s} as a JSON string ({@link io.ferry.host.vfio.Json#string}). */
    static void string(StringBuilder sb, String s) {
        io.ferry.host.vfio.Json.string(sb, s);
    }

    /** {@code s} as a JSON string literal ({@link io.ferry.host.vfio.Json#quote}). */
    public static String quote(String s) {
        return io.ferry.host.vfio.Json.quote(s);
    }

    /**
     * Parses a JSON document: objects become {@code Map<String, Object>} (in order), arrays {@code List<Object>},
     * numbers {@code Long} when integral, else {@code Double}.
     *
     * @throws IllegalArgumentException when the text is not one JSON value; the message gives the position
     */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        Object v = p.value(0);
        p.skipSpace();
        if (p.at != text.length()) {
            throw p.error("trailing characters");
        }
        return v;
    }

    private static final class Parser {
        private final String s;
        private int at;

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("not valid JSON at character " + at + ": " + what);
        }

        void skipSpace() {
            while (at < s.length() && " \t\r\n".indexOf(s.charAt(at)) >= 0) {
                at++;
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nested deeper than " + MAX_DEPTH);
            }
            skipSpace();
            if (at >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(at);
            return switch (c) {
                case '{' -> object(depth);
                case '[' -> array(depth);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> number();
            };
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, at)) {
                throw error("expected " + word);
            }
            at += word.length();
            return v;
        }

        private Map<String, Object> object(int depth) {
            Map<String, Object> m = new LinkedHashMap<>();
            at++;
            skipSpace();
            if (at < s.length() && s.charAt(at) == '}') {
                at++;
                return m;
            }
            while (true) {
                skipSpace();
                if (at >= s.length() || s.charAt(at) != '"') {
                    throw error("expected a member name");
                }
                String key = string();
                skipSpace();
                expect(':');
                m.put(key, value(depth + 1));
                skipSpace();
                if (at < s.length() && s.charAt(at) == ',') {
                    at++;
                    continue;
                }
                expect('}');
                return m;
            }
        }

        private List<Object> array(int depth) {
            List<Object> l = new ArrayList<>();
            at++;
            skipSpace();
            if (at < s.length() && s.charAt(at) == ']') {
                at++;
                return l;
            }
            while (true) {
                l.add(value(depth + 1));
                skipSpace();
                if (at < s.length() && s.charAt(at) == ',') {
                    at++;
                    continue;
                }
                expect(']');
                return l;
            }
        }

        private void expect(char c) {
            if (at >= s.length() || s.charAt(at) != c) {
                throw error("expected '" + c + "'");
            }
            at++;
        }

        private String string() {
            at++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (at >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(at++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c < 0x20) {
                    throw error("control character in a string");
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                if (at >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (at + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        try {
                            sb.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        at += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }

        private Object number() {
            int start = at;
            while (at < s.length() && "+-0123456789.eE".indexOf(s.charAt(at)) >= 0) {
                at++;
            }
            String n = s.substring(start, at);
            if (n.isEmpty()) {
                throw error("unexpected character '" + s.charAt(start) + "'");
            }
            try {
                if (n.indexOf('.') < 0 && n.indexOf('e') < 0 && n.indexOf('E') < 0) {
                    return Long.parseLong(n);
                }
                return Double.parseDouble(n);
            } catch (NumberFormatException ex) {
                at = start;
                throw error("bad number '" + n + "'");
            }
        }
    }
}
