package io.ferry.host.vfio;

import io.ferry.host.vfio.Assignments.Assignment;
import io.ferry.host.vfio.Assignments.Member;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Assigns an accelerator's IOMMU group to vfio-pci for a VM, and gives it back. Before touching anything,
 * {@link #assign} checks that the IOMMU is on, vfio-pci is loaded, every member of the group is assignable (an
 * accelerator, the audio function of an accelerator's card, already on vfio-pci, or unbound) or a bridge (bridges
 * keep their driver); then a member a running Ferry host serves is given up by that host (or the assign is refused:
 * {@link HostRelease}). Then, member by member: unbind from the
 * original driver, set {@code driver_override} to vfio-pci, write the address to {@code bus/pci/drivers_probe}, and
 * check the {@code driver} link. The original drivers go to the state file ({@link Assignments}) last. Any failure
 * undoes every step done ({@link Steps}), newest first, so a device is back on its driver; {@link #release} is the
 * same in reverse and on failure leaves the group on vfio-pci and the record in place.
 */
public final class VfioAssigner {
    private static final Logger LOG = Logger.getLogger("ferry.vfio");
    static final String DRIVERS = "bus/pci/drivers/";
    static final String PROBE = "bus/pci/drivers_probe";

    private final PciScan scan;
    private final Sysfs sysfs;
    private final Path stateFile;

    public VfioAssigner(Sysfs sysfs, Path stateFile) {
        this.sysfs = sysfs;
        this.scan = new PciScan(sysfs);
        this.stateFile = stateFile;
    }

    /**
     * Moves {@code bdf}'s IOMMU group to vfio-pci for {@code vm}.
     *
     * @param served the functions a running Ferry host serves, by address, with the guests it serves them to (empty
     *               when no host runs)
     * @return the recorded assignment (the existing one when {@code bdf} is already assigned to {@code vm})
     */
    public Assignment assign(String bdf, String vm, Map<String, List<String>> served) throws IOException {
        return assign(bdf, vm, served, (member, guests) -> {
            throw new VfioException("Ferry's host serves " + member + (guests.isEmpty() ? "" : " to guests "
                    + String.join(", ", guests)) + "; a device a backend has open cannot be assigned. Stop "
                    + "the host, assign, and start it again: a host leaves assigned devices out (docs/vfio.md)");
        });
    }

    /**
     * Asks the running Ferry host to stop serving a function before the assignment writes anything; throws (with the
     * host's reason) when it does not.
     */
    public interface HostRelease {
        void release(String bdf, List<String> guests) throws IOException;
    }

    /**
     * Moves {@code bdf}'s IOMMU group to vfio-pci for {@code vm}; a member the running host serves is first given up
     * by it through {@code release}, once every other check has passed (and before the first write).
     */
    public Assignment assign(String bdf, String vm, Map<String, List<String>> served, HostRelease release)
            throws IOException {
        String address = PciAddress.parse(bdf);
        Assignments.vmName(vm);
        try (AutoCloseable lock = Assignments.lock(stateFile)) {
            Assignments state = Assignments.load(stateFile);
            PciFunction f = scan.function(address);
            if (f == null) {
                throw new VfioException("no PCI function " + address + " under " + sysfs.root().resolve(
                        PciScan.DEVICES) + " (ferry device list shows the accelerators)");
            }
            if (!f.isAccelerator()) {
                throw new VfioException(address + " is a " + f.kind() + " function, not an accelerator (display, "
                        + "processing accelerator, coprocessor); assign the accelerator and its group comes with it");
            }
            Assignment existing = state.covering(address);
            if (existing != null && existing.pending()) {
                throw new VfioException("an assignment of " + existing.bdf() + " to VM '" + existing.vm() + "' "
                        + "started and did not finish (the command was stopped in the middle); run ferry device "
                        + "release " + existing.bdf() + " to restore its drivers, then assign again");
            }
            if (existing != null) {
                if (existing.vm().equals(vm)) {
                    return existing;
                }
                throw new VfioException(address + " is assigned to VM '" + existing.vm() + "' already; run ferry "
                        + "device release " + existing.bdf() + " first");
            }
            List<PciFunction> moving = check(f, state);
            for (PciFunction m : moving) {
                List<String> guests = served.get(m.bdf());
                if (guests != null) {
                    release.release(m.bdf(), guests);
                }
            }
            Assignment a = new Assignment(vm, address, f.iommuGroup(), moving.stream()
                    .map(m -> new Member(m.bdf(), m.driver(), m.driverOverride())).toList(), true);
            state.with(a).save(); // pending: what to restore, on disk before the first sysfs write
            Steps steps = new Steps();
            try {
                for (PciFunction m : moving) {
                    toVfio(steps, m);
                }
                state.with(a.done()).save();
            } catch (IOException | RuntimeException e) {
                List<String> undo = steps.rollBack();
                if (undo.isEmpty()) {
                    try {
                        state.save(); // the pending record goes
                    } catch (IOException s) {
                        undo = List.of("removing the pending record from " + stateFile + " failed: " + s.getMessage());
                    }
                }
                throw failed("assigning " + address + " to " + vm, e, undo,
                        "every member of IOMMU group " + f.iommuGroup() + " is back on its driver");
            }
            LOG.info(() -> "vfio: assigned IOMMU group " + f.iommuGroup() + " (" + String.join(", ",
                    a.members().stream().map(Member::bdf).toList()) + ") to VM " + vm);
            return a.done();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) { // the lock's close
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Gives {@code bdf}'s assignment back: every moved member to its original driver; the record is removed. */
    public Assignment release(String bdf) throws IOException {
        String address = PciAddress.parse(bdf);
        try (AutoCloseable lock = Assignments.lock(stateFile)) {
            Assignments state = Assignments.load(stateFile);
            Assignment a = state.covering(address);
            if (a == null) {
                throw new VfioException(address + " is not assigned (no record in " + stateFile + "); ferry device "
                        + "list shows what is");
            }
            Steps steps = new Steps();
            try {
                for (Member m : a.members()) {
                    fromVfio(steps, m);
                }
                state.without(a).save();
            } catch (IOException | RuntimeException e) {
                throw failed("releasing " + a.bdf() + " from " + a.vm(), e, steps.rollBack(),
                        "the group is on vfio-pci as before and still recorded");
            }
            LOG.info(() -> "vfio: released IOMMU group " + a.iommuGroup() + " of VM " + a.vm());
            return a;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The refusals, in the order an operator fixes them; the members to move when there are none. */
    private List<PciFunction> check(PciFunction f, Assignments state) throws IOException {
        if (!scan.iommuOn() || f.iommuGroup() == null) {
            throw new VfioException("the IOMMU is off: " + sysfs.root().resolve(PciScan.GROUPS) + " is empty, so "
                    + "no device can be assigned. Turn it on in the firmware (VT-d / AMD-Vi) and on the kernel "
                    + "command line (intel_iommu=on or amd_iommu=on, with iommu=pt), then reboot; docs/vfio.md");
        }
        if (!scan.vfioLoaded()) {
            throw new VfioException("the vfio-pci driver is not loaded (" + sysfs.root().resolve(DRIVERS
                    + PciFunction.VFIO_DRIVER) + " is missing): run modprobe vfio-pci");
        }
        List<PciFunction> group = scan.group(f);
        List<String> problems = new ArrayList<>();
        List<PciFunction> moving = new ArrayList<>();
        for (PciFunction m : group) {
            if (m.isBridge()) {
                continue;
            }
            boolean companion = m.isAudio() && group.stream().anyMatch(o -> o.isAccelerator()
                    && o.slot().equals(m.slot()));
            if (!(m.isAccelerator() || companion || m.onVfio() || m.driver() == null)) {
                problems.add(m.bdf() + " (" + m.kind() + ", driver " + m.driver() + ")");
            }
            Assignment other = state.covering(m.bdf());
            if (other != null) {
                problems.add(m.bdf() + " (assigned to VM '" + other.vm() + "' already)");
            }
            moving.add(m); // one already on vfio-pci is recorded as such, and left there by release
        }
        if (!problems.isEmpty()) {
            throw new VfioException("IOMMU group " + f.iommuGroup() + " is not viable for assignment: "
                    + String.join(", ", problems) + " would go to the VM with it (a group is assigned whole). "
                    + "Move the card to a slot with its own group (ACS), or see docs/vfio.md");
        }
        return moving;
    }

    /** Unbind from the original driver, driver_override = vfio-pci, drivers_probe, check; each with its undo. */
    private void toVfio(Steps steps, PciFunction m) throws IOException {
        if (m.onVfio()) {
            return;
        }
        String bdf = m.bdf();
        String original = m.driver();
        if (original != null) {
            steps.run("unbinding " + bdf + " from " + original, () -> sysfs.write(DRIVERS + original + "/unbind", bdf),
                    () -> bindTo(bdf, original));
        }
        steps.run("setting " + bdf + "/driver_override to vfio-pci",
                () -> sysfs.write(PciScan.DEVICES + bdf + "/driver_override", PciFunction.VFIO_DRIVER),
                () -> sysfs.write(PciScan.DEVICES + bdf + "/driver_override", override(m.driverOverride())));
        steps.run("binding " + bdf + " to vfio-pci (drivers_probe)", () -> {
            sysfs.write(PROBE, bdf);
            expectDriver(bdf, PciFunction.VFIO_DRIVER);
        }, () -> sysfs.write(DRIVERS + PciFunction.VFIO_DRIVER + "/unbind", bdf));
    }

    /** Unbind from vfio-pci, restore driver_override, bind the original driver, check; each with its undo. */
    private void fromVfio(Steps steps, Member m) throws IOException {
        if (PciFunction.VFIO_DRIVER.equals(m.driver())) {
            return; // it was on vfio-pci before the assignment
        }
        String bdf = m.bdf();
        String now = sysfs.linkName(PciScan.DEVICES + bdf + "/driver");
        if (PciFunction.VFIO_DRIVER.equals(now)) {
            steps.run("unbinding " + bdf + " from vfio-pci", () -> sysfs.write(DRIVERS + PciFunction.VFIO_DRIVER
                    + "/unbind", bdf), () -> bindTo(bdf, PciFunction.VFIO_DRIVER));
            now = null;
        }
        steps.run("restoring " + bdf + "/driver_override", () -> sysfs.write(PciScan.DEVICES + bdf
                + "/driver_override", override(m.driverOverride())), () -> sysfs.write(PciScan.DEVICES + bdf
                + "/driver_override", PciFunction.VFIO_DRIVER));
        String original = m.driver();
        if (original != null && now == null) {
            steps.run("binding " + bdf + " to " + original, () -> bindTo(bdf, original),
                    () -> sysfs.write(DRIVERS + original + "/unbind", bdf));
        }
    }

    /** Binds through the driver's {@code bind}, then {@code drivers_probe} if that did not take; checks the link. */
    private void bindTo(String bdf, String driver) throws IOException {
        IOException first = null;
        try {
            sysfs.write(DRIVERS + driver + "/bind", bdf);
        } catch (IOException e) {
            first = e;
        }
        if (!driver.equals(sysfs.linkName(PciScan.DEVICES + bdf + "/driver"))) {
            try {
                sysfs.write(PROBE, bdf);
            } catch (IOException e) {
                throw new IOException("binding " + bdf + " to " + driver + " failed: " + (first == null
                        ? e.getMessage() : first.getMessage()), e);
            }
        }
        expectDriver(bdf, driver);
    }

    private void expectDriver(String bdf, String driver) throws IOException {
        String now = sysfs.linkName(PciScan.DEVICES + bdf + "/driver");
        if (!driver.equals(now)) {
            throw new IOException(bdf + " is " + (now == null ? "unbound" : "bound to " + now) + ", not to " + driver);
        }
    }

    /** What to write to driver_override to restore {@code value}: a newline clears it. */
    private static String override(String value) {
        return value == null ? "\n" : value;
    }

    private static VfioException failed(String what, Exception e, List<String> undoFailures, String whenClean) {
        if (undoFailures.isEmpty()) {
            return new VfioException(what + " failed, and every step was undone (" + whenClean + "): "
                    + e.getMessage());
        }
        return new VfioException(what + " failed: " + e.getMessage() + "; and undoing it failed too: "
                + String.join("; ", undoFailures) + ". Check ferry device list and bind the functions by hand "
                + "(docs/vfio.md, 'By hand')");
    }
}
