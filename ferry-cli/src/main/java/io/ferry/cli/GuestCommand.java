package io.ferry.cli;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./ferry guest add|remove NAME}: provision guests in the host config. */
@Command(name = "guest", mixinStandardHelpOptions = true, description = "Provision guests in the host config.",
        subcommands = {GuestCommand.Add.class, GuestCommand.Remove.class})
final class GuestCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, description = {
            "Add a guest with a fresh secret. The host creates its region (mode 0600) when it starts and checks the "
                    + "secret at every handshake; re-provisioning changes it, so a stale region is refused."})
    static final class Add implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = "--region-size", defaultValue = "64MiB", description = "region size: header, rings and heap "
                + "(default ${DEFAULT-VALUE})")
        String regionSize;
        @Option(names = "--class", defaultValue = "NORMAL", description = "scheduling class: CRITICAL, HIGH, NORMAL, "
                + "BEST_EFFORT (default ${DEFAULT-VALUE})")
        SchedClass schedClass;
        @Option(names = "--weight", defaultValue = "1", description = "weight within the class (default ${DEFAULT-VALUE})")
        int weight;
        @Option(names = "--services", split = ",", defaultValue = "compute,tee",
                description = "allowed services (default ${DEFAULT-VALUE})")
        List<String> services;
        @Option(names = "--device-memory", defaultValue = "1GiB", description = "device memory quota (default ${DEFAULT-VALUE})")
        String deviceMemory;
        @Option(names = "--objects", defaultValue = "4096", description = "object quota (default ${DEFAULT-VALUE})")
        int objects;
        @Option(names = "--commands-in-flight", defaultValue = "4096",
                description = "device commands a session may hold, over all its queues, between finishes "
                        + "(default ${DEFAULT-VALUE})")
        int commandsInFlight;
        @Option(names = "--one-way-outstanding", defaultValue = "65536",
                description = "one-way calls a session may send between two synchronous calls (default ${DEFAULT-VALUE})")
        int oneWayOutstanding;
        @Option(names = "--lanes", defaultValue = "1", paramLabel = "N|auto", description = "sessions the guest may "
                + "hold at once, one per process: 1 to 16, or auto (up to 4 as the region holds); default ${DEFAULT-VALUE};"
                + " the heap and the quotas are split evenly between them")
        String lanes;
        @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;

        @Override
        public Integer call() throws Exception {
            Path file = HostCommand.configPath(config);
            HostConfig cfg = Files.exists(file) ? HostConfig.load(file)
                    : new HostConfig(HostConfig.DEFAULT_REGION_DIR, false, List.of(), List.of());
            if (cfg.guest(name) != null) {
                System.err.println("ferry guest add: guest '" + name + "' is already in " + file
                        + " (remove it first to re-provision)");
                return 2;
            }
            List<HostConfig.GuestConfig> guests = new ArrayList<>(cfg.guests());
            guests.add(new HostConfig.GuestConfig(name, HostConfig.parseSize(regionSize, "--region-size"),
                    HostConfig.newSecret(), schedClass, weight, new LinkedHashSet<>(services),
                    new Quotas(HostConfig.parseSize(deviceMemory, "--device-memory"), objects, commandsInFlight,
                            oneWayOutstanding)).withLanes(lanes(lanes)));
            HostConfig next = cfg.withGuests(guests);
            HostConfig.parse(next.toYaml(), file.toString()); // the same checks the host will make
            next.save(file);
            System.out.println("added guest " + name + " to " + file + " (restart the host to create its region)");
            System.out.println("secret of " + name + ": " + java.util.Base64.getEncoder().encodeToString(
                    next.guest(name).secret()) + " (give it to the guest as FERRY_SECRET, or in a file named by "
                    + "FERRY_SECRET_FILE)");
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a guest.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;

        @Override
        public Integer call() throws Exception {
            Path file = HostCommand.configPath(config);
            HostConfig cfg = HostConfig.load(file);
            if (cfg.guest(name) == null) {
                System.err.println("ferry guest remove: no guest '" + name + "' in " + file);
                return 2;
            }
            List<HostConfig.GuestConfig> guests = new ArrayList<>(cfg.guests());
            guests.removeIf(g -> g.name().equals(name));
            cfg.withGuests(guests).save(file);
            System.out.println("removed guest " + name + " from " + file + " (restart the host to drop its region)");
            return 0;
        }
    }

    /** {@code --lanes}: a number of lanes, or {@code auto}. */
    static int lanes(String text) {
        if ("auto".equalsIgnoreCase(text.strip())) {
            return HostConfig.LANES_AUTO;
        }
        try {
            int n = Integer.parseInt(text.strip());
            if (n >= 1 && n <= HostConfig.MAX_LANES) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new GuestCommand()),
                "--lanes " + text + ": give 1 to " + HostConfig.MAX_LANES + ", or auto");
    }
}
