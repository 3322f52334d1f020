package io.ferry.cli;

import io.ferry.host.HostConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./ferry guest add|remove NAME}: edit the guest list of the host config. */
@Command(name = "guest", mixinStandardHelpOptions = true, description = "Provision guests in the host config.",
        subcommands = {GuestCommand.Add.class, GuestCommand.Remove.class})
final class GuestCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Add a guest (the host creates its region "
            + "when it starts).")
    static final class Add implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = "--region-size", defaultValue = "64MiB", description = "region size (default ${DEFAULT-VALUE})")
        String regionSize;
        @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;

        @Override
        public Integer call() throws Exception {
            Path file = HostCommand.configPath(config);
            HostConfig cfg = Files.exists(file) ? HostConfig.load(file)
                    : new HostConfig(HostConfig.DEFAULT_REGION_DIR, false, List.of(), List.of());
            if (cfg.guest(name) != null) {
                System.err.println("ferry guest add: guest '" + name + "' is already in " + file);
                return 2;
            }
            List<HostConfig.GuestConfig> guests = new ArrayList<>(cfg.guests());
            guests.add(new HostConfig.GuestConfig(name, HostConfig.parseSize(regionSize, "--region-size")));
            HostConfig next = new HostConfig(cfg.regionDir(), cfg.keepRegions(), cfg.deviceFilter(), guests);
            HostConfig.parse(next.toYaml(), file.toString()); // validates the name with the same rules as the host
            Files.writeString(file, next.toYaml());
            System.out.println("added guest " + name + " to " + file + " (restart the host to create its region)");
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
            Files.writeString(file, new HostConfig(cfg.regionDir(), cfg.keepRegions(), cfg.deviceFilter(), guests)
                    .toYaml());
            System.out.println("removed guest " + name + " from " + file);
            return 0;
        }
    }
}
