package io.ferry.cli;

import io.ferry.cli.workload.Workload;
import io.ferry.cli.workload.WorkloadResult;
import io.ferry.cli.workload.Workloads;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HostAddress;
import io.ferry.host.config.HostConfig;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./ferry example WORKLOAD --guest NAME}: be a guest of a running host, run an example workload (or all of
 * them) through it and verify each run against a Java reference. Exit status: 0 when every run verified, 1 when any
 * failed, 2 when the guest could not connect or the device was not found.
 *
 * <p>With {@code --report} each run also prints one line for programs (the demo reads these):
 * {@code RESULT<TAB>guest<TAB>workload<TAB>size<TAB>device<TAB>millis<TAB>buildMillis<TAB>maxRelError<TAB>verified
 * <TAB>detail}, tabs and line breaks inside fields replaced by spaces.
 */
@Command(name = "example", mixinStandardHelpOptions = true,
        description = "Run an example workload (vadd, matmul, reduce, filter, or all) as a guest of a running host "
                + "and verify it against a Java reference. Exit status 0 when every run verified, 1 otherwise, "
                + "2 when the guest cannot connect.")
public final class ExampleCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "WORKLOAD", description = "vadd, matmul, reduce, filter, or all")
    String workload;

    @Option(names = "--guest", required = true, paramLabel = "NAME", description = "the guest to connect as")
    String guest;

    @Option(names = "--repeat", defaultValue = "1", paramLabel = "N",
            description = "runs of each workload (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--host", paramLabel = "ADDRESS",
            description = HostFlag.DESCRIPTION + "the config's socket, else unix:/run/ferry/guest.sock)")
    String host;

    /** Before --host: the guest socket. Kept, hidden, so that scripts of earlier versions still work. */
    @Option(names = "--socket", paramLabel = "PATH", hidden = true)
    Path socket;

    /** Before --host: a region directory. Kept, hidden, so that scripts of earlier versions still work. */
    @Option(names = "--region-dir", paramLabel = "DIR", hidden = true)
    Path regionDir;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "host config to read the guest's secret and socket from when FERRY_SECRET and "
                    + "FERRY_SECRET_FILE are unset (default: $FERRY_CONFIG or ./ferry.yaml, where present)")
    Path config;

    @Option(names = "--device", paramLabel = "TEXT",
            description = "a device whose name contains TEXT or whose backend is TEXT (default: the host's first)")
    String device;

    @Option(names = "--report", description = "also print one tab-separated RESULT line per run for programs")
    boolean report;

    @Option(names = "--tee", description = "also store a secret in the host's TEE and read it back, and sign data in "
            + "the TEE and verify the signature (needs a host with a TEE service whose policy allows this guest)")
    boolean tee;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<Workload> selected = select();
        if (repeat < 1) {
            throw new ParameterException(spec.commandLine(), "--repeat must be at least 1, not " + repeat);
        }
        Ferry ferry;
        try {
            ferry = connect();
        } catch (FerryException | HostConfig.ConfigException e) {
            System.err.println("ferry example: cannot connect as guest '" + guest + "': " + e.getMessage());
            return 2;
        }
        try (ferry) {
            Device dev;
            try {
                dev = device != null ? ferry.device(device) : ferry.defaultDevice();
            } catch (FerryException e) {
                System.err.println("ferry example: " + e.getMessage());
                return 2;
            }
            // UTF-8 whatever the locale: sizes contain '×', and the demo decodes guest output as UTF-8.
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            boolean allVerified = true;
            for (int i = 0; i < repeat; i++) {
                for (Workload w : selected) {
                    WorkloadResult r = runOne(ferry, dev, w);
                    out.println(r.humanLine(guest));
                    if (report) {
                        out.println(r.reportLine(guest));
                    }
                    allVerified &= r.verified();
                }
            }
            if (tee) {
                for (DemoTee.Row row : DemoTee.run(ferry.teeTransport())) {
                    String what = row.step().contains(":") ? row.step().substring(0, row.step().indexOf(':'))
                            : row.step();
                    WorkloadResult r = new WorkloadResult("tee", what.replace("tee ", ""), "software TEE", Double.NaN,
                            Double.NaN, 0, row.ok(), row.step() + (row.ok() ? "" : ": " + row.detail()));
                    out.println(r.humanLine(guest));
                    if (report) {
                        out.println(r.reportLine(guest));
                    }
                    allVerified &= row.ok();
                }
            }
            return allVerified ? 0 : 1;
        }
    }

    /**
     * The host --host names (or the hidden --socket, --region-dir of earlier versions), else FERRY_HOST, else the
     * config's guest socket, else the default; over a socket, with the secret from FERRY_SECRET(_FILE) or else the
     * config.
     */
    private Ferry connect() {
        String env = System.getenv("FERRY_SECRET");
        String envFile = System.getenv("FERRY_SECRET_FILE");
        Path cfgFile = HostCommand.configPath(config);
        HostConfig cfg = null;
        if ((env == null || env.isBlank()) && (envFile == null || envFile.isBlank()) && Files.exists(cfgFile)) {
            try {
                cfg = HostConfig.load(cfgFile);
            } catch (java.io.IOException e) {
                throw new HostConfig.ConfigException("cannot read " + cfgFile + ": " + e.getMessage());
            }
        }
        HostAddress address = host != null ? HostAddress.parse(host, "--host")
                : socket != null ? new HostAddress.Socket(socket, "--socket (deprecated: use --host unix:PATH)")
                : regionDir != null ? new HostAddress.Region(regionDir, "--region-dir (deprecated: use --host file:DIR)")
                : HostAddress.fromEnvironment(System.getenv(), cfg != null
                        ? new HostAddress.Socket(cfg.guestSocket(), cfgFile.toString()) : HostAddress.DEFAULT);
        if (cfg == null || !(address instanceof HostAddress.Socket s)) {
            return Ferry.connect(address, guest);
        }
        HostConfig.GuestConfig g = cfg.guest(guest);
        if (g == null || g.secret() == null) {
            throw new HostConfig.ConfigException("no secret for guest '" + guest + "' in " + cfgFile
                    + ": add the guest (./ferry guest add " + guest + ") or set FERRY_SECRET or FERRY_SECRET_FILE");
        }
        return Ferry.connect(s.path(), guest, g.secret());
    }

    private List<Workload> select() {
        if (workload.equalsIgnoreCase("all")) {
            return Workloads.all();
        }
        try {
            return List.of(Workloads.byName(workload));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage() + ", all");
        }
    }

    /**
     * One run. Workloads turn FerryException into failed results themselves; anything else is a bug, reported here
     * as a failed run (with its stack trace on stderr) so the remaining runs and the report still happen.
     */
    private WorkloadResult runOne(Ferry ferry, Device dev, Workload w) {
        try {
            return w.run(ferry, dev);
        } catch (RuntimeException e) {
            System.err.println("ferry example: " + w.name() + " crashed:");
            e.printStackTrace();
            return WorkloadResult.failed(w.name(), w.size(), dev.name(), Double.NaN, Double.NaN,
                    "internal error: " + e);
        }
    }
}
