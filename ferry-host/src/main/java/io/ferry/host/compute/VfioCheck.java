package io.ferry.host.compute;

import io.ferry.host.vfio.Assignments;
import io.ferry.host.vfio.Assignments.Assignment;
import java.io.IOException;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The host's side of VFIO assignment: a device whose PCI address a VFIO assignment covers (any member of the
 * assigned group) belongs to a VM, and the host never offers it. Read when the host discovers its devices, and again
 * on {@code rediscover} for the devices a running host gave up ({@link Devices#rediscover}). A state file that cannot be read makes the
 * host leave out every device that has a PCI address (it cannot tell which are assigned); devices without one (a
 * CPU device) are served.
 */
final class VfioCheck {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final VfioCheck NONE = new VfioCheck(null, null, null);

    private final Path file;
    private final Assignments state;
    private final String unreadable;

    private VfioCheck(Path file, Assignments state, String unreadable) {
        this.file = file;
        this.state = state;
        this.unreadable = unreadable;
    }

    static VfioCheck load(Path file) {
        try {
            Assignments a = Assignments.load(file);
            if (!a.all().isEmpty()) {
                LOG.info(() -> "VFIO: " + a.all().size() + " assignment(s) recorded in " + file + " ("
                        + String.join(", ", a.all().stream().map(x -> x.bdf() + " to VM " + x.vm()).toList())
                        + "); devices with those PCI addresses are not served");
            }
            return new VfioCheck(file, a, null);
        } catch (IOException e) {
            LOG.severe("VFIO: " + e.getMessage() + "; until it is fixed no device with a PCI address is served");
            return new VfioCheck(file, null, e.getMessage());
        }
    }

    /** Whether there is anything to check. */
    private boolean active() {
        return unreadable != null || state != null && !state.all().isEmpty();
    }

    /** Whether the device at {@code pciBusId} (null: none) must not be served; logs the refusal. */
    boolean refuses(String backend, String device, String pciBusId) {
        if (pciBusId == null || !active()) {
            return false;
        }
        if (unreadable != null) {
            LOG.warning(() -> "VFIO: not serving " + backend + " device '" + device + "' (PCI " + pciBusId
                    + "): the state file " + file + " cannot be read");
            return true;
        }
        Assignment a = state.covering(pciBusId);
        if (a != null) {
            LOG.warning(() -> "VFIO: not serving " + backend + " device '" + device + "' (PCI " + pciBusId
                    + "): it is assigned to VM '" + a.vm() + "' (" + file + "); ferry device release " + pciBusId
                    + " gives it back, and the next host start serves it");
            return true;
        }
        return false;
    }
}
