package io.ferry.cli;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.config.ConfigUnits;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.net.tls.CertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./ferry guest add|remove|reset|revoke NAME}: provision guests in the host config; a host running on the
 * config's admin socket applies the change at once (it reloads its config), else the change applies at its next
 * start. {@code add --tls} also issues the guest a TLS client certificate and writes its bundle, {@code revoke} (and
 * {@code remove}) revokes its certificates ({@link GuestTls}).
 */
@Command(name = "guest", mixinStandardHelpOptions = true, description = "Provision guests in the host config; a "
        + "running host applies the change at once.",
        subcommands = {GuestCommand.Add.class, GuestCommand.Remove.class, GuestCommand.Reset.class,
                GuestCommand.Revoke.class})
final class GuestCommand {

    @Command(name = "add", mixinStandardHelpOptions = true, description = {
            "Add a guest with a fresh secret. A host running on the config's admin socket creates its region at once "
                    + "(else at its next start) and checks the secret at every handshake; re-provisioning changes it, "
                    + "so a stale region is refused.",
            "With --tls, also issue the guest a TLS client certificate for ferry+tls:// connections and write its "
                    + "bundle (ca.pem, guest.pem, guest.key); on a guest already added, --tls only issues a new "
                    + "certificate (the old ones stay valid until revoked)."})
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
        @Option(names = "--overrun-limit", defaultValue = "2s", paramLabel = "DURATION|off",
                description = "how long one device command (a kernel, a copy) may run before the host's watchdog stops "
                        + "it and the guest's device worker with it: 500ms, 30s, ..., or off; default ${DEFAULT-VALUE} "
                        + "(batch and HPC guests with long kernels want more)")
        String overrunLimit;
        @Option(names = "--lanes", defaultValue = "1", paramLabel = "N|auto", description = "sessions the guest may "
                + "hold at once, one per process: 1 to 16, or auto (up to 4 as the region holds); default ${DEFAULT-VALUE};"
                + " the heap and the quotas are split evenly between them")
        String lanes;
        @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;
        @Option(names = "--tls", description = "also issue a TLS client certificate and write the guest's bundle")
        boolean tls;
        @Option(names = "--tls-days", paramLabel = "N",
                description = "with --tls: days the certificate is valid (default 365)")
        Integer tlsDays;
        @Option(names = "--bundle", paramLabel = "DIR",
                description = "with --tls: where to write the bundle (default ./ferry-tls-NAME)")
        Path bundle;
        @Option(names = "--tls-dir", paramLabel = "DIR", description = "the host's certificate authority "
                + "(default: $FERRY_TLS_DIR or /var/lib/ferry/tls; created on first use)")
        Path tlsDir;

        @Override
        public Integer call() throws Exception {
            Path file = HostCommand.configPath(config);
            HostConfig cfg = Files.exists(file) ? HostConfig.load(file)
                    : new HostConfig(HostConfig.DEFAULT_REGION_DIR, false, List.of(), List.of());
            if (!tls && (tlsDays != null || bundle != null || tlsDir != null)) {
                System.err.println("ferry guest add: --tls-days, --bundle and --tls-dir go with --tls");
                return 2;
            }
            int days = tlsDays == null ? CertificateAuthority.DEFAULT_GUEST_DAYS : tlsDays;
            if (cfg.guest(name) != null && tls) {
                return GuestTls.issue(name, days, bundle, GuestTls.dir(tlsDir), System.out, System.err);
            }
            if (cfg.guest(name) != null) {
                System.err.println("ferry guest add: guest '" + name + "' is already in " + file
                        + " (remove it first to re-provision; --tls issues it a new TLS certificate)");
                return 2;
            }
            List<HostConfig.GuestConfig> guests = new ArrayList<>(cfg.guests());
            guests.add(new HostConfig.GuestConfig(name, ConfigUnits.parseSize(regionSize, "--region-size"),
                    HostConfig.newSecret(), schedClass, weight, new LinkedHashSet<>(services),
                    new Quotas(ConfigUnits.parseSize(deviceMemory, "--device-memory"), objects, commandsInFlight,
                            oneWayOutstanding), null, ConfigUnits.parseLimit(overrunLimit, "--overrun-limit"))
                    .withLanes(lanes(lanes)));
            HostConfig next = cfg.withGuests(guests);
            HostConfig.parse(next.toYaml(), file.toString()); // the same checks the host will make
            next.save(file);
            System.out.println("added guest " + name + " to " + file);
            int applied = apply(next.adminSocket(), name, "added");
            System.out.println("secret of " + name + ": " + java.util.Base64.getEncoder().encodeToString(
                    next.guest(name).secret()) + " (give it to the guest as FERRY_SECRET, or in a file named by "
                    + "FERRY_SECRET_FILE)");
            int issued = tls ? GuestTls.issue(name, days, bundle, GuestTls.dir(tlsDir), System.out, System.err) : 0;
            return applied != 0 ? applied : issued;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a guest; a host running on the "
            + "config's admin socket ends its sessions and removes its region at once. Its TLS certificates, if any "
            + "were issued, are revoked.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = {"-c", "--config"}, description = "config file (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;
        @Option(names = "--tls-dir", paramLabel = "DIR", description = "the host's certificate authority "
                + "(default: $FERRY_TLS_DIR or /var/lib/ferry/tls)")
        Path tlsDir;

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
            System.out.println("removed guest " + name + " from " + file);
            int revoked = GuestTls.revoke(name, GuestTls.dir(tlsDir), true, System.out, System.err);
            int applied = apply(cfg.adminSocket(), name, "removed");
            return applied != 0 ? applied : revoked;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = {"Revoke every TLS certificate issued "
            + "to a guest (tls/revoked.txt): a running host refuses them from its next connection, without a restart. "
            + "The guest stays configured; 'ferry guest add NAME --tls' issues it a new certificate."})
    static final class Revoke implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = "--tls-dir", paramLabel = "DIR", description = "the host's certificate authority "
                + "(default: $FERRY_TLS_DIR or /var/lib/ferry/tls)")
        Path tlsDir;

