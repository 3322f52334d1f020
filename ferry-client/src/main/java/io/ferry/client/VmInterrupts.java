package io.ferry.client;

import io.ferry.channel.Region;
import io.ferry.channel.RingDoorbell;
import io.ferry.channel.os.EventFdDoorbell;
import io.ferry.channel.os.Vfio;
import java.io.IOException;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * How a client inside a VM waits for the host, on a region that is an {@code ivshmem-doorbell} device (see
 * docs/vm.md): with the device's interrupts when it can, else with timed naps.
 *
 * <ul>
 *   <li><b>Interrupts</b> ({@link #active()}): the device is opened through VFIO ({@link Vfio}); the completion
 *       ring's consumer sleeps on the eventfd that VFIO signals for MSI-X vector 0, which the host raises when it
 *       publishes a completion while the guest sleeps; the command ring's producer, when the host's endpoint sleeps,
 *       writes the DOORBELL register addressed to the host (peer 0), which signals the host's eventfd. Both only when
 *       the other side announced that it sleeps (the rings' CONSUMER_WAITING word), so a busy exchange costs no
 *       interrupt.</li>
 *   <li><b>Timed naps</b>: no VFIO (no {@code vfio-pci} module, no virtual IOMMU, an {@code ivshmem-plain} device
 *       without interrupts, not root): the client naps as before and the host wakes on its own timeouts.</li>
 * </ul>
 * The choice is logged once on {@code ferry.client} ("VM wait: ...").
 */
public final class VmInterrupts implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.client");
    /** The host's peer id on the ivshmem server. */
    static final int HOST_PEER = 0;

    private final Region region;
    private final AutoCloseable device;
    private final EventFdDoorbell interrupts;
    private final RingDoorbell hostBell;
    private final String description;
    private volatile boolean on;

    private VmInterrupts(Region region, AutoCloseable device, EventFdDoorbell interrupts, RingDoorbell hostBell,
                         String description) {
        this.region = region;
        this.device = device;
        this.interrupts = interrupts;
        this.hostBell = hostBell == null ? null : new CountingBell(hostBell);
        this.description = description;
    }

    /**
     * Sets up interrupts for {@code region}, mapped from the PCI device at {@code deviceDir}; never fails: without
     * VFIO the client naps, and the log line says why.
     */
    static VmInterrupts attach(Region region, Path deviceDir) {
        VmInterrupts v;
        try {
            Vfio vfio = Vfio.open(deviceDir);
            v = new VmInterrupts(region, vfio, new EventFdDoorbell(vfio.interruptFd(), -1, null),
                    vfio.doorbellTo(HOST_PEER, 0), "MSI-X interrupts through vfio-pci " + vfio.address()
                            + " (this VM is ivshmem peer " + vfio.ownId() + ", the host peer " + HOST_PEER + ")");
            v.enable(true);
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            v = new VmInterrupts(region, null, null, null, "timed naps (no interrupts: " + e.getMessage() + ")");
        }
        String d = v.description;
        LOG.info(() -> "VM wait: " + d);
        return v;
    }

    /** Timed naps for {@code region}, for the reason {@code why} (a lane other than 0: interrupts serve lane 0). */
    static VmInterrupts naps(Region region, String why) {
        VmInterrupts v = new VmInterrupts(region, null, null, null, "timed naps (" + why + ")");
        LOG.info(() -> "VM wait: " + v.description);
        return v;
    }

    /**
     * Makes {@code ferry} wait on eventfds instead of a PCI device: it sleeps on {@code interruptFd} for completions,
     * and signals {@code hostDoorbellFd} when the host sleeps. For a VMM that hands the guest eventfds directly, and
     * for tests that play QEMU's part (the eventfds of QEMU's ivshmem-server protocol). The descriptors stay the
     * caller's; {@code hostDoorbellFd} -1: never wake the host. Replaces any earlier setup.
     */
    public static VmInterrupts attachEventFds(Ferry ferry, int interruptFd, int hostDoorbellFd) {
        VmInterrupts v = new VmInterrupts(ferry.region(), null, new EventFdDoorbell(interruptFd, -1, null),
                hostDoorbellFd < 0 ? null : new EventFdDoorbell(-1, hostDoorbellFd, null), "eventfd interrupts (fd "
                        + interruptFd + ", host doorbell fd " + hostDoorbellFd + ")");
        v.enable(true);
        ferry.vmInterrupts(v);
        return v;
    }

    /** Whether interrupts are available (they may still be switched off by {@link #enable}). */
    public boolean active() {
        return interrupts != null;
    }

    /** Whether the client waits with interrupts now. */
    public boolean enabled() {
        return on;
    }

    /** What the client waits with, and why: "MSI-X interrupts through vfio-pci ..." or "timed naps (...)". */
    public String description() {
        return description;
    }

    /**
     * Switches interrupts on or off (off: timed naps, as without VFIO; for measuring the difference). Call between
     * calls, from the thread that makes them. No effect when interrupts are not available.
     */
    public void enable(boolean enable) {
        if (interrupts == null) {
            return;
        }
        region.completionRing().doorbell(enable ? interrupts : null);
        region.commandRing().doorbell(enable ? hostBell : null);
        on = enable;
    }

    /** Interrupts received: times the completion ring's wait found the MSI-X eventfd signalled. */
    public long interruptsReceived() {
        return interrupts == null ? 0 : interrupts.wakeups();
    }

    /** DOORBELL writes to the host: times the client woke the sleeping host. */
    public long doorbellsRung() {
        return hostBell instanceof CountingBell c ? c.rings : 0;
    }

    @Override
    public void close() {
        enable(false);
        if (device != null) {
            try {
                device.close();
            } catch (Exception e) {
                LOG.fine(() -> "closing the VM's interrupt device: " + e);
            }
        }
    }

    /** Counts the rings of a doorbell (the producer thread only increments). */
    private static final class CountingBell implements RingDoorbell {
        private final RingDoorbell bell;
        private volatile long rings;

        CountingBell(RingDoorbell bell) {
            this.bell = bell;
        }

        @Override
        public void ring() {
            bell.ring();
            rings++;
        }

        @Override
        public boolean await(long timeoutNanos) {
            return false;
        }
    }
}
