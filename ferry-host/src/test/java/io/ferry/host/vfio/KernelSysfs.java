package io.ferry.host.vfio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The fixture's kernel: writes to sysfs attributes act as the kernel's do. {@code drivers/D/unbind} removes the
 * driver links (EBUSY for a {@link #busy} function); {@code drivers/D/bind} binds when the function is unbound and
 * its {@code driver_override}, if set, names D (else ENODEV, as {@code pci_match_device}); {@code drivers_probe} binds
 * an unbound function to its override, else to its native driver, and reports nothing when no driver takes it;
 * {@code driver_override} stores the value, a newline clears it (read back as {@code (null)}). Reads pass through.
 * {@link #failAtWrite} makes the Nth write fail, to test rollback from every point.
 */
public final class KernelSysfs implements Sysfs {
    private final SysfsFixture fx;
    private final Sysfs files;
    /** Functions whose driver refuses to let go (unbind fails with EBUSY). */
    public final Set<String> busy = new HashSet<>();
    /** Drivers whose probe fails for every function (bind fails; drivers_probe leaves the function unbound). */
    final Set<String> failingDrivers = new HashSet<>();
    /** Fail the write with this number (1 is the first), or never (0). */
    int failAtWrite;
    int writes;

    KernelSysfs(SysfsFixture fx) {
        this.fx = fx;
        this.files = Sysfs.at(fx.root);
    }

    @Override
    public Path root() {
        return fx.root;
    }

    @Override
    public String read(String path) throws IOException {
        return files.read(path);
    }

    @Override
    public String linkName(String path) throws IOException {
        return files.linkName(path);
    }

    @Override
    public List<String> list(String dir) throws IOException {
        return files.list(dir);
    }

    @Override
    public boolean exists(String path) {
        return files.exists(path);
    }

    @Override
    public void write(String path, String value) throws IOException {
        writes++;
        if (writes == failAtWrite) {
            throw new IOException("Input/output error (the fixture fails write " + writes + ")");
        }
        if (!files.exists(path)) {
            throw new IOException("No such file or directory: " + path);
        }
        String[] p = path.split("/");
        String bdf = value.strip();
        if (path.equals("bus/pci/drivers_probe")) {
            probe(device(bdf));
        } else if (p.length == 5 && path.startsWith("bus/pci/drivers/") && p[4].equals("unbind")) {
            device(bdf);
            if (!p[3].equals(driverOf(bdf))) {
                throw new IOException("No such device: " + bdf + " is not bound to " + p[3]);
            }
            if (busy.contains(bdf)) {
                throw new IOException("Device or resource busy: " + p[3] + " holds " + bdf);
            }
            fx.unlink(bdf, p[3]);
        } else if (p.length == 5 && path.startsWith("bus/pci/drivers/") && p[4].equals("bind")) {
            device(bdf);
            if (driverOf(bdf) != null) {
                throw new IOException("Device or resource busy: " + bdf + " is bound to " + driverOf(bdf));
            }
            if (!matches(bdf, p[3]) || failingDrivers.contains(p[3])) {
                throw new IOException("No such device: " + p[3] + " does not take " + bdf);
            }
            fx.link(bdf, p[3]);
        } else if (p.length == 5 && path.startsWith("bus/pci/devices/") && p[4].equals("driver_override")) {
            files.write(path, bdf.isEmpty() ? "(null)\n" : bdf + "\n");
        } else {
            files.write(path, value);
        }
    }

    private String device(String bdf) throws IOException {
        if (!files.exists("bus/pci/devices/" + bdf + "/class")) {
            throw new IOException("No such device: " + bdf);
        }
        return bdf;
    }

    private String driverOf(String bdf) throws IOException {
        return files.linkName("bus/pci/devices/" + bdf + "/driver");
    }

    private String override(String bdf) throws IOException {
        String o = files.read("bus/pci/devices/" + bdf + "/driver_override");
        return o == null || o.equals("(null)") ? null : o;
    }

    /** pci_match_device: the override, when set, is the only driver that matches; vfio-pci takes any function. */
    private boolean matches(String bdf, String driver) throws IOException {
        String o = override(bdf);
        if (o != null) {
            return o.equals(driver);
        }
        return driver.equals(fx.nativeDriver.get(bdf)); // vfio-pci's id table is empty: it needs the override
    }

    private void probe(String bdf) throws IOException {
        if (driverOf(bdf) != null) {
            return;
        }
        String o = override(bdf);
        String driver = o != null ? o : fx.nativeDriver.get(bdf);
        if (driver != null && files.exists("bus/pci/drivers/" + driver) && matches(bdf, driver)
                && !failingDrivers.contains(driver)) {
            fx.link(bdf, driver);
        }
    }
}
