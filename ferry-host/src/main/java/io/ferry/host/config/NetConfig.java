package io.ferry.host.config;

import io.ferry.host.config.HostConfig.ConfigException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stream transport's listeners (docs/network.md): none unless the config names them, so a host never listens on
 * a network by default.
 *
 * <pre>
 * listen: ["0.0.0.0:7070"]               # TLS 1.3 with client certificates, on each address
 * insecure-loopback: 7071                # plain TCP on 127.0.0.1 only (benchmarks); the host warns
 * vsock: {uds: /run/ferry/v.sock, port: 7072}   # Firecracker's convention: the Unix socket /run/ferry/v.sock_7072
 * tls-dir: /var/lib/ferry/tls            # the certificate authority of the TLS listeners (docs/network-tls.md)
 * </pre>
 *
 * @param listen           TLS listeners ({@code HOST:PORT}, {@code [V6]:PORT}); empty: none
 * @param insecureLoopback the plain TCP port on 127.0.0.1, 0 for any free port (tests), {@link #OFF} for none
 * @param vsock            the Firecracker-style vsock Unix socket, or null
 * @param tlsDir           the TLS listeners' CA directory; null: {@code $FERRY_TLS_DIR}, else /var/lib/ferry/tls
 */
public record NetConfig(List<Address> listen, int insecureLoopback, Vsock vsock, Path tlsDir) {
    /** {@code insecureLoopback} when there is none. */
    public static final int OFF = -1;
    /** No listener at all: the default. */
    public static final NetConfig NONE = new NetConfig(List.of(), OFF, null, null);
    /** The top-level keys this record reads. */
    static final List<String> KEYS = List.of("listen", "insecure-loopback", "vsock", "tls-dir");

    /** An address to listen on: a literal address or name, and a port (0: any free port). */
    public record Address(String host, int port) {
        public Address {
            if (host == null || host.isBlank()) {
                throw new ConfigException("listen: an address needs a host, e.g. 0.0.0.0:7070");
            }
            if (port < 0 || port > 65535) {
                throw new ConfigException("listen: port " + port + " must be between 0 and 65535");
            }
        }

        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /**
     * Firecracker's host side of a guest's vsock: the guest's {@code connect(CID 2, port)} reaches the host as a
     * connection to the Unix socket {@code uds_port}.
     */
    public record Vsock(Path uds, int port) {
        public Vsock {
            if (uds == null || uds.toString().isBlank()) {
                throw new ConfigException("vsock: uds must name the vsock Unix socket path, e.g. /run/ferry/v.sock");
            }
            if (port < 1 || port > Integer.MAX_VALUE) {
                throw new ConfigException("vsock: port " + port + " must be a positive vsock port");
            }
        }

        /** The Unix socket the host listens on: {@code uds_port}. */
        public Path socketPath() {
            return Path.of(uds + "_" + port);
        }
    }

    public NetConfig {
        listen = listen == null ? List.of() : List.copyOf(listen);
        if (insecureLoopback < OFF || insecureLoopback > 65535) {
            throw new ConfigException("insecure-loopback: port " + insecureLoopback + " must be between 0 and 65535");
        }
    }

    /** Listeners with the default CA directory. */
    public NetConfig(List<Address> listen, int insecureLoopback, Vsock vsock) {
        this(listen, insecureLoopback, vsock, null);
    }

    /** Whether any listener is configured. */
    public boolean any() {
        return !listen.isEmpty() || insecureLoopback != OFF || vsock != null;
    }

    /** The stream keys of a config's top-level mapping; {@code source} names the file in errors. */
    static NetConfig parse(Map<?, ?> map, String source) {
        List<Address> listen = new ArrayList<>();
        Object l = map.get("listen");
        if (l != null) {
            if (!(l instanceof List<?> list)) {
                throw new ConfigException(source + ": listen must be a list of HOST:PORT, e.g. [\"0.0.0.0:7070\"]");
            }
            for (Object o : list) {
                HostConfig.Metrics m = HostConfig.Metrics.parseListen(String.valueOf(o), source + ": listen");
                listen.add(new Address(m.host(), m.port()));
            }
        }
        int loopback = OFF;
        Object p = map.get("insecure-loopback");
        if (p != null) {
            loopback = port(p, source + ": insecure-loopback", 0);
        }
        Vsock vsock = null;
        Object v = map.get("vsock");
        if (v != null) {
            if (!(v instanceof Map<?, ?> vm) || vm.get("uds") == null || vm.get("port") == null) {
                throw new ConfigException(source + ": vsock needs uds and port, e.g. {uds: /run/ferry/v.sock, "
                        + "port: 7072} (the host listens on the Unix socket /run/ferry/v.sock_7072)");
            }
            for (Object k : vm.keySet()) {
                if (!k.equals("uds") && !k.equals("port")) {
                    throw new ConfigException(source + ": vsock: unknown key '" + k + "' (known: uds, port)");
                }
            }
            vsock = new Vsock(Path.of(String.valueOf(vm.get("uds"))), port(vm.get("port"), source + ": vsock.port", 1));
        }
        Path tlsDir = map.get("tls-dir") == null ? null : Path.of(String.valueOf(map.get("tls-dir")));
        return new NetConfig(listen, loopback, vsock, tlsDir);
    }

    private static int port(Object o, String what, int min) {
        try {
            long n = o instanceof Number num ? num.longValue() : Long.parseLong(String.valueOf(o).trim());
            if (n < min || n > (min == 0 ? 65535 : Integer.MAX_VALUE)) {
                throw new NumberFormatException();
            }
            return (int) n;
        } catch (NumberFormatException e) {
            throw new ConfigException(what + ": '" + o + "' is not a port (" + min + ".."
                    + (min == 0 ? "65535; 0: any free port" : Integer.MAX_VALUE) + ")");
        }
    }

    /** Adds the keys that are set to {@code root} (none by default: every stream listener is optional). */
    void toYaml(Map<String, Object> root) {
        if (!listen.isEmpty()) {
            root.put("listen", listen.stream().map(Address::toString).toList());
        }
        if (insecureLoopback != OFF) {
            root.put("insecure-loopback", insecureLoopback);
        }
        if (vsock != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("uds", vsock.uds().toString());
            m.put("port", vsock.port());
            root.put("vsock", m);
        }
        if (tlsDir != null) {
            root.put("tls-dir", tlsDir.toString());
        }
    }
}
