package io.ferry.cli;

import io.ferry.client.HostAddress;
import io.ferry.host.config.HostConfig;
import io.ferry.host.admin.StatusJson;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./ferry status}: asks a running host over its admin socket for devices, guests and their figures. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show a running host's devices and guests: sessions (connected: lanes busy / lanes), memory, "
                + "objects, commands in flight, calls and quotas.")
final class StatusCommand implements Callable<Integer> {

    @Option(names = "--json", description = "print the host's JSON document as it is")
    boolean json;

    @Option(names = "--host", paramLabel = "ADDRESS", description = HostFlag.DESCRIPTION
            + "the config's adminSocket); its admin socket is REGIONDIR/admin.sock")
    String host;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "the host's config file: ask its "
            + "adminSocket (default: $FERRY_CONFIG or ./ferry.yaml, after $FERRY_HOST)")
    Path config;

    @Option(names = "--admin-socket", paramLabel = "PATH", description = "the admin socket to ask (overrides the rest)")
    Path adminSocket;

    /** The old name of --admin-socket, kept hidden so that scripts of earlier versions still work. */
    @Option(names = "--socket", paramLabel = "PATH", hidden = true)
    Path socket;

    /** Where the admin socket came from, for the message when nothing answers there. */
    private String derivedFrom;

    @Override
    public Integer call() throws Exception {
        Path path = socketPath();
        String reply;
        try {
            reply = ask(path);
        } catch (IOException e) {
            System.err.println("ferry status: no host is running: nothing listens on " + path
                    + (derivedFrom == null ? "" : " (the admin socket of host " + derivedFrom + " where its config "
                    + "sets no adminSocket; else give -c FILE or --admin-socket PATH)")
                    + "; start one with ./ferry host");
            return 1;
        }
        if (json) {
            System.out.print(reply.endsWith("\n") ? reply : reply + "\n");
            return 0;
        }
        Object doc;
        try {
            doc = StatusJson.parse(reply);
        } catch (IllegalArgumentException e) {
            System.err.println("ferry status: " + path + " answered something that is not a host's status: "
                    + e.getMessage());
            return 1;
        }
        if (!(doc instanceof Map<?, ?> m) || m.containsKey("error")) {
            System.err.println("ferry status: the host refused: " + (doc instanceof Map<?, ?> e ? e.get("error") : doc));
            return 1;
        }
        System.out.print(table(m));
        return 0;
    }

    /**
     * First of: --admin-socket (or the hidden --socket), --host, -c, FERRY_HOST (and its deprecated aliases), the
     * config file at $FERRY_CONFIG or ./ferry.yaml, the default.
     */
    private Path socketPath() {
        Path explicit = adminSocket != null ? adminSocket : socket;
        if (explicit != null) {
            return explicit;
        }
        HostAddress named = host != null ? HostAddress.parse(host, "--host")
                : config == null ? HostAddress.fromEnvironment(System.getenv(), null) : null;
        if (named != null) {
            derivedFrom = named + " (from " + named.origin() + ")";
            return HostFlag.adminSocket(named);
        }
        Path file = HostCommand.configPath(config);
        if (config == null && !Files.exists(file)) {
            return HostConfig.defaultAdminSocket(HostConfig.DEFAULT_REGION_DIR);
        }
        try {
            return HostConfig.load(file).adminSocket();
        } catch (IOException e) {
            throw new HostConfig.ConfigException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Sends {@code status} and reads the reply to its end. */
    static String ask(Path socket) throws IOException {
        return ask(socket, "status");
    }

    /** Sends one request line ({@code status}, {@code reload}, {@code reset NAME}) and reads the reply to its end. */
    static String ask(Path socket, String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new NoHostException(socket, e);
            }
            ByteBuffer req = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            while (req.hasRemaining()) {
                c.write(req);
            }
            var out = new java.io.ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
                if (out.size() > (16 << 20)) {
                    throw new IOException("reply larger than 16 MiB");
                }
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** Nothing accepts a connection on the admin socket: no host runs there (any later failure is not this). */
    static final class NoHostException extends IOException {
        NoHostException(Path socket, IOException cause) {
            super("no host answers on " + socket + " (" + cause.getMessage() + ")", cause);
        }
    }

    static String table(Map<?, ?> doc) {
        StringBuilder sb = new StringBuilder();
        Map<?, ?> host = map(doc.get("host"));
        sb.append(String.format("host: pid %s, up %s s, isolation %s, regions in %s%n", host.get("pid"),
                host.get("uptime_s"), host.get("isolation"), host.get("region_dir")));
        List<?> devices = list(doc.get("devices"));
        sb.append(String.format("%ndevices (%d)%n", devices.size()));
        if (!devices.isEmpty()) {
            sb.append(String.format("  %-5s %-36s %-8s %-6s %6s %10s%n", "index", "name", "backend", "type", "units",
                    "memory"));
        }
        for (Object o : devices) {
            Map<?, ?> d = map(o);
            sb.append(String.format("  %-5s %-36s %-8s %-6s %6s %10s%n", d.get("index"), cut(d.get("name"), 36),
                    d.get("backend"), d.get("type"), d.get("compute_units"), size(d.get("global_memory_bytes"))));
        }
        List<?> guests = list(doc.get("guests"));
        sb.append(String.format("%nguests (%d)%n", guests.size()));
        if (!guests.isEmpty()) {
            sb.append(String.format("  %-16s %-9s %8s %8s %10s %12s %10s %10s   %s%n", "name", "connected", "sessions",
                    "pid", "memory", "objects", "in flight", "calls", "quotas (memory / objects / in flight)"));
        }
        for (Object o : guests) {
            Map<?, ?> g = map(o);
            Map<?, ?> q = map(g.get("quotas"));
            boolean on = Boolean.TRUE.equals(g.get("connected"));
            sb.append(String.format("  %-16s %-9s %8s %8s %10s %12s %10s %10s   %s / %s / %s%n", cut(g.get("name"), 16),
                    on ? "yes " + g.get("lanes_busy") + "/" + g.get("lanes") : "no", g.get("sessions"), on ? g.get("pid") : "-", size(g.get("device_memory_bytes")),
                    g.get("objects"), g.get("commands_in_flight"), g.get("calls"), size(q.get("device_memory_bytes")),
                    q.get("objects"), q.get("commands_in_flight")));
        }
        boolean header = false;
        for (Object o : guests) {
            Map<?, ?> g = map(o);
            for (Object so : list(g.get("scheduling"))) {
                Map<?, ?> sc = map(so);
                if (!header) {
                    sb.append(String.format("%nscheduling (per guest and device)%n  %-16s %-12s %12s %12s %10s %10s "
                            + "%10s %8s %s%n", "name", "class/weight", "device ms", "budget left", "wait p50",
                            "wait p99", "wait max", "misses", "flags"));
                    header = true;
                }
                long budget = sc.get("budget_left_ns") instanceof Long b ? b : -1;
                sb.append(String.format("  %-16s %-12s %12.1f %12s %10s %10s %10s %8s %s%n", cut(g.get("name"), 16),
                        g.get("class") + "/" + g.get("weight"), nanos(sc.get("device_time_ns")) / 1e6,
                        budget < 0 ? "-" : String.format("%.2f ms", budget / 1e6), micros(sc.get("queue_wait_ns_p50")),
                        micros(sc.get("queue_wait_ns_p99")), micros(sc.get("queue_wait_ns_max")),
                        sc.get("deadline_misses"), Boolean.TRUE.equals(sc.get("flagged"))
                                ? "OVERRUN x" + sc.get("overruns") : ""));
            }
        }
        return sb.toString();
    }

    private static double nanos(Object o) {
        return o instanceof Number n ? n.doubleValue() : 0;
    }

    private static String micros(Object o) {
        return String.format("%.1f us", nanos(o) / 1e3);
    }

    private static Map<?, ?> map(Object o) {
        return o instanceof Map<?, ?> m ? m : Map.of();
    }

    private static List<?> list(Object o) {
        return o instanceof List<?> l ? l : List.of();
    }

    private static String cut(Object o, int n) {
        String s = String.valueOf(o);
        return s.length() > n ? s.substring(0, n - 1) + "…" : s;
    }

    private static String size(Object o) {
        if (!(o instanceof Long b)) {
            return String.valueOf(o);
        }
        if (b >= 1L << 30) {
            return String.format("%.1f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format("%.1f MiB", b / (double) (1L << 20));
        }
        if (b >= 1L << 10) {
            return String.format("%.1f KiB", b / 1024.0);
        }
        return b + " B";
    }
}
