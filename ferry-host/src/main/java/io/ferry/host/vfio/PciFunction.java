package io.ferry.host.vfio;

import java.util.List;

/**
 * One PCI function as sysfs shows it.
 *
 * @param bdf            canonical address ({@link PciAddress})
 * @param classCode      the 24-bit class code ({@code class}: base class, subclass, programming interface)
 * @param vendor         {@code vendor}, e.g. {@code 0x10de}
 * @param device         {@code device}, e.g. {@code 0x2330}
 * @param driver         the bound driver's name ({@code driver} link), null when unbound
 * @param driverOverride {@code driver_override}, null when unset (the kernel shows {@code (null)})
 * @param iommuGroup     the IOMMU group's number ({@code iommu_group} link), null without an IOMMU
 * @param groupMembers   every function of that group, this one included, sorted
 * @param numaNode       {@code numa_node}; -1 when the platform does not say
 */
public record PciFunction(String bdf, int classCode, String vendor, String device, String driver,
                          String driverOverride, String iommuGroup, List<String> groupMembers, int numaNode) {

    /** The driver Ferry binds assigned functions to. */
    public static final String VFIO_DRIVER = "vfio-pci";

    public int baseClass() {
        return classCode >>> 16;
    }

    public int subClass() {
        return (classCode >>> 8) & 0xff;
    }

    /** Display controllers (0x03), processing accelerators (0x12) and coprocessors (0x0b40). */
    public boolean isAccelerator() {
        return baseClass() == 0x03 || baseClass() == 0x12 || baseClass() == 0x0b && subClass() == 0x40;
    }

    /** Bridges (0x06): they stay with their host driver when their group is assigned. */
    public boolean isBridge() {
        return baseClass() == 0x06;
    }

    /** Audio devices (0x0403): a GPU's HDMI audio function shares its slot and usually its group. */
    public boolean isAudio() {
        return baseClass() == 0x04 && subClass() == 0x03;
    }

    public boolean onVfio() {
        return VFIO_DRIVER.equals(driver);
    }

    /** The class in words: display, processing accelerator, coprocessor, bridge, audio, or the hex code. */
    public String kind() {
        if (baseClass() == 0x03) {
            return "display";
        }
        if (baseClass() == 0x12) {
            return "processing accelerator";
        }
        if (baseClass() == 0x0b && subClass() == 0x40) {
            return "coprocessor";
        }
        if (isBridge()) {
            return "bridge";
        }
        if (isAudio()) {
            return "audio";
        }
        return String.format("class 0x%06x", classCode);
    }

    /** The slot part of the address ({@code 0000:01:00}): functions of one card share it. */
    public String slot() {
        return bdf.substring(0, bdf.lastIndexOf('.'));
    }
}