        @Override
        public Integer call() {
            return GuestTls.revoke(name, GuestTls.dir(tlsDir), false, System.out, System.err);
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true, description = {"Reset a guest's region on the running "
            + "host: its sessions end, its header and rings are written afresh with a new epoch (same memory: a VM "
            + "keeps its mapping), and a fresh client connects even if the guest overwrote its whole region."})
    static final class Reset implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = {"-c", "--config"}, description = "config file: the host on its adminSocket is asked "
                + "(default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;

        @Override
        public Integer call() throws Exception {
            Path file = HostCommand.configPath(config);
            Path admin = HostConfig.load(file).adminSocket();
            String reply;
            try {
                reply = StatusCommand.ask(admin, "reset " + name);
            } catch (java.io.IOException e) {
                System.err.println("ferry guest reset: no host is running on " + admin + " (the adminSocket of "
                        + file + "): nothing to reset");
                return 1;
            }
            Map<?, ?> doc = reply(reply, "guest reset");
            if (doc == null) {
                return 1;
            }
            System.out.println("guest " + name + " reset: its sessions ended; its region was re-initialised in place "
                    + "(header, rings, a new epoch); its clients connect again");
            return 0;
        }
    }

    /**
     * Asks the host on {@code admin} to reload its config and prints what changed; says so when no host runs there.
     * Returns the exit code: 0 when applied (or no host runs), 1 when the host refused or failed to apply
     * {@code name}.
     */
    static int apply(Path admin, String name, String what) {
        String reply;
        try {
            reply = StatusCommand.ask(admin, "reload");
        } catch (java.io.IOException e) {
            System.out.println("config updated; no host is running on " + admin + ": the change applies at its next "
                    + "start");
            return 0;
        }
        Map<?, ?> doc = reply(reply, what.equals("added") ? "guest add" : "guest remove");
        if (doc == null) {
            return 1;
        }
        Map<?, ?> regions = doc.get("regions") instanceof Map<?, ?> m ? m : Map.of();
        boolean mine = false;
        for (String key : List.of("added", "removed", "changed")) {
            for (Object g : doc.get(key) instanceof List<?> l ? l : List.of()) {
                mine |= name.equals(g);
                String verb = key.equals("changed") ? "changed: restarted" : key;
                Object region = regions.get(g);
                System.out.println("guest " + g + " " + verb + (region != null ? ": region " + region + "; serving"
                        : key.equals("removed") ? ": its sessions ended, its region is gone" : ""));
            }
        }
        for (Object err : doc.get("errors") instanceof List<?> l ? l : List.of()) {
            System.err.println("ferry guest: the host could not apply it: " + err);
            mine = false;
        }
        for (Object setting : doc.get("restart_needed") instanceof List<?> l ? l : List.of()) {
            System.out.println("note: '" + setting + "' differs from what the host runs with; it applies at the "
                    + "host's next start");
        }
        if (!mine) {
            System.err.println("ferry guest: the host on " + admin + " reloaded its config but guest " + name
                    + " was not " + what + " there: it was started with another config file (a reload reads the "
                    + "file the host was started with) or could not apply it (see above)");
            return 1;
        }
        return 0;
    }

    /** The host's reply as a map, or null after printing why it is an error. */
    private static Map<?, ?> reply(String text, String what) {
        Object doc;
        try {
            doc = io.ferry.host.admin.StatusJson.parse(text);
        } catch (IllegalArgumentException e) {
            System.err.println("ferry " + what + ": the host answered something unexpected: " + e.getMessage());
            return null;
        }
        if (!(doc instanceof Map<?, ?> m)) {
            System.err.println("ferry " + what + ": the host answered something unexpected: " + text);
            return null;
        }
        if (m.containsKey("error")) {
            System.err.println("ferry " + what + ": the host refused: " + m.get("error"));
            return null;
        }
        return m;
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
