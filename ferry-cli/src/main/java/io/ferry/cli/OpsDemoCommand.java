package io.ferry.cli;

import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ferry ops-demo}: operating a host as a person would, in numbered steps: (1) start a host process with
 * metrics on, (2) add two guests to it live with {@code ferry guest add}, (3) run workloads from guest processes,
 * (4) restart the host under them (SIGTERM, start again on the same config), (5) the same guest processes verify
 * again, (6) reset one guest's region with {@code ferry guest reset} and it verifies again, (7) the dashboard's URL
 * and a screenshot of it (headless Chromium, where installed). Every check prints one line, verified or FAILED; a
 * part of Ferry this build lacks prints "not available: ..." and counts as failed. The last line is
 * {@code ops-demo: N verified, M failed}; the exit status is 1 when anything failed.
 */
@Command(name = "ops-demo", mixinStandardHelpOptions = true,
        description = {"Operate a host as a person would: start it with metrics on, add two guests live, run "
                + "workloads, restart the host under them, see them go on, reset one, show the dashboard.",
                "Last line: ops-demo: N verified, M failed."})
final class OpsDemoCommand implements Callable<Integer> {
    static final List<String> GUESTS = List.of("alice", "bob");

    @Option(names = "--workloads", split = ",", defaultValue = "vadd,reduce", paramLabel = "LIST",
            description = "workloads each guest runs per round (default ${DEFAULT-VALUE}; all: vadd,matmul,reduce,filter)")
    List<String> workloads;

    @Option(names = "--screenshot", paramLabel = "FILE",
            description = "where to save the dashboard's picture (default: target/ops-demo-dashboard.png)")
    Path screenshot;

    private PrintStream out;
    private int verified;
    private int failed;

    @Override
    public Integer call() throws Exception {
        out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        for (String w : workloads) {
            io.ferry.cli.workload.Workloads.byName(w); // an unknown name fails here, before anything starts
        }
        Path dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-ops-demo-");
        Path config = dir.resolve("ferry.yaml");
        OpsChildren.Host host = null;
        Map<String, OpsChildren.Guest> guests = new LinkedHashMap<>();
        try {
            int port = OpsChildren.freePort();
            String base = "http://127.0.0.1:" + port;
            out.println("1. Start a host with metrics on (config " + config + ")");
            boolean metrics = writeConfig(config, dir.resolve("regions"), port);
            HostConfig cfg = HostConfig.load(config);
            host = startHost(config, cfg.adminSocket(), "host");
            if (host == null) {
                return finish();
            }
            if (metrics) {
                OpsChildren.Http m = OpsChildren.get(base + "/metrics");
                for (int i = 0; i < 50 && m.status() != 200; i++) { // the listener opens just after the admin socket
                    Thread.sleep(100);
                    m = OpsChildren.get(base + "/metrics");
                }
                check(m.status() == 200, "metrics served at " + base + "/metrics",
                        "not available: " + base + "/metrics answered " + describe(m));
            }

            out.println();
            out.println("2. Add two guests live: ferry guest add NAME (the host is running)");
            for (String g : GUESTS) {
                OpsChildren.Result r = OpsChildren.run("guest", "add", g, "--region-size", "32MiB", "--config",
                        config.toString());
                indent(r.output(), "   $ ferry guest add " + g + " --region-size 32MiB --config " + config);
                if (r.exit() != 0) {
                    fail("ferry guest add " + g + " exited with " + r.exit());
                    continue;
                }
                boolean live = waitFor(() -> OpsChildren.guestNames(OpsChildren.status(cfg.adminSocket())).contains(g),
                        10);
                check(live, "the running host serves guest " + g + " (in its status)",
                        "not available: live guest add: the running host does not list " + g + " after 10 s "
                                + "(it only picks guests up when it starts)");
            }

            out.println();
            out.println("3. Run workloads (" + String.join(", ", workloads) + ") from one guest process each");
            HostConfig provisioned = HostConfig.load(config);
            for (String g : GUESTS) {
                HostConfig.GuestConfig gc = provisioned.guest(g);
                if (gc == null || gc.secret() == null) {
                    fail("guest " + g + " is not in " + config + ": no process started for it");
                    continue;
                }
                OpsChildren.Guest p = new OpsChildren.Guest(g, provisioned.guestSocket(), gc.secret(), workloads);
                out.println("   guest " + g + ": process " + p.process.pid());
                guests.put(g, p);
            }
            rounds(guests.values());

            out.println();
            out.println("4. Restart the host under them: SIGTERM, then ferry host on the same config");
            int exit = host.stop();
            check(exit == 0, "the host stopped cleanly on SIGTERM (exit 0)",
                    "the host exited with " + exit + " on SIGTERM, not 0");
            host = startHost(config, cfg.adminSocket(), "host, again,");
            if (host == null) {
                return finish();
            }
            // its admin socket answers first (the single-instance lock), its guests start right after
            boolean again = waitFor(() -> OpsChildren.guestNames(OpsChildren.status(cfg.adminSocket()))
                    .containsAll(guests.keySet()), 60);
            check(again, "the restarted host serves " + String.join(" and ", guests.keySet())
                    + " again (from the config)", "the restarted host serves "
                    + OpsChildren.guestNames(OpsChildren.status(cfg.adminSocket())) + " after 60 s, not "
                    + guests.keySet());

            out.println();
            out.println("5. The same guest processes go on: another round each ("
                    + guests.values().stream().map(g -> g.name + " " + g.process.pid()).toList() + ")");
            rounds(guests.values());

            out.println();
            String reset = GUESTS.getFirst();
            out.println("6. Reset " + reset + "'s region: ferry guest reset " + reset);
            OpsChildren.Result r = OpsChildren.run("guest", "reset", reset, "--config", config.toString());
            indent(r.output(), "   $ ferry guest reset " + reset + " --config " + config);
            if (r.exit() != 0 && r.output().contains("Unmatched argument")) {
                fail("not available: ferry guest reset (this build's CLI has no such command)");
            } else if (check(r.exit() == 0, "ferry guest reset " + reset + " done",
                    "ferry guest reset " + reset + " exited with " + r.exit()) && guests.containsKey(reset)) {
                rounds(List.of(guests.get(reset)));
            }

            out.println();
            out.println("7. The dashboard, captured while both guests run another round");
            List<OpsChildren.Guest> running = ask(guests.values());
            dashboard(base);
            collect(running);
        } finally {
            for (OpsChildren.Guest g : guests.values()) {
                g.quit();
            }
            if (host != null && host.process.isAlive()) {
                host.stop();
            }
            deleteQuietly(dir);
        }
        return finish();
    }

