package io.ferry.host.vfio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.vfio.Assignments.Assignment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** List, assign and release on a fixture sysfs whose writes act as the kernel's ({@link KernelSysfs}). */
class VfioAssignerTest {
    private static final String GPU = "0000:01:00.0";
    private static final String AUDIO = "0000:01:00.1";
    private static final String BRIDGE = "0000:00:01.0";

    @TempDir
    Path dir;
    SysfsFixture fx;
    KernelSysfs kernel;
    Path state;
    VfioAssigner assigner;

    @BeforeEach
    void fixture() throws IOException {
        fx = SysfsFixture.standard(dir.resolve("sys"));
        kernel = (KernelSysfs) fx.kernel();
        state = dir.resolve("state/vfio.json");
        assigner = new VfioAssigner(kernel, state);
    }

    private String driver(String bdf) throws IOException {
        return kernel.linkName("bus/pci/devices/" + bdf + "/driver");
    }

    private String override(String bdf) throws IOException {
        return kernel.read("bus/pci/devices/" + bdf + "/driver_override");
    }

    @Test
    void listsAcceleratorsWithGroupDriverAndNumaNode() throws IOException {
        List<PciFunction> acc = new PciScan(kernel).accelerators();
        assertEquals(List.of(GPU, "0000:02:00.0", "0000:03:00.0"), acc.stream().map(PciFunction::bdf).toList());
        PciFunction gpu = acc.get(0);
        assertEquals("display", gpu.kind());
        assertEquals("0x10de", gpu.vendor());
        assertEquals("0x2330", gpu.device());
        assertEquals("nvidia", gpu.driver());
        assertEquals("1", gpu.iommuGroup());
        assertEquals(List.of(BRIDGE, GPU, AUDIO), gpu.groupMembers());
        assertEquals(0, gpu.numaNode());
        assertNull(gpu.driverOverride());
        assertEquals("processing accelerator", acc.get(1).kind());
        assertEquals(-1, acc.get(2).numaNode());
    }

