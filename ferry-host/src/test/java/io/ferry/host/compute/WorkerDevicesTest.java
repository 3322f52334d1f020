package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** A device worker numbers the host's devices as the host does, by identity, whatever its backend shows it. */
class WorkerDevicesTest {
    /** A backend showing the named devices, in order; it opens nothing. */
    private record Listed(String name, List<String> names, DeviceType type) implements ComputeBackend {
        @Override
        public List<DeviceInfo> devices() {
            List<DeviceInfo> out = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                out.add(new DeviceInfo(i, names.get(i), names.get(i).split(" ")[0], "OpenCL 3.0", type, 1 << 30,
                        1 << 16, 1, 1, List.of(SourceLanguage.OPENCL_C)));
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
    }

    private static Devices worker(Devices host, ComputeBackend inSandbox) {
        Properties p = new Properties();
        WorkerDevices.write(host, p);
        return WorkerDevices.read(inSandbox, p);
    }

    @Test
    void aWorkerSeeingFewerDevicesKeepsTheHostsIndices() {
        // the host: CUDA's GPU, then OpenCL's NVIDIA GPU and PoCL's CPU; in the sandbox NVIDIA's platform sees no GPU
        Devices host = Devices.of(List.of(new Listed("cuda", List.of("NVIDIA H200"), DeviceType.GPU),
                new Listed("opencl", List.of("NVIDIA H200", "pthread-AMD EPYC"), DeviceType.CPU)), List.of());
        Devices w = worker(host, new Listed("opencl", List.of("pthread-AMD EPYC"), DeviceType.CPU));
        assertEquals(3, w.all().size());
        assertEquals("pthread-AMD EPYC", w.get(2).info().name(), "the guest's device 2 is PoCL in the worker too");
        assertEquals(0, w.get(2).info().index(), "the backend's own index in the worker");
        assertNull(w.get(0), "another backend's device");
        assertTrue(w.withdrawnReason(0).contains("backend cuda") && w.withdrawnReason(0).contains("not served by"), w.withdrawnReason(0));
        assertNull(w.get(1), "a device the sandbox hides");
        assertTrue(w.withdrawnReason(1).contains("not visible inside"), w.withdrawnReason(1));
        assertEquals(List.of(2), w.served().stream().map(Devices.Device::index).toList());
    }

    @Test
    void sameNamedDevicesKeepTheirOrder() {
        Listed two = new Listed("opencl", List.of("cpu A", "cpu A", "cpu B"), DeviceType.CPU);
        Devices host = Devices.of(List.of(two), List.of());
        Devices w = worker(host, two);
        for (int i = 0; i < 3; i++) {
            assertEquals(i, w.get(i).info().index());
        }
    }
}
