package io.ferry.host.compute;

import io.ferry.protocol.DeviceType;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The host's device list as a device worker serving a guest's session must see it: every device under the host's
 * index, so that a guest's device index means the same device in the worker as in the host.
 *
 * <p>The host writes, for each of its devices in order, its backend, the backend's own index and its identity (name,
 * vendor, version). The worker finds each device of its backend among those the backend shows it <b>by identity</b>
 * (the backend's index first, where it names the same device): inside the sandbox a backend may see fewer devices
 * than the host (NVIDIA's OpenCL platform sees no GPU without {@code /dev/nvidia*}), so its indices can shift. A
 * device of another backend, or one the worker cannot see, keeps its place, withdrawn with the reason: a guest
 * naming it gets that reason, never another device.
 */
final class WorkerDevices {
    private static final String PREFIX = "device.";

    private WorkerDevices() {
    }

    /** Writes the host's devices into the worker's settings. */
    static void write(Devices host, Properties p) {
        List<Devices.Device> all = host.all();
        p.setProperty(PREFIX + "count", Integer.toString(all.size()));
        for (Devices.Device d : all) {
            DeviceInfo i = d.info();
            p.setProperty(PREFIX + d.index(), String.join("\t", d.backend().name(), Integer.toString(i.index()),
                    clean(i.name()), clean(i.vendor()), clean(i.version()), i.type().name()));
        }
    }

    /** The host's devices as the worker for {@code backend} can serve them (see the class comment). */
    static Devices read(ComputeBackend backend, Properties p) {
        int count = Integer.parseInt(p.getProperty(PREFIX + "count"));
        List<DeviceInfo> visible = backend.devices();
        Set<Integer> taken = new HashSet<>();
        List<Devices.Device> out = new ArrayList<>();
        Map<Integer, String> withdrawn = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String[] f = p.getProperty(PREFIX + i).split("\t", -1);
            String name = f[2];
            DeviceInfo match = null;
            if (f[0].equals(backend.name())) {
                int at = Integer.parseInt(f[1]);
                for (DeviceInfo v : visible) {
                    if (!taken.contains(v.index()) && same(v, f) && (match == null || v.index() == at)) {
                        match = v;
                    }
                }
            }
            if (match != null) {
                taken.add(match.index());
                out.add(new Devices.Device(i, backend, match));
            } else {
                DeviceInfo stub = new DeviceInfo(-1, name, f[3], f[4], DeviceType.valueOf(f[5]), 0, 0, 1, 1, List.of());
                out.add(new Devices.Device(i, backend, stub));
                withdrawn.put(i, f[0].equals(backend.name())
                        ? "device " + i + " ('" + name + "') is not visible inside this guest's sandboxed device worker"
                        : "device " + i + " ('" + name + "', backend " + f[0] + ") is not served by this guest's "
                        + "device worker (backend " + backend.name() + ")");
            }
        }
        Devices devices = Devices.ofList(backend, out);
        withdrawn.forEach(devices::withdraw);
        return devices;
    }

    private static boolean same(DeviceInfo v, String[] f) {
        return clean(v.name()).equals(f[2]) && clean(v.vendor()).equals(f[3]) && clean(v.version()).equals(f[4])
                && v.type().name().equals(f[5]);
    }

    private static String clean(String s) {
        return s == null ? "" : s.replace('\t', ' ').replace('\n', ' ');
    }
}
