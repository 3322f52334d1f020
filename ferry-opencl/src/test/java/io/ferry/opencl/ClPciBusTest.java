package io.ferry.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.spi.DeviceInfo;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The PCI address an OpenCL device reports, for the host's VFIO check. */
class ClPciBusTest {

    @Test
    void formsTheAddressFromEitherExtension() {
        assertEquals("0000:01:00.0", ClPciBus.khr(0, 1, 0, 0));
        assertEquals("0001:af:1f.7", ClPciBus.khr(1, 0xaf, 0x1f, 7));
        assertEquals("0000:65:00.1", ClPciBus.nv(0, 0x65, 1)); // slot id = device << 3 | function
        assertEquals("0000:03:02.3", ClPciBus.nv(0, 3, 2 << 3 | 3));
    }

    @Test
    void aCpuDeviceHasNoPciAddress() {
        OpenClBackend b = new OpenClBackend();
        List<DeviceInfo> devices = b.devices();
        Assumptions.assumeFalse(devices.isEmpty(), "no OpenCL device: " + b.unavailableReason());
        for (DeviceInfo d : devices) {
            if (d.type() == io.ferry.protocol.DeviceType.CPU) {
                assertNull(b.pciBusId(d.index()), d.name());
            }
        }
        assertNull(b.pciBusId(devices.size()));
        b.close();
    }
}