    @Test
    void assignMovesTheGroupButNotItsBridgeAndRecordsTheDrivers() throws IOException {
        Assignment a = assigner.assign(GPU, "vm1", Map.of());
        assertEquals("vfio-pci", driver(GPU));
        assertEquals("vfio-pci", driver(AUDIO));
        assertEquals("vfio-pci", override(GPU));
        assertEquals("pcieport", driver(BRIDGE), "a bridge keeps its driver");
        assertEquals(List.of(new Assignments.Member(GPU, "nvidia", null),
                new Assignments.Member(AUDIO, "snd_hda_intel", null)), a.members());
        Assignments read = Assignments.load(state);
        assertEquals(List.of(a), read.all());
        assertEquals(a, read.covering(AUDIO));
        try (Stream<Path> s = Files.list(state.getParent())) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file is left");
        }
        assertEquals(a, assigner.assign(GPU, "vm1", Map.of()), "assigning again to the same VM changes nothing");
        VfioException other = assertThrows(VfioException.class, () -> assigner.assign(AUDIO.replace(".1", ".0"),
                "vm2", Map.of()));
        assertTrue(other.getMessage().contains("assigned to VM 'vm1'"), other.getMessage());
    }

    @Test
    void releaseRestoresTheOriginalDrivers() throws IOException {
        String before = fx.snapshot();
        assigner.assign(GPU, "vm1", Map.of());
        assigner.release(AUDIO); // any member names the assignment
        assertEquals(before, fx.snapshot());
        assertEquals(List.of(), Assignments.load(state).all());
        VfioException again = assertThrows(VfioException.class, () -> assigner.release(GPU));
        assertTrue(again.getMessage().contains("is not assigned"), again.getMessage());
    }

    @Test
    void aBusyFunctionInTheMiddleRollsTheGroupBack() throws IOException {
        kernel.busy.add(AUDIO); // the GPU has moved by the time its audio function refuses to let go
        String before = fx.snapshot();
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign(GPU, "vm1", Map.of()));
        assertTrue(e.getMessage().contains("every step was undone") && e.getMessage().contains("busy"),
                e.getMessage());
        assertEquals(before, fx.snapshot());
        assertEquals("nvidia", driver(GPU));
        assertEquals(List.of(), Assignments.load(state).all());
    }

    @Test
    void aFailedReleaseLeavesTheGroupOnVfioAndRecorded() throws IOException {
        Assignment a = assigner.assign(GPU, "vm1", Map.of());
        String assigned = fx.snapshot();
        kernel.failingDrivers.add("snd_hda_intel"); // the second member's driver will not take it back
        VfioException e = assertThrows(VfioException.class, () -> assigner.release(GPU));
        assertTrue(e.getMessage().contains("every step was undone"), e.getMessage());
        assertEquals(assigned, fx.snapshot());
        assertEquals(List.of(a), Assignments.load(state).all());
    }

    /** Whatever write fails, the tree is as before (assign) or as assigned (release): never a function unbound. */
    @Test
    void everyFailurePointRollsBack() throws IOException {
        String before = fx.snapshot();
        kernel.writes = 0;
        assigner.assign(GPU, "vm1", Map.of());
        int assignWrites = kernel.writes;
        assigner.release(GPU);
        assertEquals(before, fx.snapshot());
        for (int n = 1; n <= assignWrites; n++) {
            kernel.writes = 0;
            kernel.failAtWrite = n;
            assertThrows(VfioException.class, () -> assigner.assign(GPU, "vm1", Map.of()), "write " + n);
            assertEquals(before, fx.snapshot(), "after a failure at write " + n);
            assertEquals(List.of(), Assignments.load(state).all());
        }
        kernel.failAtWrite = 0;
        assigner.assign(GPU, "vm1", Map.of());
        String assigned = fx.snapshot();
        kernel.writes = 0;
        assigner.release(GPU);
        int releaseWrites = kernel.writes;
        assigner.assign(GPU, "vm1", Map.of());
        for (int n = 1; n <= releaseWrites; n++) {
            kernel.writes = 0;
            kernel.failAtWrite = n;
            boolean released;
            try {
                assigner.release(GPU);
                released = true; // binding through the driver's bind failed, and drivers_probe bound it instead
            } catch (VfioException e) {
                released = false;
            }
            assertEquals(released ? before : assigned, fx.snapshot(), "after a failure at write " + n);
            assertEquals(released ? 0 : 1, Assignments.load(state).all().size());
            if (released) {
                kernel.failAtWrite = 0;
                assigner.assign(GPU, "vm1", Map.of());
            }
        }
    }

    /** An assign killed in the middle (the GPU unbound, its override set) is recorded as pending; release fixes it. */
    @Test
    void anAssignStoppedInTheMiddleIsRecordedAndReleaseRestoresIt() throws IOException {
        String before = fx.snapshot();
        kernel.write("bus/pci/drivers/nvidia/unbind", GPU);
        kernel.write("bus/pci/devices/" + GPU + "/driver_override", "vfio-pci");
        Assignments.load(state).with(new Assignment("vm1", GPU, "1", List.of(
                new Assignments.Member(GPU, "nvidia", null), new Assignments.Member(AUDIO, "snd_hda_intel", null)),
                true)).save();
        assertTrue(Files.readString(state).contains("\"pending\": true"));
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign(GPU, "vm1", Map.of()));
        assertTrue(e.getMessage().contains("did not finish") && e.getMessage().contains("ferry device release"),
                e.getMessage());
        assigner.release(GPU);
        assertEquals(before, fx.snapshot());
        assertEquals(List.of(), Assignments.load(state).all());
        assertEquals("vm1", assigner.assign(GPU, "vm1", Map.of()).vm());
        assertTrue(!Files.readString(state).contains("pending"), "a finished assignment is not pending");
    }

    @Test
    void aFunctionAlreadyOnVfioIsRecordedAndLeftThere() throws IOException {
        kernel.write("bus/pci/drivers/snd_hda_intel/unbind", AUDIO);
        kernel.write("bus/pci/devices/" + AUDIO + "/driver_override", "vfio-pci");
        kernel.write("bus/pci/drivers_probe", AUDIO);
        assertEquals("vfio-pci", driver(AUDIO));
        String before = fx.snapshot();
        Assignment a = assigner.assign(GPU, "vm1", Map.of());
        assertEquals(new Assignments.Member(AUDIO, "vfio-pci", "vfio-pci"), a.members().get(1));
        assigner.release(AUDIO);
        assertEquals(before, fx.snapshot());
    }

    @Test
    void refusesWhenTheIommuIsOff() throws IOException {
        fx.iommuOff();
        String before = fx.snapshot();
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign(GPU, "vm1", Map.of()));
        assertTrue(e.getMessage().contains("IOMMU is off") && e.getMessage().contains("intel_iommu=on"),
                e.getMessage());
        assertEquals(before, fx.snapshot());
        assertEquals(0, kernel.writes);
    }

    @Test
    void refusesAGroupWithAFunctionThatIsNotAssignable() throws IOException {
        String before = fx.snapshot();
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign("0000:02:00.0", "vm1", Map.of()));
        assertTrue(e.getMessage().contains("not viable") && e.getMessage().contains("0000:02:00.1")
                && e.getMessage().contains("igb"), e.getMessage());
        assertEquals(before, fx.snapshot());
        assertEquals(0, kernel.writes);
    }

    @Test
    void refusesADeviceFerrysHostServes() throws IOException {
        String before = fx.snapshot();
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign("0000:03:00.0", "vm1",
                Map.of("0000:03:00.0", List.of("alice", "bob"))));
        assertTrue(e.getMessage().contains("Ferry's host serves 0000:03:00.0 to guests alice, bob"), e.getMessage());
        assertEquals(before, fx.snapshot());
        assertEquals(0, kernel.writes);
    }

    @Test
    void refusesWithoutVfioPciAndForANonAccelerator() throws IOException {
        VfioException bridge = assertThrows(VfioException.class, () -> assigner.assign(BRIDGE, "vm1", Map.of()));
        assertTrue(bridge.getMessage().contains("bridge function, not an accelerator"), bridge.getMessage());
        VfioException none = assertThrows(VfioException.class, () -> assigner.assign("0000:09:00.0", "vm1", Map.of()));
        assertTrue(none.getMessage().contains("no PCI function 0000:09:00.0"), none.getMessage());
        fx.unloadVfio();
        VfioException e = assertThrows(VfioException.class, () -> assigner.assign(GPU, "vm1", Map.of()));
        assertTrue(e.getMessage().contains("modprobe vfio-pci"), e.getMessage());
        assertEquals(0, kernel.writes);
    }

    @Test
    void checksAddressesAndVmNames() {
        assertEquals("0000:01:00.0", PciAddress.parse("01:00.0"));
        assertEquals("0000:01:00.0", PciAddress.parse("00000000:01:00.0"));
        assertEquals("000a:1f:1f.7", PciAddress.parse("000A:1F:1F.7"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("0000:01:20.0"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("../../etc"));
        assertThrows(IllegalArgumentException.class, () -> Assignments.vmName("../vm"));
        assertThrows(IllegalArgumentException.class, () -> assigner.assign(GPU, "a b", Map.of()));
    }

    @Test
    void aStateFileThatIsNotFerrysIsRefusedClearly() throws IOException {
        Files.createDirectories(state.getParent());
        Files.writeString(state, "{\"assignments\": [{\"vm\": 3}]}");
        IOException e = assertThrows(IOException.class, () -> assigner.assign(GPU, "vm1", Map.of()));
        assertTrue(e.getMessage().contains("is not Ferry's"), e.getMessage());
        assertEquals(0, kernel.writes);
    }

    @Test
    void aStateFileNamingADriverOutsideTheDriversDirectoryIsRefused() throws IOException {
        Files.createDirectories(state.getParent());
        for (String driver : List.of("../../../devices", "x/y", "..", "")) {
            Files.writeString(state, "{\"assignments\": [{\"vm\": \"vm1\", \"bdf\": \"0000:01:00.0\", "
                    + "\"iommu_group\": \"1\", \"members\": [{\"bdf\": \"0000:01:00.0\", \"driver\": \""
                    + driver + "\", \"driver_override\": null}]}]}");
            IOException e = assertThrows(IOException.class, () -> assigner.release(GPU));
            assertTrue(e.getMessage().contains("is not one a kernel driver has"), e.getMessage());
        }
        assertEquals(0, kernel.writes);
    }
}
