package io.ferry.client;

import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@link Ferry#connect(HostAddress, String)}: each form of a host address to the connect that serves it. */
final class HostConnect {
    private HostConnect() {
    }

    /**
     * {@link Ferry#reconnect()}: a new connection on the mapping of {@code old}, whose session has ended; {@code
     * mapped} false when {@code old} was closed (its mapping is gone and nothing can be reused).
     */
    static Ferry reconnect(Ferry old, boolean mapped) {
        if (!mapped) {
            throw new FerryException(Status.INVALID_ARGUMENT, "this connection was closed (its region unmapped): "
                    + "connect anew (Ferry.connect) rather than reconnect()");
        }
        VmInterrupts vm = old.vmInterrupts();
        Ferry f = Ferry.connect(old.region().lane(0), true);
        if (vm != null) {
            // The device's interrupts serve lane 0 (docs/vm.md); another lane naps.
            f.vmInterrupts(f.lane() == 0 ? vm : VmInterrupts.naps(f.region(), "lane " + f.lane()
                    + ": the device's interrupts serve lane 0"));
        }
        return f;
    }

    static Ferry connect(HostAddress host, String guest) {
        try {
            return switch (host) {
                case HostAddress.Socket s -> Ferry.connect(s.path(), guest, Ferry.secretFromEnvironment(guest));
                case HostAddress.Region r -> Ferry.connect(regionFile(r, guest));
                case HostAddress.Pci p -> Ferry.connectPci(p.device() == null ? guest : p.device());
            };
        } catch (FerryException e) {
            if (e.status() != Status.HOST_UNAVAILABLE) {
                throw e;
            }
            // Where the address came from is what the user changes: name it (FERRY_HOST, --host, the default).
            throw new FerryException(e.status(), bare(e) + " [" + where(host)
                    + "; FERRY_HOST takes unix:SOCKET, file:REGION or pci:ADDRESS]");
        }
    }

    /** The message {@code e} was made with, without the status's name and hint its constructor added. */
    private static String bare(FerryException e) {
        String m = e.getMessage();
        String prefix = e.status().message() + ": ";
        String suffix = e.status().hint().isEmpty() ? "" : " (" + e.status().hint() + ")";
        m = m.startsWith(prefix) ? m.substring(prefix.length()) : m;
        return !suffix.isEmpty() && m.endsWith(suffix) ? m.substring(0, m.length() - suffix.length()) : m;
    }

    private static String where(HostAddress host) {
        return "host " + host + " from " + host.origin();
    }

    private static Path regionFile(HostAddress.Region r, String guest) {
        Path file = r.regionOf(guest);
        if (!Files.exists(file)) {
            throw new FerryException(Status.NOT_CONFIGURED, "no region for guest '" + guest + "' at " + file
                    + ": a host makes REGIONDIR/" + guest + ".region for a guest with 'region: file' in its config "
                    + "(is the host running, with this region directory?) [" + where(r) + "]");
        }
        return file;
    }
}
