package io.ferry.client;

import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where a guest finds its Ferry host: the one setting of the guest side, {@code FERRY_HOST} in the environment
 * (read by {@link Ferry#connect(String)}) or {@code --host} on a {@code ferry} command. Its forms:
 *
 * <table>
 * <caption>FERRY_HOST</caption>
 * <tr><th>form</th><th>the host is reached through</th></tr>
 * <tr><td>{@code unix:PATH}</td><td>the host's guest socket (its config's {@code socket:}): the guest proves its
 *     secret ({@code FERRY_SECRET} or {@code FERRY_SECRET_FILE}) and receives its sealed region. The default is
 *     {@code unix:/run/ferry/guest.sock}.</td></tr>
 * <tr><td>{@code file:PATH}</td><td>a region file ({@code region: file} in the host's config), or the host's
 *     region directory, where guest {@code G}'s region is {@code PATH/G.region}</td></tr>
 * <tr><td>{@code pci:ADDRESS}</td><td>inside a VM: the region of the {@code ivshmem} PCI device at
 *     {@code ADDRESS} ({@code pci:0000:00:03.0}); {@code pci:} alone finds the device whose region names the guest
 *     (docs/vm.md)</td></tr>
 * <tr><td>{@code ferry+tls://HOST:PORT/GUEST}</td><td>the network (docs/network.md): TLS 1.3 with mutual
 *     authentication to a host that listens there (its config's {@code listen:}); the guest's certificate bundle
 *     ({@code ca.pem}, {@code guest.pem}, {@code guest.key}, from {@code ferry guest add GUEST --tls}) is the
 *     directory {@code FERRY_TLS_BUNDLE}, else {@code ~/.config/ferry/tls/GUEST/}</td></tr>
 * <tr><td>{@code ferry+tcp://127.0.0.1:PORT/GUEST}</td><td>plain TCP to a host on this machine that runs
 *     {@code insecure-loopback: PORT} (benchmarks, tests), with the guest's secret ({@code FERRY_SECRET},
 *     {@code FERRY_SECRET_FILE}); refused for any address that is not loopback ({@code 127.0.0.0/8}, {@code ::1},
 *     {@code localhost}): use {@code ferry+tls} there</td></tr>
 * <tr><td>{@code ferry+vsock://CID:PORT/GUEST}</td><td>inside a VM: AF_VSOCK to the host (CID 2) on the port
 *     of the host's {@code vsock:} config; parsed, but the Java client does not open AF_VSOCK sockets in this
 *     version ({@code UNSUPPORTED})</td></tr>
 * <tr><td>{@code ferry+uds:///PATH_PORT/GUEST}</td><td>the host side of a Firecracker vsock: the Unix socket
 *     the host listens on for its {@code vsock: {uds: PATH, port: PORT}} config, {@code PATH_PORT} (for example
 *     {@code ferry+uds:///run/ferry/v.sock_7072/alice}); the last path segment is the guest; with the guest's
 *     secret as for {@code ferry+tcp}</td></tr>
 * <tr><td>{@code PATH}</td><td>a bare path: a directory or a regular file as {@code file:PATH}, anything else
 *     (a socket, or nothing yet) as {@code unix:PATH}</td></tr>
 * </table>
 *
 * {@code unix://PATH} and {@code file://PATH} (URI style, PATH absolute) are accepted too. In {@code FERRY_HOST}
 * the {@code /GUEST} of the network forms other than {@code ferry+uds} may be left out: {@link Ferry#connect(String)}'s
 * guest is taken; where both are given they must be the same guest. The variables of
 * earlier versions still work, below {@code FERRY_HOST}, and are deprecated: {@code FERRY_SOCKET=PATH} is
 * {@code unix:PATH}, {@code FERRY_REGION_DIR=DIR} is {@code file:DIR}.
 */
public sealed interface HostAddress {

    /** The host's guest socket unless configured otherwise (the host's default {@code socket:}). */
    HostAddress DEFAULT = new Socket(Ferry.DEFAULT_SOCKET, "the default");

    /** Where this address came from ("FERRY_HOST", "--host", ...), for messages. */
    String origin();

    /** The host's guest socket at {@code path}: a guest proves its secret there and receives its region. */
    record Socket(Path path, String origin) implements HostAddress {
        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** A region file, or a region directory holding {@code GUEST.region}. */
    record Region(Path path, String origin) implements HostAddress {
        /** The region of {@code guest}: the file itself, or {@code GUEST.region} where {@code path} is a directory. */
        public Path regionOf(String guest) {
            return Files.isDirectory(path) ? path.resolve(guest + ".region") : path;
        }

        @Override
        public String toString() {
            return "file:" + path;
        }
    }

    /** Inside a VM: an {@code ivshmem} PCI device by address, or null to find the one whose region names the guest. */
    record Pci(String device, String origin) implements HostAddress {
        @Override
        public String toString() {
            return "pci:" + (device == null ? "" : device);
        }
    }

    /** The transports of the network forms (docs/network.md), by URI scheme. */
    enum Transport {
        TLS("ferry+tls"), TCP("ferry+tcp"), VSOCK("ferry+vsock"), UDS("ferry+uds");

        private final String scheme;

        Transport(String scheme) {
            this.scheme = scheme;
        }

        /** The URI scheme, {@code ferry+tls} and so on. */
        public String scheme() {
            return scheme;
        }
    }

    /**
     * A host reached over a byte stream (docs/network.md): {@code host} and {@code port} for TLS, TCP and vsock
     * (the CID as {@code host}), {@code socket} for a Firecracker vsock Unix socket; {@code guest} null where the
     * address leaves it to {@link Ferry#connect(String)}.
     */
    record Stream(Transport transport, String host, int port, Path socket, String guest, String origin)
            implements HostAddress {
        /** This address naming {@code guest} (null: as it is). */
        public Stream withGuest(String guest) {
            return new Stream(transport, host, port, socket, guest, origin);
        }

        @Override
        public String toString() {
            String g = guest == null ? "" : guest;
            return transport == Transport.UDS ? transport.scheme + "://" + socket + "/" + g
                    : transport.scheme + "://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port
                    + "/" + g;
        }
    }

    /**
     * Reads one of the forms of the table above; {@code origin} names where it came from in messages
     * ("FERRY_HOST", "--host"). A bare path is looked at: a directory or a regular file is a region, anything else
     * the guest socket.
     *
     * @throws FerryException INVALID_ARGUMENT, naming the forms, when {@code text} is none of them
     */
    static HostAddress parse(String text, String origin) {
        String t = text == null ? "" : text.strip();
        int colon = t.indexOf(':');
        String scheme = colon > 0 && t.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")
                ? t.substring(0, colon).toLowerCase(Locale.ROOT) : null;
        if (scheme != null && scheme.startsWith("ferry+")) {
            return StreamUris.parse(t, scheme, origin);
        }
        String rest = scheme == null ? t : t.substring(colon + 1);
        if (scheme != null && !scheme.equals("pci") && rest.startsWith("//")) {
            rest = rest.substring(2); // unix:///run/ferry/guest.sock, file:///dev/shm/ferry
        }
        if (scheme == null) {
            if (t.isEmpty()) {
                throw invalid(text, origin, "it is empty");
            }
            Path p = Path.of(t);
            return Files.isDirectory(p) || Files.isRegularFile(p) ? new Region(p, origin) : new Socket(p, origin);
        }
        return switch (scheme) {
            case "unix" -> new Socket(path(rest, text, origin), origin);
            case "file" -> new Region(path(rest, text, origin), origin);
            case "pci" -> new Pci(rest.isBlank() ? null : rest.strip(), origin);
            default -> throw invalid(text, origin, "'" + scheme + ":' is not one of its forms");
        };
    }

    /**
     * The host as the environment names it: {@code FERRY_HOST}, else the deprecated {@code FERRY_SOCKET}
     * ({@code unix:}) or {@code FERRY_REGION_DIR} ({@code file:}), else {@code otherwise}.
     */
    static HostAddress fromEnvironment(Map<String, String> env, HostAddress otherwise) {
        String host = env.get("FERRY_HOST");
        if (host != null && !host.isBlank()) {
            return parse(host, "FERRY_HOST");
        }
        String socket = env.get("FERRY_SOCKET");
        if (socket != null && !socket.isBlank()) {
            return new Socket(Path.of(socket.strip()), "FERRY_SOCKET (deprecated: use FERRY_HOST=unix:PATH)");
        }
        String dir = env.get("FERRY_REGION_DIR");
        if (dir != null && !dir.isBlank()) {
            return new Region(Path.of(dir.strip()), "FERRY_REGION_DIR (deprecated: use FERRY_HOST=file:DIR)");
        }
        return otherwise;
    }

    /** The host as this process's environment names it, else {@link #DEFAULT}. */
    static HostAddress fromEnvironment() {
        return fromEnvironment(System.getenv(), DEFAULT);
    }

    private static Path path(String rest, String text, String origin) {
        if (rest.isBlank()) {
            throw invalid(text, origin, "it names no path");
        }
        return Path.of(rest.strip());
    }

    private static FerryException invalid(String text, String origin, String why) {
        return new FerryException(Status.INVALID_ARGUMENT, origin + " '" + text + "' is not a Ferry host address ("
                + why + "): give unix:PATH (the host's guest socket), file:PATH (a region file or the host's region "
                + "directory), pci:ADDRESS (an ivshmem device inside a VM), ferry+tls://HOST:PORT/GUEST, "
                + "ferry+tcp://127.0.0.1:PORT/GUEST, ferry+uds:///SOCKET/GUEST, or a path");
    }
}
