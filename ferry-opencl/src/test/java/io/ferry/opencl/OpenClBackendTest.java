package io.ferry.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class OpenClBackendTest {

    @Test
    void discoversThePoclCpuDevice() {
        try (OpenClBackend backend = new OpenClBackend()) {
            assertEquals("opencl", backend.name());
            List<DeviceInfo> devices = backend.devices();
            assertFalse(devices.isEmpty(), () -> "no device: " + backend.unavailableReason());
            assertNull(backend.unavailableReason());
            DeviceInfo cpu = devices.stream().filter(d -> d.type() == DeviceType.CPU).findFirst().orElseThrow();
            assertTrue(cpu.computeUnits() > 0, cpu.toString());
            assertTrue(cpu.globalMemoryBytes() > 0, cpu.toString());
            assertTrue(cpu.localMemoryBytes() > 0, cpu.toString());
            assertTrue(cpu.maxWorkGroupSize() > 0, cpu.toString());
            assertTrue(cpu.version().startsWith("OpenCL "), cpu.toString());
            assertEquals(List.of(SourceLanguage.OPENCL_C), cpu.languages());
            for (int i = 0; i < devices.size(); i++) {
                assertEquals(i, devices.get(i).index());
            }
        }
    }

    @Test
    void isFoundByServiceLoader() {
        boolean found = ServiceLoader.load(ComputeBackend.class).stream()
                .anyMatch(p -> p.type() == OpenClBackend.class);
        assertTrue(found);
    }

    @Test
    void parsesVersions() {
        assertEquals(3, ClDevice.majorVersion("OpenCL 3.0 PoCL HSTR"));
        assertEquals(1, ClDevice.majorVersion("OpenCL 1.2 CUDA"));
        assertEquals(1, ClDevice.majorVersion("garbage"));
    }

    @Test
    void aPlatformNamedFerryIsNeverOffered() {
        org.junit.jupiter.api.Assertions.assertTrue(OpenClBackend.isFerry("Ferry"));
        org.junit.jupiter.api.Assertions.assertTrue(OpenClBackend.isFerry(" ferry remote OpenCL"));
        org.junit.jupiter.api.Assertions.assertFalse(OpenClBackend.isFerry("Portable Computing Language"));
        org.junit.jupiter.api.Assertions.assertFalse(OpenClBackend.isFerry(null));
    }
}
