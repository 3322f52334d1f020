package io.ferry.host.compute;

import io.ferry.host.vfio.PciAddress;
import java.util.logging.Logger;

/**
 * A test seam: PCI addresses given to devices that report none, through the host JVM's system property
 * {@value #PROPERTY} ({@code BACKEND/INDEX=DDDD:BB:SS.F}, comma-separated; e.g. {@code pocl/0=0000:00:1f.0}). The
 * tests use it to give PoCL's CPU device an address, so that VFIO assignment and {@code release-device} can be
 * exercised against a real host on a machine without an assignable device (docs/vfio.md). Only whoever starts the
 * host process sets it (a guest cannot: it reaches the host through its region only); the host logs a warning when
 * it is set. Not for production: a device with a made-up address can be withdrawn but no VM can be given it.
 */
final class TestPciBusIds {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final String PROPERTY = "ferry.test.pciBusIds";

    private TestPciBusIds() {
    }

    /** The address the property gives {@code backend}'s device {@code index}, normalized; null when none. */
    static String forDevice(String backend, int index) {
        String spec = System.getProperty(PROPERTY);
        if (spec == null || spec.isBlank()) {
            return null;
        }
        for (String entry : spec.split(",")) {
            int eq = entry.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException(PROPERTY + ": '" + entry.strip() + "' is not BACKEND/INDEX=BDF");
            }
            if (entry.substring(0, eq).strip().equalsIgnoreCase(backend + "/" + index)) {
                String address = PciAddress.parse(entry.substring(eq + 1).strip());
                LOG.warning(() -> "TEST SEAM: " + backend + " device " + index + " is given PCI address " + address
                        + " by -D" + PROPERTY + " (tests only; it is not the device's own)");
                return address;
            }
        }
        return null;
    }
}
