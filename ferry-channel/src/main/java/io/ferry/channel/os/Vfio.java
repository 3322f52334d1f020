package io.ferry.channel.os;

import io.ferry.channel.RingDoorbell;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * An ivshmem-doorbell PCI device opened through VFIO inside a VM, for its interrupts and its DOORBELL register.
 * QEMU's ivshmem-doorbell raises its interrupts only as MSI-X (it has no INTx fallback: with MSI-X off it drops
 * them), and MSI-X reaches user space only through VFIO ({@code uio_pci_generic} handles INTx alone). VFIO needs an
 * IOMMU group, so the VM needs a virtual IOMMU ({@code -machine q35 -device intel-iommu}, kernel
 * {@code intel_iommu=on}); Debian's kernel has no VFIO no-IOMMU mode.
 *
 * <p>Steps ({@code linux/vfio.h}): bind {@code vfio-pci} (driver_override), open the container and the device's
 * group, attach the type-1 IOMMU, get the device fd, turn on bus mastering (an MSI-X message is a write by the
 * device), and hand VFIO an eventfd for MSI-X vector 0 ({@code VFIO_DEVICE_SET_IRQS}). The registers (BAR0) are
 * written through the device fd ({@code pwrite} at the BAR's region offset): the shared memory (BAR2) stays the
 * sysfs {@code resource2} mapping the client made before.
 *
 * <pre>
 * BAR0 of ivshmem (docs/specs/ivshmem-spec.rst), 32-bit registers:
 *   0 INTRMASK   4 INTRSTATUS   8 IVPOSITION (own peer id, read-only)
 *   12 DOORBELL (write: peer id &lt;&lt; 16 | vector)
 * struct vfio_irq_set    { u32 argsz; u32 flags; u32 index; u32 start; u32 count; u8 data[]; }   here 24 bytes
 * struct vfio_region_info{ u32 argsz; u32 flags; u32 index; u32 cap_offset; u64 size; u64 offset; }   32 bytes
 * struct vfio_irq_info   { u32 argsz; u32 flags; u32 index; u32 count; }   16 bytes
 * struct vfio_group_status { u32 argsz; u32 flags; }   8 bytes
 * </pre>
 */
public final class Vfio implements AutoCloseable {
    static final long VFIO_GET_API_VERSION = io(0);
    static final long VFIO_CHECK_EXTENSION = io(1);
    static final long VFIO_SET_IOMMU = io(2);
    static final long VFIO_GROUP_GET_STATUS = io(3);
    static final long VFIO_GROUP_SET_CONTAINER = io(4);
    static final long VFIO_GROUP_GET_DEVICE_FD = io(6);
    static final long VFIO_DEVICE_GET_REGION_INFO = io(8);
    static final long VFIO_DEVICE_GET_IRQ_INFO = io(9);
    static final long VFIO_DEVICE_SET_IRQS = io(10);
    static final int VFIO_API_VERSION = 0;
    static final int VFIO_TYPE1_IOMMU = 1;
    static final int VFIO_TYPE1V2_IOMMU = 3;
    static final int VFIO_GROUP_FLAGS_VIABLE = 1;
    static final int VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
    static final int VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
    static final int VFIO_PCI_BAR0_REGION_INDEX = 0;
    static final int VFIO_PCI_CONFIG_REGION_INDEX = 7;
    static final int VFIO_PCI_MSIX_IRQ_INDEX = 2;
    static final int PCI_COMMAND = 4;
    static final int PCI_COMMAND_MASTER = 4;
    /** BAR0 register offsets. */
    public static final int INTRMASK = 0;
    public static final int INTRSTATUS = 4;
    public static final int IVPOSITION = 8;
    public static final int DOORBELL = 12;

    private final String address;
    private final int container;
    private final int group;
    private final int device;
    private final int interrupts;
    private final long bar0Offset;
    private final int ownId;

    private Vfio(String address, int container, int group, int device, int interrupts, long bar0Offset, int ownId) {
        this.address = address;
        this.container = container;
        this.group = group;
        this.device = device;
        this.interrupts = interrupts;
        this.bar0Offset = bar0Offset;
        this.ownId = ownId;
    }

    /** {@code _IO(VFIO_TYPE, VFIO_BASE + n)}: type ';' (0x3b), base 100. */
    static long io(int n) {
        return (0x3bL << 8) | (100 + n);
    }

    /** The DOORBELL register value that interrupts vector {@code vector} of peer {@code peer}. */
    public static int doorbellValue(int peer, int vector) {
        if (peer < 0 || peer > 0xffff || vector < 0 || vector > 0xffff) {
            throw new IllegalArgumentException("peer " + peer + " and vector " + vector + " must be 0..65535");
        }
        return peer << 16 | vector;
    }

    /** The {@code vfio_irq_set} that makes eventfd {@code fd} the trigger of MSI-X vector 0. */
    static MemorySegment msixTrigger(Arena arena, int fd) {
        MemorySegment s = arena.allocate(24, 4);
        s.set(ValueLayout.JAVA_INT, 0, 24);
        s.set(ValueLayout.JAVA_INT, 4, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
        s.set(ValueLayout.JAVA_INT, 8, VFIO_PCI_MSIX_IRQ_INDEX);
        s.set(ValueLayout.JAVA_INT, 12, 0);
        s.set(ValueLayout.JAVA_INT, 16, 1);
        s.set(ValueLayout.JAVA_INT, 20, fd);
        return s;
    }

    /**
     * Opens the PCI function at {@code deviceDir} (a {@code /sys/bus/pci/devices/ADDRESS} directory) through VFIO,
     * binding {@code vfio-pci} to it first when no driver is bound, and routes its MSI-X vector 0 to an eventfd.
     *
     * @throws IOException naming the step that failed and what the VM needs
     */
    public static Vfio open(Path deviceDir) throws IOException {
        String address = deviceDir.getFileName().toString();
        Path groupLink = deviceDir.resolve("iommu_group");
        if (!Files.exists(groupLink, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("PCI device " + address + " is in no IOMMU group: VFIO needs an IOMMU (give the VM"
                    + " -machine q35 -device intel-iommu and the kernel intel_iommu=on)");
        }
        bind(deviceDir, address);
        String groupId = Files.readSymbolicLink(groupLink).getFileName().toString();
        int container = -1;
        int group = -1;
        int device = -1;
        int efd = -1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            container = Sys.open("/dev/vfio/vfio");
            int api = (int) Sys.IOCTL_LONG.invokeExact(state, container, VFIO_GET_API_VERSION, 0L);
            if (api != VFIO_API_VERSION) {
                throw new IOException("VFIO API version " + api + ", expected " + VFIO_API_VERSION);
            }
            int iommu = (int) Sys.IOCTL_LONG.invokeExact(state, container, VFIO_CHECK_EXTENSION,
                    (long) VFIO_TYPE1V2_IOMMU) > 0 ? VFIO_TYPE1V2_IOMMU : VFIO_TYPE1_IOMMU;
            group = Sys.open("/dev/vfio/" + groupId);
            MemorySegment status = arena.allocate(8, 4);
            status.set(ValueLayout.JAVA_INT, 0, 8);
            check((int) Sys.IOCTL_PTR.invokeExact(state, group, VFIO_GROUP_GET_STATUS, status), state,
                    "VFIO_GROUP_GET_STATUS");
            if ((status.get(ValueLayout.JAVA_INT, 4) & VFIO_GROUP_FLAGS_VIABLE) == 0) {
                throw new IOException("IOMMU group " + groupId + " of " + address + " is not viable: bind every"
                        + " device of the group to vfio-pci");
            }
            check((int) Sys.IOCTL_PTR.invokeExact(state, group, VFIO_GROUP_SET_CONTAINER,
                    arena.allocateFrom(ValueLayout.JAVA_INT, container)), state, "VFIO_GROUP_SET_CONTAINER");
            check((int) Sys.IOCTL_LONG.invokeExact(state, container, VFIO_SET_IOMMU, (long) iommu), state,
                    "VFIO_SET_IOMMU");
            device = (int) Sys.IOCTL_PTR.invokeExact(state, group, VFIO_GROUP_GET_DEVICE_FD,
                    arena.allocateFrom(address));
            check(device, state, "VFIO_GROUP_GET_DEVICE_FD " + address);
            long bar0 = regionOffset(arena, state, device, VFIO_PCI_BAR0_REGION_INDEX);
            long config = regionOffset(arena, state, device, VFIO_PCI_CONFIG_REGION_INDEX);
            MemorySegment irq = arena.allocate(16, 4);
            irq.set(ValueLayout.JAVA_INT, 0, 16);
            irq.set(ValueLayout.JAVA_INT, 8, VFIO_PCI_MSIX_IRQ_INDEX);
            check((int) Sys.IOCTL_PTR.invokeExact(state, device, VFIO_DEVICE_GET_IRQ_INFO, irq), state,
                    "VFIO_DEVICE_GET_IRQ_INFO");
            if (irq.get(ValueLayout.JAVA_INT, 12) < 1) {
                throw new IOException("PCI device " + address + " has no MSI-X vector (QEMU: -device"
                        + " ivshmem-doorbell,vectors=1)");
            }
            // Bus mastering: an MSI-X message is a memory write by the device, dropped while it is off.
            MemorySegment cmd = arena.allocate(2, 2);
            if ((long) Sys.PREAD.invokeExact(state, device, cmd, 2L, config + PCI_COMMAND) != 2) {
                throw Libc.fail("reading the PCI command register of " + address, state);
            }
            cmd.set(ValueLayout.JAVA_SHORT, 0, (short) (cmd.get(ValueLayout.JAVA_SHORT, 0) | PCI_COMMAND_MASTER));
            if ((long) Sys.PWRITE.invokeExact(state, device, cmd, 2L, config + PCI_COMMAND) != 2) {
                throw Libc.fail("enabling bus mastering of " + address, state);
            }
            MemorySegment reg = arena.allocate(4, 4);
            if ((long) Sys.PREAD.invokeExact(state, device, reg, 4L, bar0 + IVPOSITION) != 4) {
                throw Libc.fail("reading IVPOSITION of " + address, state);
            }
            int ownId = reg.get(ValueLayout.JAVA_INT, 0);
            efd = EventFd.create();
            check((int) Sys.IOCTL_PTR.invokeExact(state, device, VFIO_DEVICE_SET_IRQS, msixTrigger(arena, efd)),
                    state, "VFIO_DEVICE_SET_IRQS (MSI-X vector 0 to an eventfd)");
            return new Vfio(address, container, group, device, efd, bar0, ownId);
        } catch (Throwable t) {
            for (int fd : new int[] {efd, device, group, container}) {
                Sys.close(fd);
            }
            if (t instanceof ErrnoException x) {
                throw new IOException("VFIO on " + address + ": " + x.getMessage(), x);
            }
            if (t instanceof IOException x) {
                throw x;
            }
            throw Libc.rethrow(t);
        }
    }

    private static void check(int rc, MemorySegment state, String what) throws ErrnoException {
        if (rc < 0) {
            throw Libc.fail(what, state);
        }
    }

    private static long regionOffset(Arena arena, MemorySegment state, int device, int index) throws Throwable {
        MemorySegment info = arena.allocate(32, 8);
        info.set(ValueLayout.JAVA_INT, 0, 32);
        info.set(ValueLayout.JAVA_INT, 8, index);
        check((int) Sys.IOCTL_PTR.invokeExact(state, device, VFIO_DEVICE_GET_REGION_INFO, info), state,
                "VFIO_DEVICE_GET_REGION_INFO " + index);
        return info.get(ValueLayout.JAVA_LONG, 24);
    }

    /** Binds {@code vfio-pci} to the device when no driver is bound (needs the module loaded and root). */
    private static void bind(Path deviceDir, String address) throws IOException {
        Path driver = deviceDir.resolve("driver");
        if (Files.exists(driver)) {
            String name = Files.readSymbolicLink(driver).getFileName().toString();
            if (!name.equals("vfio-pci")) {
                throw new IOException("PCI device " + address + " is bound to " + name + ", not vfio-pci");
            }
            return;
        }
        Path drivers = deviceDir.getParent().getParent().resolve("drivers");
        if (!Files.isDirectory(drivers.resolve("vfio-pci"))) {
            throw new IOException("the vfio-pci driver is not loaded (modprobe vfio-pci; in an image without"
                    + " modprobe: insmod irqbypass, vfio, vfio_iommu_type1, vfio_virqfd, vfio-pci-core, vfio-pci)");
        }
        Files.writeString(deviceDir.resolve("driver_override"), "vfio-pci", StandardCharsets.US_ASCII);
        Files.writeString(deviceDir.getParent().getParent().resolve("drivers_probe"), address,
                StandardCharsets.US_ASCII);
        if (!Files.exists(driver)) {
            throw new IOException("vfio-pci did not bind to " + address + " (is the VM given an IOMMU? see the"
                    + " kernel log)");
        }
    }

    /** The PCI address. */
    public String address() {
        return address;
    }

    /** This VM's own peer id on the ivshmem server (IVPOSITION). */
    public int ownId() {
        return ownId;
    }

    /** The eventfd VFIO signals on each MSI-X vector 0 interrupt. */
    public int interruptFd() {
        return interrupts;
    }

    /**
     * A doorbell that interrupts {@code peer}'s vector {@code vector} by writing the DOORBELL register (one
     * {@code pwrite} of a preallocated word, no allocation); its await returns false.
     */
    public RingDoorbell doorbellTo(int peer, int vector) {
        MemorySegment word = Arena.ofAuto().allocate(4, 4);
        word.set(ValueLayout.JAVA_INT, 0, doorbellValue(peer, vector));
        long at = bar0Offset + DOORBELL;
        int fd = device;
        return new RingDoorbell() {
            @Override
            public void ring() {
                try {
                    long n = (long) Sys.PWRITE_FAST.invokeExact(fd, word, 4L, at);
                } catch (Throwable t) {
                    // the peer's nap bounds a lost ring
                }
            }

            @Override
            public boolean await(long timeoutNanos) {
                return false;
            }
        };
    }

    @Override
    public void close() {
        // The device fd last but one: closing it turns MSI-X off (and may turn memory decoding off, so close it only
        // after the region's BAR2 mapping is no longer used).
        Sys.close(interrupts);
        Sys.close(device);
        Sys.close(group);
        Sys.close(container);
    }
}