    /** Writes the config: no guests yet, metrics on loopback; false when this build's config has no metrics. */
    private boolean writeConfig(Path config, Path regions, int port) throws IOException {
        String yaml = new HostConfig(regions, false, List.of(), List.of()).toYaml();
        String withMetrics = yaml + (yaml.endsWith("\n") ? "" : "\n") + "metrics:\n  listen: 127.0.0.1:" + port + "\n";
        try {
            HostConfig.parse(withMetrics, config.toString());
            Files.writeString(config, withMetrics);
            out.println("   metrics: {listen: 127.0.0.1:" + port + "}");
            return true;
        } catch (HostConfig.ConfigException e) {
            fail("not available: metrics (this build's config refuses it: " + e.getMessage() + ")");
            Files.writeString(config, yaml);
            return false;
        }
    }

    /** Starts a host and waits until its admin socket answers; null (after saying why) when it does not. */
    private OpsChildren.Host startHost(Path config, Path admin, String what) throws Exception {
        OpsChildren.Host h = new OpsChildren.Host(config);
        boolean up = waitFor(() -> !h.process.isAlive() || OpsChildren.status(admin) != null, 120);
        if (up && h.process.isAlive()) {
            verified("the " + what + " runs as process " + h.process.pid() + " and answers on " + admin);
            return h;
        }
        h.process.waitFor(5, TimeUnit.SECONDS);
        fail("the " + what + " did not come up" + (h.process.isAlive() ? " within 120 s"
                : " (it exited with " + h.process.exitValue() + ")") + "; its last output:");
        indent(h.tail(), null);
        if (h.process.isAlive()) {
            h.stop();
        }
        return null;
    }

    /** One round on each guest: "run", then its RESULT lines until ROUND (or its end). */
    private void rounds(Iterable<OpsChildren.Guest> gs) throws InterruptedException {
        collect(ask(gs));
    }

    /** Sends "run" to each guest; the ones that took it. */
    private List<OpsChildren.Guest> ask(Iterable<OpsChildren.Guest> gs) {
        List<OpsChildren.Guest> asked = new ArrayList<>();
        for (OpsChildren.Guest g : gs) {
            if (g.process.isAlive() && g.send("run")) {
                asked.add(g);
            } else {
                fail("guest " + g.name + ": its process ended" + exitOf(g));
                drain(g);
            }
        }
        return asked;
    }

