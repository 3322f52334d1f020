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
 * <tr><td>{@code PATH}</td><td>a bare path: a directory or a regular file as {@code file:PATH}, anything else
 *     (a socket, or nothing yet) as {@code unix:PATH}</td></tr>
 * </table>
 *
 * {@code unix://PATH} and {@code file://PATH} (URI style, PATH absolute) are accepted too. The variables of
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
                + "directory), pci:ADDRESS (an ivshmem device inside a VM), or a path");
    }
}
