package io.ferry.bench;

import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * Which device {@code ./ferry bench transport --device TEXT} measures: the first device, in the host's order, that
 * {@code TEXT} matches, both as the guest sees it and called natively for the baselines. {@code TEXT} (any case) is
 * a backend's name, or part of a device's name, vendor or version; {@code BACKEND:PART} asks for both (for example
 * {@code opencl:nvidia}, NVIDIA's OpenCL device rather than the same card under the CUDA backend). Without
 * {@code --device}: the host's first device.
 */
final class DeviceChoice {
    /** A backend's device, for the native baselines. */
    record Native(ComputeBackend backend, DeviceInfo device) {
    }

    private DeviceChoice() {
    }

    /** Whether {@code text} selects the device {@code name} ({@code vendor}, {@code version}) of {@code backend}. */
    static boolean matches(String text, String backend, String name, String vendor, String version) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        int colon = t.indexOf(':');
        if (colon >= 0) {
            String part = t.substring(colon + 1).strip();
            return backend.equalsIgnoreCase(t.substring(0, colon).strip())
                    && (part.isEmpty() || describes(part, name, vendor, version));
        }
        return !t.isEmpty() && (backend.equalsIgnoreCase(t) || describes(t, name, vendor, version));
    }

    private static boolean describes(String part, String... texts) {
        for (String s : texts) {
            if (s != null && s.toLowerCase(Locale.ROOT).contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** The device the guest measures: the first of {@code ferry}'s that {@code text} matches (null: the first). */
    static Device guest(Ferry ferry, String text) {
        if (text == null) {
            return ferry.defaultDevice();
        }
        List<String> seen = new ArrayList<>();
        for (Device d : ferry.devices()) {
            if (matches(text, d.backend(), d.name(), d.vendor(), d.version())) {
                return d;
            }
            seen.add(describe(d.backend(), d.name(), d.vendor(), d.version()));
        }
        throw new IllegalArgumentException(none(text, "the host offers", seen));
    }

    /** The same device called in this process: the first of the backends' that {@code text} matches. */
    static Native inProcess(String text) {
        List<String> seen = new ArrayList<>();
        List<String> without = new ArrayList<>();
        for (ComputeBackend b : ServiceLoader.load(ComputeBackend.class)) {
            List<DeviceInfo> devices = b.devices();
            if (devices.isEmpty()) {
                without.add(b.name() + " (" + b.unavailableReason() + ")");
            }
            for (DeviceInfo d : devices) {
                if (text == null || matches(text, b.name(), d.name(), d.vendor(), d.version())) {
                    return new Native(b, d);
                }
                seen.add(describe(b.name(), d.name(), d.vendor(), d.version()));
            }
        }
        if (text == null) {
            throw new IllegalStateException("no compute backend with a device for the native baseline: " + without);
        }
        throw new IllegalArgumentException(none(text, "this machine has", seen)
                + (without.isEmpty() ? "" : "; backends without devices: " + String.join(", ", without)));
    }

    static String describe(String backend, String name, String vendor, String version) {
        return backend + ": " + name + " (" + vendor + ", " + version + ")";
    }

    private static String none(String text, String where, List<String> seen) {
        return "no device matches --device '" + text + "'; " + where + (seen.isEmpty() ? " none"
                : ": " + String.join("; ", seen)) + " (TEXT: a backend, part of a name, vendor or version, or "
                + "BACKEND:TEXT)";
    }
}
