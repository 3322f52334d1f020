package io.ferry.client;

import io.ferry.channel.RegionDescriptor;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds Ferry regions that a virtual machine sees as {@code ivshmem-plain} PCI devices (vendor {@code 1af4}, device
 * {@code 1110}): the host backs the device's BAR2 with the guest's region file, and inside the guest BAR2 is
 * {@code /sys/bus/pci/devices/<address>/resource2}, a file that {@link Ferry#connect(Path)} maps like any other
 * region file.
 *
 * <p>No driver binds to ivshmem-plain, so the device may come up with memory decoding off, and BAR2 then reads
 * all ones; {@link #find} turns it on ({@code echo 1 > enable}) before it reads anything. Several ivshmem devices
 * are told apart by what their BAR2 holds: a Ferry region starts with {@link RegionDescriptor#MAGIC} and names its
 * guest in the header. Memory BARs cannot be {@code read(2)} through sysfs, only mapped, so the header is read
 * through a read-only mapping of its first page.
 *
 * <p>Both operations need root in the guest (or a udev rule that gives the guest's user {@code enable} and
 * {@code resource2}); the error message says so. The sysfs directory is a parameter so the scan can be tested on a
 * fake tree.
 */
public final class PciRegions {
    /** Where the kernel lists PCI devices. */
    public static final Path SYSFS_PCI_DEVICES = Path.of("/sys/bus/pci/devices");
    /** Red Hat / virtio vendor id, as sysfs prints it. */
    public static final String IVSHMEM_VENDOR = "0x1af4";
    /** The ivshmem device id, as sysfs prints it. */
    public static final String IVSHMEM_DEVICE = "0x1110";
    /** The BAR that holds the shared memory of an ivshmem device. */
    public static final String RESOURCE = "resource2";

    private static final Pattern FULL_ADDRESS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final Pattern SHORT_ADDRESS = Pattern.compile("[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private PciRegions() {
    }

    /**
     * One ivshmem device.
     *
     * @param address     PCI address, e.g. {@code 0000:00:04.0}
     * @param resource    its BAR2 file, what {@link Ferry#connect(Path)} maps
     * @param size        BAR2's size in bytes
     * @param ferryRegion whether BAR2 starts with Ferry's region magic
     * @param guestName   the guest named in the region header; empty when not a Ferry region
     */
    public record PciRegion(String address, Path resource, long size, boolean ferryRegion, String guestName) {
        @Override
        public String toString() {
            return address + (ferryRegion ? " (Ferry region of guest '" + guestName + "', " : " (not a Ferry region, ")
                    + (size >> 20) + " MiB)";
        }
    }

    /** Every ivshmem device of this machine, by address; see {@link #find(Path)}. */
    public static List<PciRegion> find() {
        return find(SYSFS_PCI_DEVICES);
    }

    /**
     * Every ivshmem device under {@code devicesDir} (a directory laid out like {@code /sys/bus/pci/devices}), sorted
     * by address, each enabled when it was not and its BAR2 header read. An empty list when there are none or the
     * directory does not exist.
     *
     * @throws FerryException when a device cannot be enabled or its BAR2 cannot be mapped (usually: not root)
     */
    public static List<PciRegion> find(Path devicesDir) {
        if (!Files.isDirectory(devicesDir)) {
            return List.of();
        }
        List<Path> devices;
        try (Stream<Path> s = Files.list(devicesDir)) {
            devices = s.sorted().toList();
        } catch (IOException e) {
            throw new FerryException(Status.NOT_CONFIGURED, "cannot list PCI devices in " + devicesDir + ": " + e);
        }
        List<PciRegion> out = new ArrayList<>();
        for (Path dev : devices) {
            if (isIvshmem(dev)) {
                out.add(inspect(dev));
            }
        }
        return out;
    }

    /** {@link #resolve(Path, String)} on this machine's sysfs. */
    public static Path resolve(String addressOrGuest) {
        return resolve(SYSFS_PCI_DEVICES, addressOrGuest);
    }

    /**
     * The BAR2 file of the region named by {@code addressOrGuest}: a PCI address ({@code 0000:00:04.0}, or
     * {@code 00:04.0} in domain 0) or the guest name written in a region's header. The device is enabled when it
     * was not. Whether the file really holds a region of this layout is checked when it is mapped.
     *
     * @throws FerryException NOT_CONFIGURED when no ivshmem device matches (the message lists those found),
     *                        INVALID_ARGUMENT when a name matches several regions or an address is not ivshmem
     */
    public static Path resolve(Path devicesDir, String addressOrGuest) {
        if (addressOrGuest == null || addressOrGuest.isBlank()) {
            return single(devicesDir);
        }
        String key = addressOrGuest.trim();
        String lower = key.toLowerCase(Locale.ROOT);
        if (SHORT_ADDRESS.matcher(lower).matches()) {
            lower = "0000:" + lower;
        }
        if (FULL_ADDRESS.matcher(lower).matches()) {
            Path dev = devicesDir.resolve(lower);
            if (!Files.isDirectory(dev)) {
                throw new FerryException(Status.NOT_CONFIGURED, "no PCI device " + lower + " in " + devicesDir
                        + "; ivshmem devices here: " + describe(find(devicesDir))
                        + " (give the VM an ivshmem-plain device backed by the guest's region, see docs/vm.md)");
            }
            if (!isIvshmem(dev)) {
                throw new FerryException(Status.INVALID_ARGUMENT, "PCI device " + lower + " is not an ivshmem device"
                        + " (vendor:device " + IVSHMEM_VENDOR + ":" + IVSHMEM_DEVICE + "); ivshmem devices here: "
                        + describe(find(devicesDir)));
            }
            return inspect(dev).resource();
        }
        List<PciRegion> all = find(devicesDir);
        List<PciRegion> named = all.stream().filter(r -> r.ferryRegion() && r.guestName().equals(key)).toList();
        if (named.size() == 1) {
            return named.getFirst().resource();
        }
        if (named.isEmpty()) {
            throw new FerryException(Status.NOT_CONFIGURED, "no ivshmem device holds a Ferry region of guest '" + key
                    + "'; ivshmem devices here: " + describe(all)
                    + " (give the VM an ivshmem-plain device backed by the guest's region, see docs/vm.md)");
        }
        throw new FerryException(Status.INVALID_ARGUMENT, "several ivshmem devices hold a region of guest '" + key
                + "': " + describe(named) + "; name one by its PCI address");
    }

    /** The one Ferry region among the ivshmem devices; an error when there is none or more than one. */
    public static Path single(Path devicesDir) {
        List<PciRegion> all = find(devicesDir);
        List<PciRegion> ferry = all.stream().filter(PciRegion::ferryRegion).toList();
        if (ferry.size() == 1) {
            return ferry.getFirst().resource();
        }
        if (ferry.isEmpty()) {
            throw new FerryException(Status.NOT_CONFIGURED, "no ivshmem device holds a Ferry region; ivshmem devices"
                    + " here: " + describe(all) + " (is the host running? give the VM an ivshmem-plain device"
                    + " backed by the guest's region, see docs/vm.md)");
        }
        throw new FerryException(Status.INVALID_ARGUMENT, "several Ferry regions: " + describe(ferry)
                + "; name one by PCI address or guest name");
    }

    private static String describe(List<PciRegion> regions) {
        return regions.isEmpty() ? "none" : regions.toString();
    }

    private static boolean isIvshmem(Path dev) {
        return IVSHMEM_VENDOR.equals(readId(dev.resolve("vendor"))) && IVSHMEM_DEVICE.equals(readId(dev.resolve("device")));
    }

    private static String readId(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).trim().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            return "";  // not a PCI function directory (or it vanished): not ours
        }
    }

    /** Enables {@code dev} when needed, then reads the magic and guest name from the start of its BAR2. */
    private static PciRegion inspect(Path dev) {
        String address = dev.getFileName().toString();
        enable(dev, address);
        Path resource = dev.resolve(RESOURCE);
        try (FileChannel ch = FileChannel.open(resource, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            if (size < RegionDescriptor.HEADER_SIZE) {
                return new PciRegion(address, resource, size, false, "");
            }
            MemorySegment head = ch.map(FileChannel.MapMode.READ_ONLY, 0, RegionDescriptor.HEADER_SIZE, arena);
            if (head.get(LE_LONG, RegionDescriptor.MAGIC_OFFSET) != RegionDescriptor.MAGIC) {
                return new PciRegion(address, resource, size, false, "");
            }
            byte[] name = head.asSlice(RegionDescriptor.GUEST_NAME_OFFSET, RegionDescriptor.GUEST_NAME_LENGTH)
                    .toArray(ValueLayout.JAVA_BYTE);
            int nul = 0;
            while (nul < name.length && name[nul] != 0) {
                nul++;
            }
            return new PciRegion(address, resource, size, true, new String(name, 0, nul, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new FerryException(Status.NOT_CONFIGURED, "cannot map " + resource + " of ivshmem device " + address
                    + ": " + e + " (mapping a PCI BAR needs root, or a udev rule that gives this user the file)");
        }
    }

    private static void enable(Path dev, String address) {
        Path enable = dev.resolve("enable");
        try {
            if (Files.exists(enable) && !"1".equals(Files.readString(enable, StandardCharsets.US_ASCII).trim())) {
                Files.writeString(enable, "1", StandardCharsets.US_ASCII);
            }
        } catch (IOException e) {
            throw new FerryException(Status.NOT_CONFIGURED, "cannot enable ivshmem device " + address + " (" + enable
                    + "): " + e + " (enabling a PCI device needs root: run as root, or enable it at boot with"
                    + " `echo 1 > " + enable + "` and give this user " + dev.resolve(RESOURCE) + " by a udev rule)");
        }
    }
}
