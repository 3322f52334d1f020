package io.ferry.host.vfio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A sysfs tree with the real layout, for tests: {@code devices/pci0000:00/BDF/} holds the attributes,
 * {@code bus/pci/devices/BDF} links to it, the {@code driver} link points into {@code bus/pci/drivers/NAME} (which
 * links back), {@code iommu_group} into {@code kernel/iommu_groups/N}, whose {@code devices/} lists the members.
 * {@link KernelSysfs} reacts to writes the way the kernel does.
 *
 * <p>{@link #standard}: group 1 a root port (bridge, pcieport), an NVIDIA GPU on nvidia and its HDMI audio on
 * snd_hda_intel; group 2 a processing accelerator beside a NIC on igb (not viable); group 3 an AMD GPU on amdgpu,
 * alone; and vfio-pci loaded.
 */
public final class SysfsFixture {
    public final Path root;
    /** The driver each function binds to when nothing overrides it (what the kernel's id tables would pick). */
    final Map<String, String> nativeDriver = new HashMap<>();

    private SysfsFixture(Path root) {
        this.root = root;
    }

    public static SysfsFixture empty(Path root) throws IOException {
        SysfsFixture f = new SysfsFixture(root);
        Files.createDirectories(root.resolve("bus/pci/devices"));
        Files.createDirectories(root.resolve("bus/pci/drivers"));
        Files.createDirectories(root.resolve("kernel/iommu_groups"));
        Files.writeString(root.resolve("bus/pci/drivers_probe"), "");
        return f;
    }

    public static SysfsFixture standard(Path root) throws IOException {
        SysfsFixture f = empty(root);
        f.function("0000:00:01.0", 0x060400, "0x8086", "0x1901", "pcieport", "1", 0);
        f.function("0000:01:00.0", 0x030000, "0x10de", "0x2330", "nvidia", "1", 0);
        f.function("0000:01:00.1", 0x040300, "0x10de", "0x22a3", "snd_hda_intel", "1", 0);
        f.function("0000:02:00.0", 0x120000, "0x1da3", "0x1020", "habanalabs", "2", 1);
        f.function("0000:02:00.1", 0x020000, "0x8086", "0x1533", "igb", "2", 1);
        f.function("0000:03:00.0", 0x030200, "0x1002", "0x740f", "amdgpu", "3", -1);
        f.driver("vfio-pci");
        return f;
    }

    public Sysfs kernel() {
        return new KernelSysfs(this);
    }

    /** Adds a function; {@code driver} and {@code group} may be null (unbound; no IOMMU). */
    void function(String bdf, int cls, String vendor, String device, String driver, String group, int numa)
            throws IOException {
        Path dir = root.resolve("devices/pci0000:00/" + bdf);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("class"), String.format("0x%06x\n", cls));
        Files.writeString(dir.resolve("vendor"), vendor + "\n");
        Files.writeString(dir.resolve("device"), device + "\n");
        Files.writeString(dir.resolve("numa_node"), numa + "\n");
        Files.writeString(dir.resolve("driver_override"), "(null)\n");
        Files.createSymbolicLink(root.resolve("bus/pci/devices/" + bdf), Path.of("../../../devices/pci0000:00/" + bdf));
        if (group != null) {
            Path g = root.resolve("kernel/iommu_groups/" + group + "/devices");
            Files.createDirectories(g);
            Files.createSymbolicLink(g.resolve(bdf), Path.of("../../../../devices/pci0000:00/" + bdf));
            Files.createSymbolicLink(dir.resolve("iommu_group"), Path.of("../../../kernel/iommu_groups/" + group));
        }
        if (driver != null) {
            nativeDriver.put(bdf, driver);
            driver(driver);
            link(bdf, driver);
        }
    }

    /** A loaded driver: {@code bus/pci/drivers/NAME/} with bind, unbind and new_id. */
    void driver(String name) throws IOException {
        Path d = root.resolve("bus/pci/drivers/" + name);
        if (!Files.isDirectory(d)) {
            Files.createDirectories(d);
            for (String a : new String[] {"bind", "unbind", "new_id"}) {
                Files.writeString(d.resolve(a), "");
            }
        }
    }

    /** The kernel's view after a bind: the device's driver link and the driver's link back. */
    void link(String bdf, String driver) throws IOException {
        Files.createSymbolicLink(root.resolve("devices/pci0000:00/" + bdf + "/driver"),
                Path.of("../../../bus/pci/drivers/" + driver));
        Files.createSymbolicLink(root.resolve("bus/pci/drivers/" + driver + "/" + bdf),
                Path.of("../../../../devices/pci0000:00/" + bdf));
    }

    /** After an unbind. */
    void unlink(String bdf, String driver) throws IOException {
        Files.delete(root.resolve("devices/pci0000:00/" + bdf + "/driver"));
        Files.delete(root.resolve("bus/pci/drivers/" + driver + "/" + bdf));
    }

    /** An IOMMU that is off: no groups, no iommu_group links. */
    public void iommuOff() throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                if (p.getFileName().toString().equals("iommu_group") || p.startsWith(root.resolve(
                        "kernel/iommu_groups")) && !p.equals(root.resolve("kernel/iommu_groups"))) {
                    Files.delete(p);
                }
            }
        }
    }

    /** vfio-pci not loaded. */
    void unloadVfio() throws IOException {
        try (Stream<Path> s = Files.walk(root.resolve("bus/pci/drivers/vfio-pci"))) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Driver links, overrides and groups of every function, for comparing a tree before and after. */
    public String snapshot() throws IOException {
        StringBuilder sb = new StringBuilder();
        Sysfs s = Sysfs.at(root);
        for (String bdf : s.list("bus/pci/devices")) {
            sb.append(bdf).append(" driver=").append(s.linkName("bus/pci/devices/" + bdf + "/driver"))
                    .append(" override=").append(s.read("bus/pci/devices/" + bdf + "/driver_override")).append('\n');
        }
        for (String drv : s.list("bus/pci/drivers")) {
            sb.append(drv).append(": ").append(s.list("bus/pci/drivers/" + drv)).append('\n');
        }
        return sb.toString();
    }
}
