package io.ferry.cli;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;
import io.ferry.host.vfio.Assignments;
import io.ferry.host.vfio.PciFunction;
import io.ferry.host.vfio.PciScan;
import io.ferry.host.vfio.Sysfs;
import io.ferry.host.vfio.VfioAssigner;
import io.ferry.host.vfio.VfioException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry device list|assign|release}: the accelerators of this machine, and VFIO assignment of one (its whole
 * IOMMU group) to a VM beside API remoting. The library is {@link io.ferry.host.vfio}; docs/vfio.md.
 */
@Command(name = "device", mixinStandardHelpOptions = true,
        description = "List accelerators (PCI) and assign one to a VM by VFIO pass-through, or release it.",
        subcommands = {DeviceCommand.ListCmd.class, DeviceCommand.AssignCmd.class, DeviceCommand.ReleaseCmd.class})
final class DeviceCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** Where sysfs, the state file and the running host are; shared by the subcommands and vm-args. */
    static final class Where {
        @Option(names = "--state", paramLabel = "FILE", description = "the VFIO state file (default: "
                + "$FERRY_VFIO_STATE, else " + Assignments.DEFAULT + ")")
        Path state;

        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "the host's config file: ask its "
                + "adminSocket which devices it serves (default: $FERRY_CONFIG or ./ferry.yaml)")
        Path config;

        @Option(names = "--admin-socket", paramLabel = "PATH", description = "the running host's admin socket "
                + "(overrides -c)")
        Path adminSocket;

        /** For tests: the sysfs to act on (else FERRY_SYSFS, else /sys). */
        Sysfs sysfs;

        Sysfs sysfs() {
            return sysfs != null ? sysfs : Sysfs.fromEnvironment(System.getenv());
        }

        Path state() {
            return state != null ? state : Assignments.path(System.getenv());
        }

        HostConfig config() throws IOException {
            Path file = HostCommand.configPath(config);
            if (config == null && !Files.exists(file)) {
                return null;
            }
            return HostConfig.load(file);
        }

        Path socket() throws IOException {
            if (adminSocket != null) {
                return adminSocket;
            }
            HostConfig cfg = config();
            return cfg != null ? cfg.adminSocket() : HostConfig.defaultAdminSocket(HostConfig.DEFAULT_REGION_DIR);
        }

        /** How long a request that makes the host give a device up (its workers end) may take. */
        static final long HOST_TIMEOUT_S = 60;

        /**
         * Sends {@code request} to the running host and returns its reply document; null when no host answers.
         *
         * @throws IOException with the host's reason when it answers {@code {"error"}}, or says nothing in time
         */
        Map<?, ?> askHost(String request) throws IOException {
            Path socket = socket();
            var reply = new java.util.concurrent.CompletableFuture<String>();
            Thread.ofVirtual().start(() -> {
                try {
                    reply.complete(StatusCommand.ask(socket, request));
                } catch (IOException | RuntimeException e) {
                    reply.completeExceptionally(e);
                }
            });
            String text;
            try {
                text = reply.get(HOST_TIMEOUT_S, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IOException("the host at " + socket + " did not answer '" + request + "' within "
                        + HOST_TIMEOUT_S + " s");
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof StatusCommand.NoHostException) {
                    return null; // nothing listens: no host runs there (a failure after connecting is an error)
                }
                throw new IOException("asking the host at " + socket + ": " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while asking the host at " + socket);
            }
            Map<?, ?> doc;
            try {
                doc = map(StatusJson.parse(text));
            } catch (IllegalArgumentException e) {
                throw new IOException(socket + " answered '" + request + "' with something that is not JSON: "
                        + e.getMessage());
            }
            if (doc.get("error") != null) {
                throw new IOException(String.valueOf(doc.get("error")));
            }
            return doc;
        }

        /** Has the running host give up function {@code bdf} (assign's {@link VfioAssigner.HostRelease}). */
        void releaseFromHost(String bdf, List<String> guests, PrintStream out) throws IOException {
            Map<?, ?> done;
            try {
                done = askHost("release-device " + bdf);
            } catch (IOException e) {
                throw new VfioException("Ferry's host (admin socket " + socket() + ") serves " + bdf
                        + (guests.isEmpty() ? "" : " to guests " + String.join(", ", guests)) + " and would not give "
                        + "it up: " + e.getMessage() + ". No device was moved (the host is asked to serve it again); stop "
                        + "the host, assign, and start it again (docs/vfio.md)");
            }
            if (done == null) {
                return; // the host went away since its status: nothing serves the device now
            }
            out.println("Ferry's host stopped serving " + bdf + (guests.isEmpty() ? "" : " (guests " + String.join(
                    ", ", guests) + ": their device work on it ended with DEVICE_LOST)") + "; "
                    + done.get("workers_ended") + " device worker process(es) ended");
        }

        /**
         * The PCI functions the running host serves, with the guests that have used each; empty when no host answers.
         * A host that answers something else is an error: it cannot be told whether it holds the device.
         */
        Map<String, List<String>> served() throws IOException {
            Path socket = socket();
            String reply;
            try {
                reply = StatusCommand.ask(socket);
            } catch (StatusCommand.NoHostException e) {
                return Map.of(); // nothing listens: no host runs there
            } catch (IOException e) {
                throw new VfioException("the host on " + socket + " accepted the connection but its status failed ("
                        + e.getMessage() + "): it cannot be told whether it holds the device; nothing was changed");
            }
            return served(reply, socket);
        }

        /** The functions a host's status document names by PCI address, with the guests that used each. */
        static Map<String, List<String>> served(String reply, Path socket) throws IOException {
            Object doc;
            try {
                doc = StatusJson.parse(reply);
            } catch (IllegalArgumentException e) {
                throw new IOException(socket + " answered something that is not a host's status: " + e.getMessage());
            }
            Map<String, List<String>> out = new LinkedHashMap<>();
            Map<Object, String> byIndex = new LinkedHashMap<>();
            for (Object o : list(map(doc).get("devices"))) {
                Map<?, ?> d = map(o);
                if (d.get("pci_bus_id") instanceof String bus) {
                    out.put(bus, new ArrayList<>());
                    byIndex.put(d.get("index"), bus);
                }
            }
            for (Object o : list(map(doc).get("guests"))) {
                Map<?, ?> g = map(o);
                for (Object so : list(g.get("scheduling"))) {
                    String bus = byIndex.get(map(so).get("device"));
                    if (bus != null && !out.get(bus).contains(String.valueOf(g.get("name")))) {
                        out.get(bus).add(String.valueOf(g.get("name")));
                    }
                }
            }
            return out;
        }
    }

    /** An action whose argument errors (a bad address or VM name) become a one-line error, not a stack trace. */
    interface Action<T> {
        T run() throws IOException;
    }

    static <T> T checked(Action<T> action) throws IOException {
        try {
            return action.run();
        } catch (IllegalArgumentException e) {
            throw new VfioException(e.getMessage());
        }
    }

    static Map<?, ?> map(Object o) {
        return o instanceof Map<?, ?> m ? m : Map.of();
    }

    static List<?> list(Object o) {
        return o instanceof List<?> l ? l : List.of();
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the PCI functions of an accelerator "
            + "class: class, vendor:device, address, IOMMU group and its members, driver, NUMA node, whether Ferry's "
            + "host serves it (to which guests), whether it is assigned (to which VM). Read-only.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin
        Where where = new Where();

        @Option(names = "--json", description = "print JSON")
        boolean json;

        PrintStream out = System.out;

        @Override
        public Integer call() throws IOException {
            PciScan scan = new PciScan(where.sysfs());
            Assignments state = Assignments.load(where.state());
            Map<String, List<String>> served = where.served();
            List<PciFunction> acc = scan.accelerators();
            List<List<PciFunction>> groups = new ArrayList<>();
            for (PciFunction f : acc) {
                groups.add(scan.group(f));
            }
            out.print(json ? DeviceList.json(scan, state, served, acc, groups)
                    : DeviceList.table(scan, state, served, acc, groups));
            return 0;
        }
    }

    @Command(name = "assign", mixinStandardHelpOptions = true, description = "Assign an accelerator (with its whole "
            + "IOMMU group; bridges stay) to a VM: checks the IOMMU and the group, has a running Ferry host that serves "
            + "it give it up (its guests' work on it ends with DEVICE_LOST; refused if the host cannot), then moves the "
            + "group to vfio-pci and records the original drivers. Undone if any step fails.")
    static final class AssignCmd implements Callable<Integer> {
        @Mixin
        Where where = new Where();

        @Parameters(index = "0", paramLabel = "BDF", description = "the accelerator's PCI address, e.g. 0000:01:00.0")
        String bdf;

        @Option(names = "--to", required = true, paramLabel = "VM", description = "the VM it goes to")
        String vm;

        PrintStream out = System.out;

        @Override
        public Integer call() throws IOException {
            List<String> given = new ArrayList<>();
            VfioAssigner.HostRelease release = (m, guests) -> {
                given.add(m); // from the request on: if anything fails after it, the host is asked to serve it again
                where.releaseFromHost(m, guests, out);
            };
            Assignments.Assignment a;
            try {
                a = checked(() -> new VfioAssigner(where.sysfs(), where.state()).assign(bdf, vm, where.served(),
                        release));
            } catch (IOException e) {
                if (!given.isEmpty()) { // the host gave the device up, and the assignment failed: serve it again
                    try {
                        where.askHost("rediscover");
                    } catch (IOException again) {
                        throw new VfioException(e.getMessage() + "; and the host would not serve " + given
                                + " again (" + again.getMessage() + "): send it 'rediscover' or restart it");
                    }
                }
                throw e;
            }
            out.println("assigned " + String.join(", ", a.members().stream().map(m -> m.bdf() + " (was "
                    + (m.driver() == null ? "unbound" : m.driver()) + ")").toList()) + " to VM " + a.vm()
                    + " (IOMMU group " + a.iommuGroup() + "); ferry vm-args " + a.vm() + " prints its QEMU and "
                    + "libvirt arguments");
            return 0;
        }
    }

    @Command(name = "release", mixinStandardHelpOptions = true, description = "Give an assigned accelerator's group "
            + "back to its original drivers, then asks a running Ferry host to serve it again (rediscover). Undone (left "
            + "on vfio-pci) if any step fails.")
    static final class ReleaseCmd implements Callable<Integer> {
        @Mixin
        Where where = new Where();

        @Parameters(index = "0", paramLabel = "BDF", description = "any function of the assigned group")
        String bdf;

        PrintStream out = System.out;

        @Override
        public Integer call() throws IOException {
            var a = checked(() -> new VfioAssigner(where.sysfs(), where.state()).release(bdf));
            String host;
            try {
                Map<?, ?> r = where.askHost("rediscover");
                host = r == null ? "no Ferry host answers on " + where.socket() + "; a host serves it from its next "
                        + "start" : "Ferry's host serves again device(s) " + map(r.get("rediscovered")).get(
                        "served_again");
            } catch (IOException e) {
                host = "Ferry's host did not take it back (" + e.getMessage() + "); restart it, or send it "
                        + "'rediscover'";
            }
            out.println("released " + String.join(", ", a.members().stream().map(m -> m.bdf() + " (to "
                    + (m.driver() == null ? "unbound" : m.driver()) + ")").toList()) + " from VM " + a.vm()
                    + "; " + host);
            return 0;
        }
    }
}
