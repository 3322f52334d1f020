package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.metrics.OpsServer;
import io.ferry.host.sched.SchedClass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser: Debian's {@code chromium}, driven by Selenium through {@code chromedriver}, loads
 * the page from a real host (real PoCL, metrics listener on an ephemeral loopback port) while two guests run
 * verified kernels; the guests must appear with device time, the chart must draw them, and the page must say
 * "host unreachable" once the host is gone. Saves {@code target/dashboard.png}; with
 * {@code -Dferry.updateDocsScreenshot=true} also {@code docs/img/dashboard.png} (the README's picture).
 *
 * <p>Needs {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} ({@code apt-get install chromium
 * chromium-driver}; {@code ./ferry test} installs them as root). Without them the test fails and says so, unless
 * {@code FERRY_SKIP_BROWSER=1} is set. Selenium Manager is never asked for anything: the driver is given by path
 * (and Surefire sets {@code SE_OFFLINE=true}).
 */
class DashboardIT {
    static final Path CHROMIUM = Path.of(System.getProperty("ferry.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("ferry.chromedriver", "/usr/bin/chromedriver"));
    static final Duration PATIENCE = Duration.ofSeconds(120);

    /** Iterates a linear congruential generator per element: device time in milliseconds, checkable exactly. */
    static final String LCG = """
            __kernel void lcg(__global uint* a, uint iters) {
                size_t i = get_global_id(0);
                uint x = a[i];
                for (uint k = 0; k < iters; k++) {
                    x = x * 1664525u + 1013904223u;
                }
                a[i] = x;
            }
            """;
    static final int ELEMENTS = 4096;
    static final int ITERS = 20_000;

    @Test
    void showsTwoWorkingGuestsWithDeviceTimeAndAChartThenThatTheHostIsUnreachable() throws Exception {
        requireBrowser();
        long t0 = System.nanoTime();
        var alice = new HostConfig.GuestConfig("alice", 16L << 20, null, SchedClass.CRITICAL, 4, Set.of("compute"),
                Quotas.DEFAULT, new HostConfig.Reservation(8_000_000, 16_666_667), 0).withLanes(1);
        var bob = new HostConfig.GuestConfig("bob", 16L << 20, null, SchedClass.NORMAL, 2, Set.of("compute"),
                Quotas.DEFAULT, null, 0).withLanes(1);
        Path dir = Hosts.newDir();
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(alice, bob))
                .withMetrics(new HostConfig.Metrics("127.0.0.1", 0));
        FerryHost host = FerryHost.start(cfg, Devices.discover(List.of()));
        List<Worker> workers = new ArrayList<>();
        WebDriver driver = null;
        try {
            workers.add(Worker.start(host, "alice", 20));
            workers.add(Worker.start(host, "bob", 40));
            awaitWork(workers); // the page opens on two working guests (PoCL builds the kernel first)
            String url = "http://" + OpsServer.hostText(host.metricsAddress()) + "/";
            System.out.println("DashboardIT: dashboard at " + url + " (guests at work after "
                    + Duration.ofNanos(System.nanoTime() - t0).toSeconds() + " s)");
            driver = browser();
            driver.get(url);
            WebDriverWait wait = new WebDriverWait(driver, PATIENCE, Duration.ofMillis(250));

            // Both guests in the table with device time, and a share drawn in the chart for each.
            wait.withMessage("both guests with device time > 0 in the guests table").until(d -> {
                Map<String, Long> t = deviceTimes(d);
                failIfWorkFailed(workers);
                return t.getOrDefault("alice", 0L) > 0 && t.getOrDefault("bob", 0L) > 0;
            });
            boolean docs = Boolean.getBoolean("ferry.updateDocsScreenshot");
            int points = docs ? 20 : 8; // the README's picture gets a chart across its width
            wait.withMessage("the chart drawing a share above 0 for both guests, over several polls").until(d -> {
                failIfWorkFailed(workers);
                return chartPointsAboveZero(d, "alice") >= points && chartPointsAboveZero(d, "bob") >= points;
            });
            JavascriptExecutor js = (JavascriptExecutor) driver;
            assertEquals("live", js.executeScript("return document.getElementById('conn').textContent"));
            assertEquals(Boolean.TRUE, js.executeScript(
                    "const c = document.querySelector('#chart canvas'); return c != null && c.width > 0 && c.height > 0"),
                    "ECharts drew on a canvas (vendor/echarts.min.js served from the jar)");
            assertEquals("critical", text(driver, "#guests tr[data-guest='alice'] td:nth-child(2)"));
            assertTrue(text(driver, "#guests tr[data-guest='alice'] td[data-col='budget']").contains("/"),
                    "alice has a reservation: budget left / budget");
            assertEquals("none", text(driver, "#guests tr[data-guest='bob'] td[data-col='budget']"));
            assertTrue(text(driver, "#devices tbody tr td.name").length() > 0, "the device is listed");
            assertEquals("2 / 2", text(driver, "#t-guests"));

            Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
            Files.createDirectories(shot.getParent());
            Files.write(shot, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            System.out.println("DashboardIT: screenshot " + shot + " (after "
                    + Duration.ofNanos(System.nanoTime() - t0).toSeconds() + " s)");
            if (docs) {
                Path docsDir = shot.getParent().getParent().getParent().resolve("docs");
                Path img = docsDir.resolve("img").resolve("dashboard.png");
                Files.createDirectories(img.getParent());
                Files.copy(shot, img, StandardCopyOption.REPLACE_EXISTING);
                System.out.println("DashboardIT: README screenshot updated: " + img);
            }

            for (Worker w : workers) {
                w.stop();
            }
            failIfWorkFailed(workers);
            for (Worker w : workers) {
                assertTrue(w.verified.get() > 0, w.guest + " verified at least one round");
            }

            // The host goes away: the page says so instead of showing old figures as if live.
            host.close();
            host = null;
            wait.withMessage("the 'host unreachable' banner after the host stopped").until(d -> Boolean.TRUE.equals(
                    ((JavascriptExecutor) d).executeScript("return !document.getElementById('unreachable').hidden")));
            assertEquals("host unreachable", js.executeScript("return document.getElementById('conn').textContent"));
        } finally {
            if (driver != null) {
                driver.quit();
            }
            for (Worker w : workers) {
                w.stop();
            }
            if (host != null) {
                host.close();
            }
            Hosts.deleteTree(dir);
        }
    }

    /** Fails with what to install when chromium or chromedriver is missing; FERRY_SKIP_BROWSER=1 skips instead. */
    static void requireBrowser() {
        List<String> missing = new ArrayList<>();
        for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(p)) {
                missing.add(p.toString());
            }
        }
        if (!missing.isEmpty() && "1".equals(System.getenv("FERRY_SKIP_BROWSER"))) {
            Assumptions.abort("FERRY_SKIP_BROWSER=1: the dashboard's browser test is skipped");
        }
        if (!missing.isEmpty()) {
            fail("the dashboard's browser test needs " + String.join(" and ", missing) + " (missing): install "
                    + "chromium chromium-driver (sudo apt-get install -y chromium chromium-driver; ./ferry test does "
                    + "it as root), or set FERRY_SKIP_BROWSER=1 to skip this test");
        }
    }

    /** Headless Debian chromium through the system's chromedriver; nothing downloaded, a fresh profile. */
    static WebDriver browser() throws IOException {
        Path profile = Files.createTempDirectory("ferry-chromium-");
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1400,860",
                "--hide-scrollbars", "--force-device-scale-factor=1");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        WebDriver d = new ChromeDriver(service, o);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Hosts.deleteTree(profile);
            } catch (IOException ignored) {
                // a temp directory left behind
            }
        }));
        return d;
    }

    /** Device time (ns) per guest, as the guests table shows it (its cells' data-value). */
    @SuppressWarnings("unchecked")
    static Map<String, Long> deviceTimes(WebDriver d) {
        Object r = ((JavascriptExecutor) d).executeScript("""
                const out = {};
                for (const tr of document.querySelectorAll('#guests tbody tr')) {
                  const c = tr.querySelector('td[data-col="device-time"]');
                  if (c) out[tr.dataset.guest] = Number(c.dataset.value);
                }
                return out;""");
        Map<String, Long> out = new java.util.HashMap<>();
        ((Map<String, Object>) r).forEach((k, v) -> out.put(k, ((Number) v).longValue()));
        return out;
    }

    /** Points above 0 the chart holds for {@code guest} (ECharts' own option, so what it draws). */
    static long chartPointsAboveZero(WebDriver d, String guest) {
        Object n = ((JavascriptExecutor) d).executeScript("""
                const c = window.ferryDashboard && window.ferryDashboard.chart;
                if (!c) return 0;
                const s = (c.getOption().series || []).find((x) => x.name === arguments[0]);
                return s ? s.data.filter((p) => p[1] != null && p[1] > 0).length : 0;""", guest);
        return ((Number) n).longValue();
    }

    static String text(WebDriver d, String css) {
        return d.findElement(org.openqa.selenium.By.cssSelector(css)).getText().trim();
    }

    /** Waits until every worker verified a round (or fails with a worker's failure, or after {@link #PATIENCE}). */
    static void awaitWork(List<Worker> workers) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (workers.stream().anyMatch(w -> w.verified.get() == 0)) {
            failIfWorkFailed(workers);
            if (System.nanoTime() > deadline) {
                fail("the guests verified no round within " + PATIENCE.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }

    static void failIfWorkFailed(List<Worker> workers) {
        for (Worker w : workers) {
            if (w.failure.get() != null) {
                throw new AssertionError("guest " + w.guest + "'s work failed", w.failure.get());
            }
        }
    }

    /**
     * One guest at work: a client of the host that launches {@link #LCG} over {@link #ELEMENTS} numbers, reads them
     * back and checks every one, then rests {@code restMillis} (so two guests leave the shared machine some room).
     */
    static final class Worker {
        final String guest;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong verified = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private Thread thread;

        private Worker(String guest) {
            this.guest = guest;
        }

        static Worker start(FerryHost host, String guest, long restMillis) {
            Worker w = new Worker(guest);
            Ferry ferry = Ferry.connect(host.guestSocket(), guest, host.secret(guest));
            w.thread = Thread.ofPlatform().name("dashboard-guest-" + guest).daemon(true).start(() -> {
                try (ferry; Context ctx = ferry.createContext(ferry.defaultDevice()); CommandQueue q = ctx.createQueue();
                     Program p = ctx.buildProgram(LCG); Kernel k = p.kernel("lcg");
                     DeviceBuffer b = ctx.createBuffer(4L * ELEMENTS)) {
                    int[] data = new int[ELEMENTS];
                    int[] back = new int[ELEMENTS];
                    int[] affine = affine(ITERS);
                    for (int round = 0; !w.stop.get(); round++) {
                        for (int i = 0; i < ELEMENTS; i++) {
                            data[i] = round * 7919 + i;
                        }
                        q.write(b, 0, data);
                        k.arg(0, b).arg(1, ITERS);
                        q.launch(k, NDRange.of(ELEMENTS));
                        q.read(b, 0, back).finish();
                        for (int i = 0; i < ELEMENTS; i++) {
                            int want = affine[0] * data[i] + affine[1];
                            if (back[i] != want) {
                                throw new AssertionError(guest + " round " + round + " element " + i + ": " + back[i]
                                        + ", expected " + want);
                            }
                        }
                        w.verified.incrementAndGet();
                        Thread.sleep(restMillis);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Throwable t) {
                    if (!w.stop.get()) {
                        w.failure.set(t);
                    }
                }
            });
            return w;
        }

        /** {A, C} such that {@code iters} steps of x = x * 1664525 + 1013904223 (mod 2^32) are x = A * x + C. */
        static int[] affine(int iters) {
            int a = 1;
            int c = 0;
            for (int k = 0; k < iters; k++) {
                a *= 1664525;
                c = c * 1664525 + 1013904223;
            }
            return new int[] {a, c};
        }

        void stop() throws InterruptedException {
            stop.set(true);
            if (thread != null) {
                thread.join(PATIENCE.toMillis());
            }
        }
    }
}
