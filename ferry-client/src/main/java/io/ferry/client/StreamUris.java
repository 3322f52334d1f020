package io.ferry.client;

import io.ferry.client.HostAddress.Stream;
import io.ferry.client.HostAddress.Transport;
import io.ferry.protocol.Status;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/** The network forms of a host address ({@link HostAddress.Stream}): {@code ferry+tls}, {@code +tcp}, {@code +vsock}, {@code +uds}. */
final class StreamUris {
    /** Guest names, as the region header holds them. */
    private static final Pattern GUEST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    private static final Pattern CID = Pattern.compile("[0-9]{1,10}");

    private StreamUris() {
    }

    /** {@code text} with scheme {@code scheme} (lower case, {@code ferry+...}). */
    static Stream parse(String text, String scheme, String origin) {
        Transport transport = null;
        for (Transport t : Transport.values()) {
            if (t.scheme().equals(scheme)) {
                transport = t;
            }
        }
        if (transport == null) {
            throw invalid(text, origin, "'" + scheme + ":' is not one of the network forms");
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw invalid(text, origin, "not a URI: " + e.getReason());
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw invalid(text, origin, "it has a user, query or fragment, which these forms do not take");
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        if (transport == Transport.UDS) {
            if (uri.getRawAuthority() != null || !path.startsWith("/")) {
                throw invalid(text, origin, "ferry+uds takes an absolute socket path then the guest: "
                        + "ferry+uds:///run/ferry/v.sock_7072/GUEST");
            }
            int slash = path.lastIndexOf('/');
            if (slash <= 0) {
                throw invalid(text, origin, "it names no socket before the guest (ferry+uds:///SOCKET/GUEST)");
            }
            return new Stream(transport, null, 0, Path.of(path.substring(0, slash)),
                    guest(path.substring(slash + 1), false, text, origin), origin);
        }
        String host = uri.getHost();
        if (host == null || uri.getPort() < 0) {
            throw invalid(text, origin, "it needs HOST:PORT (" + transport.scheme() + "://HOST:PORT/GUEST)");
        }
        if (uri.getPort() < 1 || uri.getPort() > 65535) {
            throw invalid(text, origin, "port " + uri.getPort() + " is not between 1 and 65535");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (!path.isEmpty() && !path.equals("/") && (path.indexOf('/', 1) >= 0)) {
            throw invalid(text, origin, "the path must be just /GUEST");
        }
        String guest = guest(path.startsWith("/") ? path.substring(1) : path, true, text, origin);
        if (transport == Transport.TCP && !loopback(host)) {
            throw new FerryException(Status.INVALID_ARGUMENT, origin + " '" + text + "': ferry+tcp is plain, "
                    + "unencrypted TCP, allowed only to a host on this machine (127.0.0.1, ::1 or localhost) that runs "
                    + "insecure-loopback; over a network use ferry+tls://" + host + ":PORT/GUEST (TLS 1.3 with the "
                    + "guest's certificate bundle from 'ferry guest add GUEST --tls')");
        }
        if (transport == Transport.VSOCK && (!CID.matcher(host).matches() || Long.parseLong(host) > 0xFFFF_FFFFL)) {
            throw invalid(text, origin, "a vsock CID is a number (2 is the host): ferry+vsock://2:PORT/GUEST");
        }
        return new Stream(transport, host, uri.getPort(), null, guest, origin);
    }

    /** Whether {@code host} is a loopback address written as such ({@code localhost} or a literal address). */
    static boolean loopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            return InetAddress.ofLiteral(host).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false; // a name: it could resolve anywhere
        }
    }

    private static String guest(String g, boolean optional, String text, String origin) {
        if (g.isEmpty() && optional) {
            return null;
        }
        if (!GUEST.matcher(g).matches()) {
            throw invalid(text, origin, g.isEmpty() ? "it names no guest at the end" : "'" + g + "' is not a guest "
                    + "name (a letter or digit, then up to 62 letters, digits, '_', '.' or '-')");
        }
        return g;
    }

    private static FerryException invalid(String text, String origin, String why) {
        return new FerryException(Status.INVALID_ARGUMENT, origin + " '" + text + "' is not a Ferry network address ("
                + why + "): give ferry+tls://HOST:PORT/GUEST, ferry+tcp://127.0.0.1:PORT/GUEST (insecure-loopback "
                + "hosts only), ferry+vsock://CID:PORT/GUEST or ferry+uds:///SOCKET_PORT/GUEST");
    }
}
