package io.ferry.opencl;

import java.util.Locale;

/**
 * An OpenCL device's PCI address, for a host that must not open a device assigned to a VM: from
 * {@code cl_khr_pci_bus_info} ({@code CL_DEVICE_PCI_BUS_INFO_KHR}: domain, bus, device, function as four
 * {@code cl_uint}), else from NVIDIA's {@code cl_nv_device_attribute_query} (bus, slot as {@code device << 3 |
 * function}, and the domain where the driver answers it). A device with neither (PoCL's CPU device) has none.
 */
final class ClPciBus {
    static final int CL_DEVICE_PCI_BUS_INFO_KHR = 0x410F;
    static final int CL_DEVICE_PCI_BUS_ID_NV = 0x4008;
    static final int CL_DEVICE_PCI_SLOT_ID_NV = 0x4009;
    static final int CL_DEVICE_PCI_DOMAIN_ID_NV = 0x400A;

    private ClPciBus() {
    }

    /** The device's address as {@code DDDD:BB:SS.F}, or null when it reports none. */
    static String of(long device) {
        int[] status = new int[1];
        String ext = OpenCL.infoString(OpenCL.Info.DEVICE, device, OpenCL.CL_DEVICE_EXTENSIONS, status);
        String padded = " " + (ext == null ? "" : ext) + " ";
        if (padded.contains(" cl_khr_pci_bus_info ")) {
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment v = arena.allocate(16);
                if (OpenCL.Info.DEVICE.call(device, CL_DEVICE_PCI_BUS_INFO_KHR, 16, v,
                        java.lang.foreign.MemorySegment.NULL) == OpenCL.CL_SUCCESS) {
                    var le = java.lang.foreign.ValueLayout.JAVA_INT;
                    return khr(v.get(le, 0), v.get(le, 4), v.get(le, 8), v.get(le, 12));
                }
            }
        }
        if (padded.contains(" cl_nv_device_attribute_query ")) {
            long bus = OpenCL.infoNumber(OpenCL.Info.DEVICE, device, CL_DEVICE_PCI_BUS_ID_NV, 4, -1);
            long slot = OpenCL.infoNumber(OpenCL.Info.DEVICE, device, CL_DEVICE_PCI_SLOT_ID_NV, 4, -1);
            long domain = OpenCL.infoNumber(OpenCL.Info.DEVICE, device, CL_DEVICE_PCI_DOMAIN_ID_NV, 4, 0);
            return bus < 0 || slot < 0 ? null : nv(domain, bus, slot);
        }
        return null;
    }

    /** {@code cl_khr_pci_bus_info}'s four numbers as an address. */
    static String khr(int domain, int bus, int device, int function) {
        return String.format(Locale.ROOT, "%04x:%02x:%02x.%x", domain & 0xffff, bus & 0xff, device & 0x1f,
                function & 0x7);
    }

    /** NVIDIA's bus and slot ({@code device << 3 | function}) as an address. */
    static String nv(long domain, long bus, long slot) {
        return khr((int) domain, (int) bus, (int) (slot >>> 3), (int) (slot & 7));
    }
}
