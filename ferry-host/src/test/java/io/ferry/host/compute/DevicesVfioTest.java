package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.vfio.Assignments;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host never offers a device assigned to a VM: the matching of a backend's PCI bus ids (in the forms OpenCL's
 * {@code cl_khr_pci_bus_info} and CUDA's {@code cuDeviceGetPCIBusId} give) against the VFIO state file. The devices
 * here are descriptors with a bus id, not real GPUs: this machine has only PoCL's CPU device, which has none.
 */
class DevicesVfioTest {
    @TempDir
    Path dir;

    /** A backend whose devices report the given bus ids (null: none, like a CPU device); it opens nothing. */
    private record Described(String name, List<String> busIds) implements ComputeBackend {
        @Override
        public List<DeviceInfo> devices() {
            List<DeviceInfo> out = new ArrayList<>();
            for (int i = 0; i < busIds.size(); i++) {
                out.add(new DeviceInfo(i, "dev" + i, "v", "1", DeviceType.GPU, 1 << 30, 1 << 16, 1, 1,
                        List.of(SourceLanguage.OPENCL_C)));
            }
            return out;
        }

        @Override
        public String unavailableReason() {
            return null;
        }

        @Override
        public BackendSession openSession(String guest, MemorySegment heap) {
            throw new AssertionError("no session is opened here");
        }

        @Override
        public String pciBusId(int deviceIndex) {
            return busIds.get(deviceIndex);
        }
    }

    private Path state(Assignments.Assignment... as) throws IOException {
        Path file = dir.resolve("vfio.json");
        Files.deleteIfExists(file);
        Assignments a = Assignments.load(file);
        for (Assignments.Assignment x : as) {
            a = a.with(x);
        }
        a.save();
        return file;
    }

    private static final Assignments.Assignment GPU_TO_VM1 = new Assignments.Assignment("vm1", "0000:01:00.0", "1",
            List.of(new Assignments.Member("0000:01:00.0", "nvidia", null),
                    new Assignments.Member("0000:01:00.1", "snd_hda_intel", null)));

    private static List<String> names(Devices d) {
        return d.all().stream().map(x -> x.backend().name() + "/" + x.info().name() + "@" + x.pciBusId()).toList();
    }

    @Test
    void anAssignedDeviceIsNotOfferedAndTheRefusalIsLogged() throws IOException {
        List<ComputeBackend> backends = List.of(
                new Described("opencl", java.util.Arrays.asList(null, "0000:01:00.0", "0000:03:00.0")),
                new Described("cuda", List.of("00000000:01:00.0", "00000000:03:00.0")));
        List<String> logged = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger log = Logger.getLogger("ferry.host");
        log.addHandler(h);
        try (Devices d = Devices.of(backends, List.of(), state(GPU_TO_VM1))) {
            assertEquals(List.of("opencl/dev0@null", "opencl/dev2@0000:03:00.0", "cuda/dev1@0000:03:00.0"), names(d));
            assertEquals(List.of(0, 1, 2), d.all().stream().map(Devices.Device::index).toList());
        } finally {
            log.removeHandler(h);
        }
        assertEquals(2, logged.stream().filter(m -> m.contains("not serving") && m.contains("0000:01:00.0")
                && m.contains("assigned to VM 'vm1'")).count(), logged.toString());
    }

    @Test
    void aReleasedDeviceIsServedAgainAtTheNextDiscovery() throws IOException {
        List<ComputeBackend> backends = List.of(new Described("cuda", List.of("00000000:01:00.0")));
        try (Devices d = Devices.of(backends, List.of(), state(GPU_TO_VM1))) {
            assertEquals(List.of(), names(d));
        }
        try (Devices d = Devices.of(backends, List.of(), state())) {
            assertEquals(List.of("cuda/dev0@0000:01:00.0"), names(d));
        }
    }

    @Test
    void anUnreadableStateFileServesOnlyDevicesWithoutAPciAddress() throws IOException {
        Path file = dir.resolve("broken.json");
        Files.writeString(file, "{not json");
        List<ComputeBackend> backends = List.of(new Described("opencl", java.util.Arrays.asList(null, "0000:03:00.0")));
        try (Devices d = Devices.of(backends, List.of(), file)) {
            assertEquals(List.of("opencl/dev0@null"), names(d));
        }
    }

    @Test
    void withoutAStateFileEveryDeviceIsServed() {
        List<ComputeBackend> backends = List.of(new Described("opencl", List.of("0000:01:00.0")));
        try (Devices d = Devices.of(backends, List.of(), dir.resolve("none.json"))) {
            assertEquals(1, d.all().size());
        }
    }

    /**
     * A device withdrawn by a running host (release-device) keeps its index, leaves {@link Devices#served}, is refused
     * NO_DEVICE with the reason, and comes back on rediscover once no assignment covers it (not while one does).
     */
    @Test
    void aWithdrawnDeviceKeepsItsIndexIsRefusedWithTheReasonAndComesBackOnRediscover() throws IOException {
        Path file = state();
        Devices d = Devices.of(List.of(new Described("b", java.util.Arrays.asList("0000:01:00.0", "0000:02:00.0"))),
                List.of(), file);
        assertTrue(d.withdraw(0, "assigned away, says the test"));
        assertTrue(!d.withdraw(0, "again"), "withdrawn once");
        assertEquals(null, d.get(0));
        assertEquals(1, d.get(1).index());
        assertEquals(List.of(1), d.served().stream().map(Devices.Device::index).toList());
        assertEquals(2, d.all().size(), "indices stay");
        var refusal = d.missing(0);
        assertEquals(io.ferry.protocol.Status.NO_DEVICE, refusal.status());
        assertEquals("assigned away, says the test", refusal.getMessage());
        assertTrue(d.missing(7).getMessage().startsWith("device 7 does not exist"), d.missing(7).getMessage());

        state(GPU_TO_VM1); // still assigned: stays withdrawn
        List<Integer> again = new ArrayList<>();
        List<Integer> still = new ArrayList<>();
        d.rediscover(again, still);
        assertEquals(List.of(), again);
        assertEquals(List.of(0), still);
        state(); // released
        again.clear();
        still.clear();
        d.rediscover(again, still);
        assertEquals(List.of(0), again);
        assertEquals(List.of(), still);
        assertEquals(2, d.served().size());
        assertEquals(0, d.get(0).index());
    }

    /**
     * A device worker numbers the devices as the host does: the host left out an assigned device (its index 0 is the
     * backend's device 1), and the worker, given the host's list, offers the same devices under the same indices.
     */
    @Test
    void aWorkerNumbersTheDevicesAsTheHostWhichLeftOutAnAssignedOne() throws IOException {
        Described b = new Described("b", java.util.Arrays.asList("0000:01:00.0", "0000:02:00.0", null));
        Devices host = Devices.of(List.of(b), List.of(), state(GPU_TO_VM1));
        assertEquals(List.of(1, 2), host.all().stream().map(d -> d.info().index()).toList());
        java.util.Properties settings = new java.util.Properties();
        WorkerDevices.write(host, settings);
        Devices worker = WorkerDevices.read(b, settings);
        assertEquals(host.all().stream().map(d -> d.index() + ":" + d.info().name()).toList(),
                worker.all().stream().map(d -> d.index() + ":" + d.info().name()).toList());
    }
}
