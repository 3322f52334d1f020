package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;
import io.ferry.host.vfio.KernelSysfs;
import io.ferry.host.vfio.SysfsFixture;
import io.ferry.host.vfio.VfioException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry device list|assign|release} and {@code ferry vm-args} on the fixture sysfs of io.ferry.host.vfio's
 * tests (its kernel emulation reacts to the writes), with the state file and config in a temporary directory and an
 * admin socket nobody answers on (no host runs).
 */
class DeviceCommandTest {
    @TempDir
    Path dir;
    SysfsFixture fx;
    KernelSysfs kernel;
    ByteArrayOutputStream printed;

    @BeforeEach
    void fixture() throws IOException {
        fx = SysfsFixture.standard(dir.resolve("sys"));
        kernel = (KernelSysfs) fx.kernel();
        printed = new ByteArrayOutputStream();
    }

    private String[] common(String... args) {
        String[] base = {"--state", dir.resolve("vfio.json").toString(), "--admin-socket",
                dir.resolve("nobody.sock").toString(), "-c", dir.resolve("ferry.yaml").toString()};
        String[] all = new String[args.length + base.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(base, 0, all, args.length, base.length);
        return all;
    }

    private String run(Callable<Integer> cmd, DeviceCommand.Where where, String... args) throws Exception {
        new CommandLine(cmd).parseArgs(common(args));
        where.sysfs = kernel;
        printed.reset();
        assertEquals(0, cmd.call());
        return printed.toString(StandardCharsets.UTF_8);
    }

    private Map<?, ?> list() throws Exception {
        var l = new DeviceCommand.ListCmd();
        l.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        return (Map<?, ?>) StatusJson.parse(run(l, l.where, "--json"));
    }

    @Test
    void listAssignListReleaseList() throws Exception {
        Map<?, ?> doc = list();
        assertEquals(true, doc.get("iommu"));
        List<?> devices = (List<?>) doc.get("devices");
        assertEquals(3, devices.size());
        Map<?, ?> gpu = (Map<?, ?>) devices.get(0);
        assertEquals("0000:01:00.0", gpu.get("bdf"));
        assertEquals("display", gpu.get("class"));
        assertEquals("0x10de", gpu.get("vendor"));
        assertEquals("nvidia", gpu.get("driver"));
        assertEquals(0L, gpu.get("numa_node"));
        assertEquals("1", gpu.get("iommu_group"));
        assertEquals(List.of("0000:00:01.0", "0000:01:00.1"), ((List<?>) gpu.get("group_members")).stream()
                .map(m -> ((Map<?, ?>) m).get("bdf")).toList());
        assertEquals(false, gpu.get("ferry_serves"));
        assertEquals(null, gpu.get("assigned_to"));

        var assign = new DeviceCommand.AssignCmd();
        assign.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        String said = run(assign, assign.where, "0000:01:00.0", "--to", "vm1");
        assertTrue(said.contains("assigned 0000:01:00.0 (was nvidia), 0000:01:00.1 (was snd_hda_intel) to VM vm1"),
                said);
        Map<?, ?> after = (Map<?, ?>) ((List<?>) list().get("devices")).get(0);
        assertEquals("vm1", after.get("assigned_to"));
        assertEquals("vfio-pci", after.get("driver"));

        var vmArgs = new VmArgsCommand();
        vmArgs.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), false, List.of(), List.of(
                new HostConfig.GuestConfig("vm1", 64L << 20).withRegion(HostConfig.RegionKind.IVSHMEM)));
        cfg.save(dir.resolve("ferry.yaml"));
        String args = run(vmArgs, vmArgs.where, "vm1");
        assertTrue(args.contains("-device vfio-pci,host=0000:01:00.0 \\\n-device vfio-pci,host=0000:01:00.1"), args);
        assertTrue(args.contains("ivshmem-doorbell,chardev=ferry") && args.contains(dir.resolve("regions/vm1.ivshmem")
                .toString()), args);
        assertTrue(args.contains("<hostdev mode='subsystem' type='pci' managed='no'>") && args.contains("<shmem"),
                args);

