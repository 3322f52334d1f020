package io.ferry.cli;

import io.ferry.client.HostAddress;
import io.ferry.host.config.HostConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code --host ADDRESS}: the one way a command names the host it talks to, with the forms of {@code FERRY_HOST}
 * ({@link HostAddress}); and, for commands that ask the host's admin socket ({@code status}), where that socket
 * lies for a host so named.
 */
final class HostFlag {
    /** The description every {@code --host} option shows. */
    static final String DESCRIPTION = "the host: unix:SOCKET (its guest socket), file:PATH (a region file or the "
            + "host's region directory), pci:ADDRESS (an ivshmem device inside a VM), ferry+tls://HOST:PORT/GUEST "
            + "(the network; docs/network.md), or a path "
            + "(default: $FERRY_HOST, else ";

    private HostFlag() {
    }

    /**
     * The admin socket of the host at {@code host}, where its config leaves the sockets at their defaults:
     * {@code REGIONDIR/admin.sock}, the region directory found from the guest socket ({@code /run/ferry/guest.sock}
     * for {@code /dev/shm/ferry}, {@code DIR.sock} for {@code DIR}) or the region path.
     *
     * @throws HostConfig.ConfigException where the address does not tell (a PCI device, a socket not named
     *                                    {@code NAME.sock}): the message says to pass the config or the socket
     */
    static Path adminSocket(HostAddress host) {
        Path dir = switch (host) {
            case HostAddress.Socket s -> HostConfig.regionDirOfGuestSocket(s.path());
            case HostAddress.Region r -> Files.isDirectory(r.path()) ? r.path() : r.path().toAbsolutePath().getParent();
            case HostAddress.Pci p -> null;
            case HostAddress.Stream s -> null;
        };
        if (dir == null) {
            throw new HostConfig.ConfigException("cannot tell the admin socket of host " + host + " (from "
                    + host.origin() + "): " + (host instanceof HostAddress.Pci
                    ? "a PCI device names the host from inside a VM, and the admin socket is on the host"
                    : host instanceof HostAddress.Stream ? "a network address names a host on another machine, and "
                    + "the admin socket is on that machine"
                    : "its guest socket is not named like a default one (REGIONDIR.sock)")
                    + "; give the host's config (-c FILE) or its socket (--admin-socket PATH)");
        }
        return HostConfig.defaultAdminSocket(dir);
    }
}
