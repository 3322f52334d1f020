package io.ferry.host.metrics;

import io.ferry.host.FerryHost;
import io.ferry.host.admin.StatusJson;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP listener's paths: /metrics, /api/status, the dashboard's files, and what it refuses. */
class OpsServerTest {
    Path dir;

    @BeforeEach
    void dir() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-ops-");
    }

    @AfterEach
    void clean() throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private FerryHost host(HostConfig.Metrics metrics) throws IOException {
        return FerryHost.start(new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 1L << 20))).withMetrics(metrics),
                Devices.of(List.of(), List.of()));
    }

    /** One request over a raw socket (so the path goes out exactly as written); returns status line and body. */
    static Reply request(InetSocketAddress at, String method, String path, String hostHeader) throws IOException {
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int end = all.indexOf("\r\n\r\n");
            String head = all.substring(0, end);
            return new Reply(Integer.parseInt(head.split(" ")[1]), head, all.substring(end + 4));
        }
    }

    record Reply(int code, String head, String body) {
        String header(String name) {
            for (String line : head.split("\r\n")) {
                int c = line.indexOf(':');
                if (c > 0 && line.substring(0, c).equalsIgnoreCase(name)) {
                    return line.substring(c + 1).trim();
                }
            }
            return null;
        }
    }

    static Reply get(InetSocketAddress at, String path) throws IOException {
        return request(at, "GET", path, "127.0.0.1:" + at.getPort());
    }

    static String askAdmin(Path socket) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            c.write(ByteBuffer.wrap("status\n".getBytes(StandardCharsets.UTF_8)));
            var out = new java.io.ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void offWithoutMetricsConfig() throws Exception {
        try (FerryHost host = host(null)) {
            assertNull(host.metricsAddress());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void apiStatusIsTheAdminSocketsDocument() throws Exception {
        try (FerryHost host = host(new HostConfig.Metrics("127.0.0.1", 0))) {
            InetSocketAddress at = host.metricsAddress();
            assertNotNull(at);
            assertTrue(at.getPort() > 0, "an ephemeral port was bound");
            Reply r = get(at, "/api/status");
            assertEquals(200, r.code());
            assertEquals("application/json", r.header("Content-Type"));
            Map<String, Object> http = (Map<String, Object>) StatusJson.parse(r.body());
            Map<String, Object> admin = (Map<String, Object>) StatusJson.parse(askAdmin(dir.resolve("admin.sock")));
            ((Map<String, Object>) http.get("host")).remove("uptime_s");
            ((Map<String, Object>) admin.get("host")).remove("uptime_s");
            assertEquals(admin, http);
            assertEquals("alice", ((Map<String, Object>) ((List<Object>) http.get("guests")).getFirst()).get("name"));
        }
    }

    @Test
    void metricsAndTheDashboardAreServed() throws Exception {
        try (FerryHost host = host(new HostConfig.Metrics("127.0.0.1", 0))) {
            InetSocketAddress at = host.metricsAddress();
            Reply m = get(at, "/metrics");
            assertEquals(200, m.code());
            assertTrue(m.header("Content-Type").startsWith("text/plain; version=0.0.4"), m.head());
            assertTrue(m.body().contains("ferry_sessions_total{guest=\"alice\"} 0"), m.body());
            assertTrue(m.body().contains("ferry_objects_quota{guest=\"alice\"}"), m.body());
            Reply index = get(at, "/");
            assertEquals(200, index.code());
            assertTrue(index.header("Content-Type").startsWith("text/html"), index.head());
            assertEquals(new String(OpsServer.resource("index.html"), StandardCharsets.UTF_8), index.body());
            assertEquals(index.body(), get(at, "/index.html").body());
            Reply head = request(at, "HEAD", "/metrics", "localhost:" + at.getPort());
            assertEquals(200, head.code());
            assertEquals("", head.body());
        }
    }

    @Test
    void unknownPathsTraversalOtherMethodsAndForeignHostsAreRefused() throws Exception {
        try (FerryHost host = host(new HostConfig.Metrics("127.0.0.1", 0))) {
            InetSocketAddress at = host.metricsAddress();
            assertEquals(404, get(at, "/nothing.html").code());
            assertEquals(404, get(at, "/metrics/x").code());
            assertEquals(404, get(at, "/FerryMetrics.class").code(), "no class files: unknown type");
            for (String bad : List.of("/../metrics/OpsServer.class", "/../../../../etc/passwd",
                    "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/index.html/..", "/./index.html",
                    "/a\\..\\b.html", "/..%5cindex.html")) {
                Reply r = get(at, bad);
                assertEquals(400, r.code(), bad + ": " + r.head());
                assertTrue(!r.body().contains("root:"), bad);
            }
            assertEquals(404, get(at, "//etc/passwd").code(), "read as authority etc, path /passwd: not a file");
            Reply post = request(at, "POST", "/metrics", "127.0.0.1");
            assertEquals(405, post.code());
            assertEquals("GET, HEAD", post.header("Allow"));
            assertEquals(403, request(at, "GET", "/api/status", "attacker.example:" + at.getPort()).code(),
                    "a DNS-rebound name is not answered on loopback");
            assertEquals(200, request(at, "GET", "/api/status", "[::1]:" + at.getPort()).code());
        }
    }

    @Test
    void clientsThatNeverFinishTheirRequestAreClosedAndOthersServed() throws Exception {
        try (FerryHost host = host(new HostConfig.Metrics("127.0.0.1", 0))) {
            InetSocketAddress at = host.metricsAddress();
            List<Socket> slow = new ArrayList<>();
            try {
                for (int i = 0; i < OpsServer.THREADS * 2; i++) {
                    Socket s = new Socket(at.getAddress(), at.getPort());
                    s.getOutputStream().write("GET /metr".getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                    slow.add(s);
                }
                // every serving thread is held by a slow client now: the server closes each at its request limit
                for (Socket s : slow) {
                    s.setSoTimeout(120_000);
                    try {
                        while (s.getInputStream().read() >= 0) {
                            // an answer (400) would do as well: the connection ends
                        }
                    } catch (java.net.SocketException reset) {
                        // closed by the server
                    }
                }
                assertEquals(200, get(at, "/api/status").code());
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aListenerBeyondLoopbackIsLoggedAsSevere() throws Exception {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("ferry.host");
        List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(h);
        try (OpsServer ops = OpsServer.start(new HostConfig.Metrics("0.0.0.0", 0),
                new io.prometheus.metrics.model.registry.PrometheusRegistry(), () -> "{}")) {
            assertTrue(records.stream().anyMatch(r -> r.getLevel() == java.util.logging.Level.SEVERE
                    && r.getMessage().contains("NOT loopback")), "a SEVERE warning names the risk");
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", ops.address().getPort());
            assertEquals(200, request(at, "GET", "/api/status", "ferry.example:" + at.getPort()).code(),
                    "bound beyond loopback on purpose: any Host is answered");
        } finally {
            log.removeHandler(h);
        }
    }

    @Test
    void listenIsParsedAndWrittenBack() {
        assertEquals(new HostConfig.Metrics("127.0.0.1", 9464), HostConfig.Metrics.parseListen(":9464", "t"));
        assertEquals(new HostConfig.Metrics("::1", 0), HostConfig.Metrics.parseListen("[::1]:0", "t"));
        assertEquals("[::1]:0", new HostConfig.Metrics("::1", 0).listen());
        assertThrows(HostConfig.ConfigException.class, () -> HostConfig.Metrics.parseListen("9464", "t"));
        assertThrows(HostConfig.ConfigException.class, () -> HostConfig.Metrics.parseListen("x:70000", "t"));
        HostConfig c = HostConfig.parse("metrics: {listen: ':0'}\n", "t");
        assertEquals(new HostConfig.Metrics("127.0.0.1", 0), c.metrics());
        assertEquals(c.metrics(), HostConfig.parse(c.toYaml(), "t").metrics());
        assertNull(HostConfig.parse("{}\n", "t").metrics());
        assertThrows(HostConfig.ConfigException.class, () -> HostConfig.parse("metrics: {port: 1}\n", "t"));
    }
}
