package io.ferry.host.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.ferry.host.config.HostConfig;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The host's HTTP listener for operators ({@code metrics: {listen: 127.0.0.1:9464}}, docs/metrics.md):
 * <ul>
 *   <li>{@code GET /metrics}: Prometheus text format of {@link FerryMetrics} (prometheus-metrics-* 1.10);</li>
 *   <li>{@code GET /api/status}: the admin socket's {@code StatusJson} document, {@code application/json};</li>
 *   <li>{@code GET /} and {@code GET /FILE}: the dashboard, files from the class path under
 *       {@value #STATIC_ROOT} ({@code index.html} for {@code /}), and {@code /vendor/echarts.min.js} from the
 *       ECharts webjar ({@link #VENDOR}); anything else is 404.</li>
 * </ul>
 * Only GET and HEAD (else 405). A path with {@code ..}, {@code .} or an empty segment, a backslash, a
 * percent-encoded slash or any character outside {@code [A-Za-z0-9._-/]} is refused (400) before anything is looked
 * up, so no request reaches a resource outside the dashboard's folder.
 *
 * <p><b>No client can hold it.</b> {@value #THREADS} threads serve every request; the JDK server closes a
 * connection that takes longer than {@value #REQUEST_SECONDS} s to send its request or
 * {@value #RESPONSE_SECONDS} s to take its reply, and keeps at most {@value #MAX_CONNECTIONS} connections open
 * (set as the {@code sun.net.httpserver.*} properties unless the JVM was started with them). Every reply is built
 * in memory first, from figures that are safe to read from any thread, so a reply never waits on a guest.
 *
 * <p><b>Loopback by default.</b> Guests on the machine's network (VMs on a bridge) could reach a listener on
 * another address: {@link #start} logs a SEVERE warning then. While bound to loopback it also answers only requests
 * whose {@code Host} is an IP address, {@code localhost} or the configured host (a web page that rebinds its DNS name
 * to 127.0.0.1 cannot read it through the operator's browser).
 */
public final class OpsServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** Where the dashboard's files are on the class path. */
    public static final String STATIC_ROOT = "io/ferry/host/dashboard/";
    /**
     * Third-party files the dashboard loads, by their path under the dashboard, served from their webjars on the
     * class path (ECharts: {@code org.webjars.npm:echarts}, whose version the parent pom's {@code echarts.version}
     * names; DashboardIT fails when this path and that version part).
     */
    static final Map<String, String> VENDOR = Map.of(
            "vendor/echarts.min.js", "META-INF/resources/webjars/echarts/5.3.1/dist/echarts.min.js");
    static final int THREADS = 4;
    static final int REQUEST_SECONDS = 10;
    static final int RESPONSE_SECONDS = 30;
    static final int MAX_CONNECTIONS = 64;
    private static final Pattern SAFE_PATH = Pattern.compile("(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+");
    private static final Map<String, String> TYPES = Map.ofEntries(
            Map.entry("html", "text/html; charset=utf-8"), Map.entry("js", "text/javascript; charset=utf-8"),
            Map.entry("mjs", "text/javascript; charset=utf-8"), Map.entry("css", "text/css; charset=utf-8"),
            Map.entry("json", "application/json"), Map.entry("map", "application/json"),
            Map.entry("svg", "image/svg+xml"), Map.entry("png", "image/png"), Map.entry("ico", "image/x-icon"),
            Map.entry("txt", "text/plain; charset=utf-8"), Map.entry("woff2", "font/woff2"));

    private final HttpServer server;
    private final ExecutorService pool;
    private final PrometheusRegistry registry;
    private final Supplier<String> status;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final boolean loopback;
    private final String configuredHost;

    private OpsServer(HttpServer server, ExecutorService pool, PrometheusRegistry registry, Supplier<String> status,
                      boolean loopback, String configuredHost) {
        this.server = server;
        this.pool = pool;
        this.registry = registry;
        this.status = status;
        this.loopback = loopback;
        this.configuredHost = configuredHost;
    }

    /**
     * Binds {@code cfg}'s address and serves {@code registry} at /metrics and {@code status} (a StatusJson
     * document) at /api/status.
     */
    public static OpsServer start(HostConfig.Metrics cfg, PrometheusRegistry registry, Supplier<String> status)
            throws IOException {
        limitConnections();
        InetAddress addr;
        try {
            addr = InetAddress.getByName(cfg.host());
        } catch (IOException e) {
            throw new IOException("metrics.listen: cannot resolve '" + cfg.host() + "' (" + e.getMessage()
                    + "); give an address such as 127.0.0.1:" + cfg.port(), e);
        }
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(addr, cfg.port()), 64);
        } catch (IOException e) {
            throw new IOException("metrics.listen: cannot listen on " + cfg.listen() + " (" + e.getMessage()
                    + "); another process may hold the port: pick another, or :0 for any free one", e);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS,
                r -> Thread.ofPlatform().name("ferry-http-" + n.incrementAndGet()).daemon(true).unstarted(r));
        OpsServer ops = new OpsServer(server, pool, registry, status, addr.isLoopbackAddress(), cfg.host());
        server.createContext("/", ops::handle);
        server.setExecutor(pool);
        server.start();
        InetSocketAddress bound = ops.address();
        if (!addr.isLoopbackAddress()) {
            LOG.severe("metrics listener on " + bound + " is NOT loopback: anything that reaches this address "
                    + "(VM guests on a bridged or NAT network included) can read every guest's figures. Bind "
                    + "127.0.0.1 and expose it through an SSH tunnel or a reverse proxy with authentication "
                    + "(docs/metrics.md, \"Exposing it safely\").");
        }
        LOG.info(() -> "metrics: http://" + hostText(bound) + "/metrics, status at /api/status, dashboard at /");
        return ops;
    }

    /** The bound address (the actual port where the config asked for 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** {@code HOST:PORT} of an address, IPv6 in brackets, as a URL needs it. */
    public static String hostText(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }

    /** The JDK server's limits, set once for the JVM unless given on its command line. */
    private static void limitConnections() {
        setIfAbsent("sun.net.httpserver.maxReqTime", REQUEST_SECONDS);
        setIfAbsent("sun.net.httpserver.maxRspTime", RESPONSE_SECONDS);
        setIfAbsent("sun.net.httpserver.maxConnections", MAX_CONNECTIONS);
        setIfAbsent("sun.net.httpserver.maxIdleConnections", MAX_CONNECTIONS / 2);
    }

    private static void setIfAbsent(String key, int value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, Integer.toString(value));
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            boolean head = method.equals("HEAD");
            if (!head && !method.equals("GET")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(ex, 405, "text/plain; charset=utf-8", text("only GET and HEAD\n"), false);
                return;
            }
            if (loopback && !hostAllowed(ex.getRequestHeaders().getFirst("Host"))) {
                reply(ex, 403, "text/plain; charset=utf-8", text("Host header not accepted: use http://127.0.0.1:"
                        + address().getPort() + "/ (or localhost); see docs/metrics.md\n"), head);
                return;
            }
            String raw = ex.getRequestURI().getRawPath();
            String path = ex.getRequestURI().getPath();
            if (raw == null || path == null || !SAFE_PATH.matcher(path).matches() && !path.equals("/")
                    || raw.toLowerCase(Locale.ROOT).contains("%2f") || raw.contains("%5c") || raw.contains("%5C")) {
                reply(ex, 400, "text/plain; charset=utf-8", text("bad path\n"), head);
                return;
            }
            switch (path) {
                case "/metrics" -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream(16 << 10);
                    writer.write(out, registry.scrape());
                    reply(ex, 200, writer.getContentType(), out.toByteArray(), head);
                }
                case "/api/status" -> reply(ex, 200, "application/json", text(status.get()), head);
                default -> {
                    byte[] body = resource(path.equals("/") ? "index.html" : path.substring(1));
                    if (body == null) {
                        reply(ex, 404, "text/plain; charset=utf-8", text("not found\n"), head);
                    } else {
                        reply(ex, 200, TYPES.get(extension(path.equals("/") ? "index.html" : path)), body, head);
                    }
                }
            }
        } catch (IOException e) {
            LOG.fine(() -> "metrics listener: a client went away: " + e);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "metrics listener: request failed", e);
        }
    }

    private boolean hostAllowed(String host) {
        if (host == null) {
            return true; // HTTP/1.0 clients (curl -0, some probes)
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            return h.indexOf(']') > 0; // an IPv6 literal
        }
        int colon = h.lastIndexOf(':');
        if (colon >= 0) {
            h = h.substring(0, colon);
        }
        return h.equals("localhost") || h.equals(configuredHost.toLowerCase(Locale.ROOT))
                || h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    }

    /** A dashboard file under {@link #STATIC_ROOT}, or null (unknown type, missing, a directory). */
    static byte[] resource(String rel) throws IOException {
        if (!TYPES.containsKey(extension(rel))) {
            return null;
        }
        URL url = OpsServer.class.getClassLoader().getResource(VENDOR.getOrDefault(rel, STATIC_ROOT + rel));
        if (url == null) {
            return null;
        }
        if (url.getProtocol().equals("file")) {
            try {
                if (!Files.isRegularFile(Path.of(url.toURI()))) {
                    return null;
                }
            } catch (URISyntaxException | IllegalArgumentException e) {
                return null;
            }
        }
        try (InputStream in = url.openStream()) {
            return in.readAllBytes();
        }
    }

    private static String extension(String path) {
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        return dot > slash ? path.substring(dot + 1).toLowerCase(Locale.ROOT) : "";
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void reply(HttpExchange ex, int code, String type, byte[] body, boolean head) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        if (head) {
            h.set("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
