package io.ferry.host.vfio;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads PCI functions and IOMMU groups from a {@link Sysfs}: {@code bus/pci/devices/BDF/{class,vendor,device,
 * numa_node,driver_override}}, the {@code driver} and {@code iommu_group} links, and
 * {@code kernel/iommu_groups/N/devices/}.
 */
public final class PciScan {
    static final String DEVICES = "bus/pci/devices/";
    static final String GROUPS = "kernel/iommu_groups";

    private final Sysfs sysfs;

    public PciScan(Sysfs sysfs) {
        this.sysfs = sysfs;
    }

    public Sysfs sysfs() {
        return sysfs;
    }

    /** Whether the kernel has an IOMMU on: it then puts every device in an IOMMU group. */
    public boolean iommuOn() throws IOException {
        return !sysfs.list(GROUPS).isEmpty();
    }

    /** Whether the vfio-pci driver is loaded ({@code bus/pci/drivers/vfio-pci} exists). */
    public boolean vfioLoaded() {
        return sysfs.exists("bus/pci/drivers/" + PciFunction.VFIO_DRIVER);
    }

    /** The function at {@code bdf} (canonical), or null when there is none. */
    public PciFunction function(String bdf) throws IOException {
        String dir = DEVICES + bdf + "/";
        String cls = sysfs.read(dir + "class");
        if (cls == null) {
            return null;
        }
        String group = sysfs.linkName(dir + "iommu_group");
        List<String> members = group == null ? List.of(bdf) : sysfs.list(GROUPS + "/" + group + "/devices");
        String override = sysfs.read(dir + "driver_override");
        return new PciFunction(bdf, (int) hex(cls, bdf + "/class"), sysfs.read(dir + "vendor"),
                sysfs.read(dir + "device"), sysfs.linkName(dir + "driver"),
                override == null || override.isEmpty() || override.equals("(null)") ? null : override, group,
                members.isEmpty() ? List.of(bdf) : List.copyOf(members), numa(sysfs.read(dir + "numa_node")));
    }

    /** Every function of an accelerator class, by address. */
    public List<PciFunction> accelerators() throws IOException {
        List<PciFunction> out = new ArrayList<>();
        for (String bdf : sysfs.list(DEVICES)) {
            PciFunction f = function(bdf);
            if (f != null && f.isAccelerator()) {
                out.add(f);
            }
        }
        return out;
    }

    /** The functions of {@code f}'s IOMMU group, {@code f} included. */
    public List<PciFunction> group(PciFunction f) throws IOException {
        List<PciFunction> out = new ArrayList<>();
        for (String bdf : f.groupMembers()) {
            PciFunction m = bdf.equals(f.bdf()) ? f : function(bdf);
            if (m == null) {
                throw new IOException("IOMMU group " + f.iommuGroup() + " lists " + bdf + ", which "
                        + sysfs.root().resolve(DEVICES + bdf) + " does not show");
            }
            out.add(m);
        }
        return out;
    }

    private static long hex(String text, String what) throws IOException {
        try {
            String t = text.strip();
            return Long.parseLong(t.startsWith("0x") ? t.substring(2) : t, 16);
        } catch (NumberFormatException e) {
            throw new IOException(what + " reads '" + text + "', not a hex number");
        }
    }

    private static int numa(String text) {
        try {
            return text == null ? -1 : Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
