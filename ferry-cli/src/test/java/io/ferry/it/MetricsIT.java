package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.host.FerryHost;
import io.ferry.host.admin.StatusJson;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} of a real host (real PoCL, device workers, two guests working in child processes), scraped over
 * HTTP and parsed by the Prometheus client's own parser: the official Python client's
 * {@code prometheus_client.parser} (Debian's python3-prometheus-client; {@code ./ferry test} installs it), run by
 * src/test/python/parse_metrics.py, which prints the families as JSON for the assertions here.
 */
class MetricsIT {
    private static final int ROUNDS = 5;
    private static final List<String> FAMILIES = List.of("ferry_device_seconds", "ferry_queue_wait_seconds",
            "ferry_deadline_misses", "ferry_overruns", "ferry_device_memory_bytes", "ferry_device_memory_quota_bytes",
            "ferry_objects", "ferry_objects_quota", "ferry_calls", "ferry_quota_refusals", "ferry_sessions",
            "ferry_sessions_active", "ferry_worker_restarts", "ferry_tee_invocations", "ferry_tee_denials");

    /** The parsed scrape: families by name. */
    record Scrape(Map<String, Map<String, Object>> families) {
        @SuppressWarnings("unchecked")
        double value(String sample, String... labels) {
            double sum = 0;
            boolean found = false;
            for (Map<String, Object> f : families.values()) {
                for (Object o : (List<Object>) f.get("samples")) {
                    Map<String, Object> s = (Map<String, Object>) o;
                    Map<String, Object> l = (Map<String, Object>) s.get("labels");
                    boolean match = s.get("name").equals(sample);
                    for (int i = 0; i + 1 < labels.length && match; i += 2) {
                        match = labels[i + 1].equals(l.get(labels[i]));
                    }
                    if (match) {
                        found = true;
                        sum += ((Number) s.get("value")).doubleValue();
                    }
                }
            }
            assertTrue(found, "no sample " + sample + " " + List.of(labels) + " in the scrape");
            return sum;
        }

        String type(String family) {
            Map<String, Object> f = families.get(family);
            assertNotNull(f, "family " + family + " missing; have " + families.keySet());
            return (String) f.get("type");
        }
    }

    @SuppressWarnings("unchecked")
    static Scrape scrape(InetSocketAddress at) throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + "/metrics"))
                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        Files.writeString(Path.of("target", "metrics-scrape.txt"), r.body()); // the last scrape, to look at
        Path python = Path.of("/usr/bin/python3");
        Process p = new ProcessBuilder(Files.isExecutable(python) ? python.toString() : "python3",
                Path.of("src", "test", "python", "parse_metrics.py").toString())
                .redirectError(ProcessBuilder.Redirect.PIPE).start();
        try (var in = p.getOutputStream()) {
            in.write(r.body().getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        if (p.exitValue() != 0) {
            fail(err.contains("No module named 'prometheus_client'")
                    ? "the Prometheus client's parser is missing: apt-get install -y python3-prometheus-client "
                    + "(./ferry test installs it when run as root)"
                    : "parse_metrics.py failed (" + p.exitValue() + "): " + err + "\nscrape:\n" + r.body());
        }
        Map<String, Map<String, Object>> families = new java.util.HashMap<>();
        for (Object f : (List<Object>) ((Map<String, Object>) StatusJson.parse(out)).get("families")) {
            Map<String, Object> m = (Map<String, Object>) f;
            families.put((String) m.get("name"), m);
        }
        return new Scrape(families);
    }

    private static Process guest(FerryHost host, String guest) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LaneGuestMain.class.getName(), host.guestSocket().toString(), guest,
                java.util.Base64.getEncoder().encodeToString(host.secret(guest)), Integer.toString(ROUNDS)));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static void await(Process p, BufferedReader out, String word) throws Exception {
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith(word) || line.startsWith("FAIL")) {
                assertTrue(line.startsWith(word), "guest " + p.pid() + ": " + line);
                return;
            }
        }
        fail("guest " + p.pid() + " ended before printing " + word);
    }

    @Test
    void twoWorkingGuestsShowInMetricsParsedByThePrometheusParser() throws Exception {
        Path dir = Hosts.newDir();
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alpha", 16L << 20).withLanes(1),
                new HostConfig.GuestConfig("beta", 16L << 20).withLanes(1),
                Hosts.guest("tight", null, new Quotas(1L << 20, 4096, 4096)).withLanes(1)))
                .withMetrics(new HostConfig.Metrics("127.0.0.1", 0));
        try (FerryHost host = FerryHost.start(cfg, Devices.discover(List.of()))) {
            InetSocketAddress at = host.metricsAddress();
            assertNotNull(at);
            Scrape before = scrape(at);
            assertEquals(0, before.value("ferry_sessions_total", "guest", "alpha"));

            Process a = guest(host, "alpha");
            Process b = guest(host, "beta");
            try {
                BufferedReader outA = new BufferedReader(new InputStreamReader(a.getInputStream()));
                BufferedReader outB = new BufferedReader(new InputStreamReader(b.getInputStream()));
                await(a, outA, "READY");
                await(b, outB, "READY");
                a.getOutputStream().write("GO\n".getBytes(StandardCharsets.UTF_8));
                a.getOutputStream().flush();
                b.getOutputStream().write("GO\n".getBytes(StandardCharsets.UTF_8));
                b.getOutputStream().flush();
                await(a, outA, "OK");
                await(b, outB, "OK");
                // a refusal by quota: a buffer over tight's 1 MiB of device memory
                try (Ferry ferry = Ferry.connect(host.guestSocket(), "tight", host.secret("tight"));
                     Context ctx = ferry.createContext(ferry.defaultDevice());
                     CommandQueue q = ctx.createQueue();
                     DeviceBuffer small = ctx.createBuffer(4096)) {
                    ctx.createBuffer(2L << 20);
                    FerryException e = assertThrows(FerryException.class, q::finish);
                    assertEquals(Status.QUOTA_EXCEEDED, e.status());
                }

                // the guests' sessions are open (their processes wait): their device workers' counts are live
                Scrape live = scrape(at);
                for (String family : FAMILIES) {
                    live.type(family);
                }
                assertEquals("counter", live.type("ferry_calls"));
                assertEquals("histogram", live.type("ferry_queue_wait_seconds"));
                assertEquals("gauge", live.type("ferry_objects"));
                for (String g : List.of("alpha", "beta")) {
                    assertTrue(live.value("ferry_device_seconds_total", "guest", g) > 0, g + " device time");
                    assertTrue(live.value("ferry_calls_total", "guest", g, "op", "LAUNCH", "status", "OK") >= ROUNDS,
                            g + " launches");
                    assertTrue(live.value("ferry_calls_total", "guest", g, "op", "BUFFER_WRITE", "status", "OK")
                            >= 2 * ROUNDS, g + " writes");
                    assertTrue(live.value("ferry_calls_total", "guest", g, "op", "FINISH", "status", "OK") >= ROUNDS,
                            g + " finishes");
                    assertTrue(live.value("ferry_calls_total", "guest", g, "op", "HELLO", "status", "OK") >= 1,
                            g + " hello (served by the host's session)");
                    assertEquals(1, live.value("ferry_sessions_total", "guest", g));
                    assertEquals(1, live.value("ferry_sessions_active", "guest", g));
                    assertTrue(live.value("ferry_device_memory_bytes", "guest", g) >= 3 * 4 * 16384, g + " buffers");
                    assertTrue(live.value("ferry_objects", "guest", g) > 0, g + " objects");
                    assertEquals(1L << 30, live.value("ferry_device_memory_quota_bytes", "guest", g));
                    assertTrue(live.value("ferry_queue_wait_seconds_count", "guest", g) >= 0);
                    assertEquals(0, live.value("ferry_worker_restarts_total", "guest", g));
                    assertEquals(0, live.value("ferry_overruns_total", "guest", g));
                }
                assertTrue(live.value("ferry_quota_refusals_total", "guest", "tight", "quota", "device_memory") >= 1);
                assertTrue(live.value("ferry_calls_total", "guest", "tight", "op", "BUFFER_CREATE",
                        "status", "QUOTA_EXCEEDED") >= 1);
                assertEquals(0, live.value("ferry_quota_refusals_total", "guest", "alpha", "quota", "objects"));

                // the sessions end: the device workers are gone, their counts stay with the guests
                a.getOutputStream().close();
                b.getOutputStream().close();
                assertTrue(a.waitFor(60, TimeUnit.SECONDS) && b.waitFor(60, TimeUnit.SECONDS));
                Scrape after = awaitSessionsEnded(at);
                for (String g : List.of("alpha", "beta")) {
                    assertTrue(after.value("ferry_calls_total", "guest", g, "op", "LAUNCH", "status", "OK")
                            >= live.value("ferry_calls_total", "guest", g, "op", "LAUNCH", "status", "OK"), g);
                    assertTrue(after.value("ferry_device_seconds_total", "guest", g)
                            >= live.value("ferry_device_seconds_total", "guest", g), g);
                    assertEquals(0, after.value("ferry_device_memory_bytes", "guest", g));
                }
            } finally {
                a.destroyForcibly().waitFor();
                b.destroyForcibly().waitFor();
            }
        } finally {
            Hosts.deleteTree(dir);
        }
    }

    /** Scrapes until no guest has a session open (the host ends a session once its process is gone). */
    private static Scrape awaitSessionsEnded(InetSocketAddress at) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Scrape s = scrape(at);
            if (s.value("ferry_sessions_active") == 0 || System.nanoTime() > deadline) {
                assertEquals(0, s.value("ferry_sessions_active"), "sessions still open");
                return s;
            }
            Thread.sleep(200);
        }
    }
}