    /** Each asked guest's RESULT lines until its ROUND line (or its end). */
    private void collect(List<OpsChildren.Guest> asked) throws InterruptedException {
        for (OpsChildren.Guest g : asked) {
            int results = 0;
            while (true) {
                String line = g.next(300);
                if (line == null) {
                    fail("guest " + g.name + ": no result within 5 minutes");
                    break;
                }
                if (line.equals(OpsChildren.EOF)) {
                    g.process.waitFor(10, TimeUnit.SECONDS);
                    fail("guest " + g.name + ": its process ended" + exitOf(g));
                    break;
                }
                String[] f = line.split("\t", -1);
                if (f[0].equals("RESULT") && f.length >= 10) {
                    results++;
                    String what = String.format(Locale.ROOT, "%-6s %-7s %-12s %9s ms on %s", g.name, f[2], f[3],
                            f[5], f[4]);
                    check(Boolean.parseBoolean(f[8]), what, what + ": " + f[9]);
                } else if (f[0].equals("ROUND")) {
                    if (results == 0) {
                        fail("guest " + g.name + ": a round with no result");
                    }
                    break;
                } else if (f[0].equals("NOTE")) {
                    out.println("   note: " + g.name + ": " + line.substring(5));
                } else if (f[0].equals("CONNECTED")) {
                    out.println("   guest " + g.name + ": connected");
                } else {
                    out.println("   [" + g.name + "] " + line);
                }
            }
        }
    }

    private static String exitOf(OpsChildren.Guest g) {
        return g.process.isAlive() ? "" : " (exit " + g.process.exitValue() + ")";
    }

    private void drain(OpsChildren.Guest g) {
        String line;
        while ((line = g.lines.poll()) != null && !line.equals(OpsChildren.EOF)) {
            out.println("   [" + g.name + "] " + line);
        }
    }

    private void dashboard(String base) throws Exception {
        OpsChildren.Http page = OpsChildren.get(base + "/");
        OpsChildren.Http api = OpsChildren.get(base + "/api/status");
        out.println("   dashboard: " + base + "/");
        check(page.status() == 200 && page.body().toLowerCase(Locale.ROOT).contains("<html"),
                "the dashboard page is served at " + base + "/",
                "not available: the dashboard: " + base + "/ answered " + describe(page));
        check(api.status() == 200 && GUESTS.stream().allMatch(g -> api.body().contains("\"" + g + "\"")),
                "its JSON (" + base + "/api/status) lists " + String.join(" and ", GUESTS),
                "not available: " + base + "/api/status answered " + describe(api));
        Path chromium = OpsChildren.onPath("chromium", "chromium-browser");
        if (chromium == null) {
            out.println("   screenshot: skipped: no chromium on PATH (apt-get install -y chromium; the launcher "
                    + "installs it as root)");
            return;
        }
        if (page.status() != 200) {
            out.println("   screenshot: skipped: no page to take");
            return;
        }
        Path file = (screenshot != null ? screenshot : defaultScreenshot()).toAbsolutePath().normalize();
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Path profile = Files.createTempDirectory("ferry-ops-demo-chromium-");
        try {
            Process p = new ProcessBuilder(chromium.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile, "--hide-scrollbars",
                    "--virtual-time-budget=8000", "--window-size=1400,1000", "--screenshot=" + file, base + "/")
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            boolean ended = p.waitFor(2, TimeUnit.MINUTES);
            if (!ended) {
                p.destroyForcibly();
            }
            boolean ok = Files.isRegularFile(file) && Files.size(file) > 0;
            check(ok, "screenshot: " + file, "no screenshot from " + chromium + (ended ? " (exit " + p.exitValue()
                    + ")" : " (killed after 2 minutes)"));
            if (!ok) {
                indent(log, null);
            }
        } finally {
            deleteQuietly(profile);
        }
    }

    private static Path defaultScreenshot() {
        String home = System.getProperty("ferry.home");
        Path target = home != null ? Path.of(home, "ferry-cli", "target") : Path.of("target");
        return (Files.isDirectory(target) ? target : Path.of(".")).resolve("ops-demo-dashboard.png");
    }

    private int finish() {
        out.println();
        out.println("ops-demo: " + verified + " verified, " + failed + " failed");
        return failed == 0 && verified > 0 ? 0 : 1;
    }

    private boolean check(boolean ok, String good, String bad) {
        if (ok) {
            verified(good);
        } else {
            fail(bad);
        }
        return ok;
    }

    private void verified(String what) {
        verified++;
        out.println("   verified  " + what);
    }

    private void fail(String what) {
        failed++;
        out.println("   FAILED    " + what);
    }

    private void indent(String text, String header) {
        if (header != null) {
            out.println(header);
        }
        for (String line : text.strip().split("\n")) {
            if (!line.isBlank()) {
                out.println("     | " + line);
            }
        }
    }

    private static String describe(OpsChildren.Http h) {
        return h.status() < 0 ? "nothing (" + h.body() + ")" : "HTTP " + h.status();
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    /** Polls {@code c} every 100 ms for up to {@code seconds}; whether it held. */
    private static boolean waitFor(Condition c, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            if (c.holds()) {
                return true;
            }
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(100);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            System.err.println("ops-demo: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
