package io.ferry.channel.os;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.junit.jupiter.api.Test;

/** The VFIO and ivshmem register encodings, and the refusals Vfio.open gives where VFIO cannot work. */
class VfioTest {

    @Test
    void ioctlNumbersAreThoseOfLinuxVfioH() {
        // _IO(';', 100 + n) from include/uapi/linux/vfio.h
        assertEquals(0x3B64, Vfio.VFIO_GET_API_VERSION);
        assertEquals(0x3B65, Vfio.VFIO_CHECK_EXTENSION);
        assertEquals(0x3B66, Vfio.VFIO_SET_IOMMU);
        assertEquals(0x3B67, Vfio.VFIO_GROUP_GET_STATUS);
        assertEquals(0x3B68, Vfio.VFIO_GROUP_SET_CONTAINER);
        assertEquals(0x3B6A, Vfio.VFIO_GROUP_GET_DEVICE_FD);
        assertEquals(0x3B6C, Vfio.VFIO_DEVICE_GET_REGION_INFO);
        assertEquals(0x3B6D, Vfio.VFIO_DEVICE_GET_IRQ_INFO);
        assertEquals(0x3B6E, Vfio.VFIO_DEVICE_SET_IRQS);
    }

    @Test
    void theDoorbellRegisterAddressesPeerAndVector() {
        assertEquals(0, Vfio.doorbellValue(0, 0), "the host, vector 0");
        assertEquals(0x0003_0001, Vfio.doorbellValue(3, 1));
        assertEquals(12, Vfio.DOORBELL);
        assertThrows(IllegalArgumentException.class, () -> Vfio.doorbellValue(0x10000, 0));
        assertThrows(IllegalArgumentException.class, () -> Vfio.doorbellValue(1, -1));
    }

    @Test
    void msixTriggerIsOneEventfdForVectorZero() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = Vfio.msixTrigger(arena, 42);
            assertEquals(24, s.byteSize());
            assertEquals(24, s.get(ValueLayout.JAVA_INT, 0), "argsz");
            assertEquals((1 << 2) | (1 << 5), s.get(ValueLayout.JAVA_INT, 4), "DATA_EVENTFD | ACTION_TRIGGER");
            assertEquals(2, s.get(ValueLayout.JAVA_INT, 8), "VFIO_PCI_MSIX_IRQ_INDEX");
            assertEquals(0, s.get(ValueLayout.JAVA_INT, 12), "start");
            assertEquals(1, s.get(ValueLayout.JAVA_INT, 16), "count");
            assertEquals(42, s.get(ValueLayout.JAVA_INT, 20), "the eventfd");
        }
    }

    @Test
    void withoutAnIommuOrTheVfioPciDriverOpenSaysWhatIsMissing() throws IOException {
        Path root = Files.createTempDirectory("ferry-vfio-");
        try {
            Path dev = Files.createDirectories(root.resolve("devices/0000:00:02.0"));
            Files.createDirectories(root.resolve("drivers"));
            IOException e = assertThrows(IOException.class, () -> Vfio.open(dev));
            assertTrue(e.getMessage().contains("in no IOMMU group") && e.getMessage().contains("intel-iommu"),
                    e.getMessage());
            Files.createSymbolicLink(dev.resolve("iommu_group"), Files.createDirectories(root.resolve("groups/2")));
            e = assertThrows(IOException.class, () -> Vfio.open(dev));
            assertTrue(e.getMessage().contains("vfio-pci driver is not loaded"), e.getMessage());
            // Bound to another driver: not taken over.
            Files.createDirectories(root.resolve("drivers/uio_pci_generic"));
            Files.createSymbolicLink(dev.resolve("driver"), root.resolve("drivers/uio_pci_generic"));
            e = assertThrows(IOException.class, () -> Vfio.open(dev));
            assertTrue(e.getMessage().contains("bound to uio_pci_generic"), e.getMessage());
        } finally {
            try (var walk = Files.walk(root)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
