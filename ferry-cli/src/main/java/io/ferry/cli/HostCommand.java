package io.ferry.cli;

import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.host.tee.TeeBackends;
import io.ferry.tee.DevTee;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./ferry host}: the daemon in the foreground until SIGTERM or Ctrl-C. */
@Command(name = "host", mixinStandardHelpOptions = true,
        description = "Run the host daemon in the foreground (SIGTERM or Ctrl-C stops it cleanly).")
final class HostCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
    Path config;

    @Option(names = "--discard-regions", description = "remove every region when the host stops (by default they "
            + "are kept, so that guests and VMs reconnect to the next start; a removed guest's region goes anyway)")
    boolean discardRegions;

    @Override
    public Integer call() throws Exception {
        Path file = configPath(config);
        HostConfig cfg = HostConfig.load(file).withDiscardRegions(discardRegions);
        if (cfg.guests().isEmpty()) {
            System.err.println("ferry host: " + file + " lists no guests yet; ./ferry guest add NAME -c " + file
                    + " adds one to this host while it runs");
        }
        TeeServiceFactory tee = null;
        if (cfg.tee() != null) {
            tee = TeeBackends.start(DevTee.prepare(cfg.tee().dir(), 2).config().withCallLimitMillis(cfg.tee().callLimitMillis())
                            .withSandboxed(cfg.tee().sandboxed()),
                    "soft-tee", TeePolicy.load(cfg.tee().policy()));
            System.err.println("ferry host: software TEE from " + cfg.tee().dir() + ", policy " + cfg.tee().policy());
        }
        FerryHost host = FerryHost.start(cfg, file, Devices.discover(cfg.deviceFilter()), tee);
        reloadOnHangup(host, file);
        TeeServiceFactory teeToClose = tee;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            host.close();
            if (teeToClose != null) {
                teeToClose.close();
            }
        }, "ferry-shutdown"));
        // SIGTERM (systemd's stop) and SIGINT (Ctrl-C): stop cleanly, then return 0 from here. Left to the JVM,
        // a signal runs the shutdown hook and exits with 128+15, which systemd counts as a failure.
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                System.err.println("ferry host: SIG" + sig.getName() + ": stopping (regions kept"
                        + (discardRegions ? ", then removed: --discard-regions" : " for the next start") + ")");
                Thread.ofPlatform().name("ferry-stop").start(host::close);
            });
        }
        System.err.println("ferry host: serving " + cfg.guests().size() + " guest(s); guests get their regions on "
                + cfg.guestSocket() + " (file regions in " + cfg.regionDir() + "); stop with Ctrl-C or SIGTERM; "
                + "SIGHUP or ./ferry guest add|remove apply changes of " + file + " at once");
        if (host.metricsAddress() != null) {
            String url = "http://" + io.ferry.host.metrics.OpsServer.hostText(host.metricsAddress());
            System.err.println("ferry host: dashboard " + url + "/ , Prometheus metrics " + url + "/metrics, status "
                    + url + "/api/status (docs/metrics.md)");
        }
        host.awaitTermination(); // the TEE service is closed by the shutdown hook as the JVM exits
        System.err.println("ferry host: stopped cleanly");
        return 0;
    }

    /**
     * SIGHUP re-reads the config file and applies its guests (added, removed, changed ones restarted), as
     * {@code ./ferry guest add|remove} do through the admin socket; what changed goes to stderr and the log.
     */
    static void reloadOnHangup(FerryHost host, Path file) {
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> Thread.ofPlatform().name("ferry-sighup").start(() -> {
            try {
                System.err.println("ferry host: SIGHUP: reloaded " + file + ": " + host.reload().summary());
            } catch (Exception e) {
                System.err.println("ferry host: SIGHUP: reload of " + file + " refused, nothing changed: "
                        + e.getMessage());
            }
        }));
    }

    static Path configPath(Path given) {
        if (given != null) {
            return given;
        }
        String env = System.getenv("FERRY_CONFIG");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of("ferry.yaml");
    }
}