        var release = new DeviceCommand.ReleaseCmd();
        release.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        said = run(release, release.where, "0000:01:00.1");
        assertTrue(said.contains("released 0000:01:00.0 (to nvidia), 0000:01:00.1 (to snd_hda_intel) from VM vm1"),
                said);
        assertEquals("nvidia", ((Map<?, ?>) ((List<?>) list().get("devices")).get(0)).get("driver"));
    }

    /**
     * Assign against a running host that serves the device (a real in-process host, PoCL's CPU device given the
     * fixture GPU's address by the test seam): the host gives it up over its admin socket, then the assign goes on;
     * release has the host serve it again.
     */
    @Test
    void assignAsksARunningHostThatServesTheDeviceToGiveItUpAndReleaseGivesItBack() throws Exception {
        Path regions = java.nio.file.Files.createTempDirectory(Path.of("/dev/shm"), "ferry-dc-");
        io.ferry.host.compute.Devices devices;
        System.setProperty("ferry.test.pciBusIds", "opencl/0=0000:01:00.0");
        try {
            devices = io.ferry.host.compute.Devices.discover(List.of(), dir.resolve("vfio.json"));
        } finally {
            System.clearProperty("ferry.test.pciBusIds");
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(devices.all().isEmpty(), "PoCL offers no device here");
        HostConfig cfg = new HostConfig(regions, true, List.of(), List.of(new HostConfig.GuestConfig("alice",
                16L << 20)));
        try (io.ferry.host.FerryHost host = io.ferry.host.FerryHost.start(cfg, devices)) {
            String[] args = {"0000:01:00.0", "--to", "vm1", "--state", dir.resolve("vfio.json").toString(),
                    "--admin-socket", cfg.adminSocket().toString()};
            var assign = new DeviceCommand.AssignCmd();
            assign.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
            new CommandLine(assign).parseArgs(args);
            assign.where.sysfs = kernel;
            assertEquals(0, assign.call());
            String said = printed.toString(StandardCharsets.UTF_8);
            assertTrue(said.contains("Ferry's host stopped serving 0000:01:00.0") && said.contains("assigned "
                    + "0000:01:00.0 (was nvidia), 0000:01:00.1 (was snd_hda_intel) to VM vm1"), said);
            assertTrue(host.devices().served().isEmpty(), "the host no longer serves it");
            assertEquals("vfio-pci", kernel.linkName("bus/pci/devices/0000:01:00.0/driver"));

            printed.reset();
            var release = new DeviceCommand.ReleaseCmd();
            release.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
            new CommandLine(release).parseArgs("0000:01:00.0", "--state", dir.resolve("vfio.json").toString(),
                    "--admin-socket", cfg.adminSocket().toString());
            release.where.sysfs = kernel;
            assertEquals(0, release.call());
            said = printed.toString(StandardCharsets.UTF_8);
            assertTrue(said.contains("released 0000:01:00.0") && said.contains("Ferry's host serves again device(s) "
                    + "[0]"), said);
            assertEquals(1, host.devices().served().size(), "served again after release");
        } finally {
            devices.close();
            try (var walk = java.nio.file.Files.walk(regions)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    java.nio.file.Files.deleteIfExists(p);
                }
            }
        }
    }

    /** A host that drives the device inside its own process (isolation: none) refuses; assign refuses, changes nothing. */
    @Test
    void assignRefusesWhenTheRunningHostCannotGiveTheDeviceUp() throws Exception {
        Path regions = java.nio.file.Files.createTempDirectory(Path.of("/dev/shm"), "ferry-dc-");
        io.ferry.host.compute.Devices devices;
        System.setProperty("ferry.test.pciBusIds", "opencl/0=0000:01:00.0");
        try {
            devices = io.ferry.host.compute.Devices.discover(List.of(), dir.resolve("vfio.json"));
        } finally {
            System.clearProperty("ferry.test.pciBusIds");
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(devices.all().isEmpty(), "PoCL offers no device here");
        HostConfig cfg = new HostConfig(regions, true, List.of(), List.of(new HostConfig.GuestConfig("alice",
                16L << 20))).withIsolation(HostConfig.Isolation.INPROCESS);
        try (io.ferry.host.FerryHost host = io.ferry.host.FerryHost.start(cfg, devices)) {
            String before = fx.snapshot();
            var assign = new DeviceCommand.AssignCmd();
            assign.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
            new CommandLine(assign).parseArgs("0000:01:00.0", "--to", "vm1", "--state",
                    dir.resolve("vfio.json").toString(), "--admin-socket", cfg.adminSocket().toString());
            assign.where.sysfs = kernel;
            VfioException e = assertThrows(VfioException.class, assign::call);
            assertTrue(e.getMessage().contains("would not give it up") && e.getMessage().contains("driven inside the "
                    + "host process") && e.getMessage().contains("No device was moved"), e.getMessage());
            assertEquals(before, fx.snapshot(), "no sysfs write");
            assertEquals(1, host.devices().served().size(), "the host still serves it");
        } finally {
            devices.close();
            try (var walk = java.nio.file.Files.walk(regions)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    java.nio.file.Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void argumentErrorsAreOneLineErrors() {
        var assign = new DeviceCommand.AssignCmd();
        VfioException e = assertThrows(VfioException.class, () -> run(assign, assign.where, "01:00", "--to", "vm1"));
        assertTrue(e.getMessage().contains("is not a PCI address"), e.getMessage());
        var assign2 = new DeviceCommand.AssignCmd();
        e = assertThrows(VfioException.class, () -> run(assign2, assign2.where, "01:00.0", "--to", "../x"));
        assertTrue(e.getMessage().contains("is not a VM name"), e.getMessage());
    }

    @Test
    void aHostsStatusNamesTheFunctionsItServesAndTheirGuests() throws IOException {
        String status = "{\"host\": {\"pid\": 1}, \"devices\": [{\"index\": 0, \"pci_bus_id\": null}, {\"index\": 1, "
                + "\"pci_bus_id\": \"0000:03:00.0\"}, {\"index\": 2, \"pci_bus_id\": \"0000:04:00.0\"}], \"guests\": ["
                + "{\"name\": \"alice\", \"scheduling\": [{\"device\": 1}]}, {\"name\": \"bob\", \"scheduling\": "
                + "[{\"device\": 0}, {\"device\": 1}]}]}";
        assertEquals(Map.of("0000:03:00.0", List.of("alice", "bob"), "0000:04:00.0", List.of()),
                DeviceCommand.Where.served(status, dir.resolve("admin.sock")));
    }

    /** As an operator runs it: a process of its own, sysfs and state named by FERRY_SYSFS and FERRY_VFIO_STATE. */
    @Test
    void listAsAProcessReadsTheSysfsAndStateTheEnvironmentNames() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.ferry.cli.Main", "device", "list", "--json",
                "--admin-socket", dir.resolve("nobody.sock").toString());
        pb.environment().put("FERRY_SYSFS", fx.root.toString());
        pb.environment().put("FERRY_VFIO_STATE", dir.resolve("env-state.json").toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Map<?, ?> doc = (Map<?, ?>) StatusJson.parse(out);
        assertEquals(dir.resolve("env-state.json").toString(), doc.get("state_file"));
        assertEquals(3, ((List<?>) doc.get("devices")).size(), out);
    }

    /** Read-only on this machine's own /sys: what it lists agrees with the class files (none, on the test VMs). */
    @Test
    void listReadsTheRealSysfs() throws Exception {
        Path sys = Path.of("/sys/bus/pci/devices");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(sys), "no /sys/bus/pci here");
        var l = new DeviceCommand.ListCmd();
        l.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        new CommandLine(l).parseArgs(common("--json"));
        l.where.sysfs = io.ferry.host.vfio.Sysfs.at(Path.of("/sys"));
        assertEquals(0, l.call());
        Map<?, ?> doc = (Map<?, ?>) StatusJson.parse(printed.toString(StandardCharsets.UTF_8));
        long expected;
        try (var s = java.nio.file.Files.list(sys)) {
            expected = s.filter(d -> {
                try {
                    int cls = Integer.decode(java.nio.file.Files.readString(d.resolve("class")).strip());
                    return cls >>> 16 == 0x03 || cls >>> 16 == 0x12 || cls >>> 8 == 0x0b40;
                } catch (IOException | NumberFormatException e) {
                    return false;
                }
            }).count();
        }
        assertEquals(expected, ((List<?>) doc.get("devices")).size(), doc.toString());
        try (var s = java.nio.file.Files.list(Path.of("/sys/kernel/iommu_groups"))) {
            assertEquals(s.findAny().isPresent(), doc.get("iommu"));
        } catch (java.nio.file.NoSuchFileException e) {
            assertEquals(false, doc.get("iommu"));
        }
    }

    @Test
    void helpListsTheCommands() {
        String usage = new CommandLine(new Main()).getUsageMessage();
        assertTrue(usage.contains("device") && usage.contains("vm-args"), usage);
    }
}
