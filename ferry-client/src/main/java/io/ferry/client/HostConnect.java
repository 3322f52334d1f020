package io.ferry.client;

import io.ferry.protocol.Status;
import io.ferry.channel.HandoverDescriptor;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.client.net.StreamPump;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
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
        if (old.stream() != null) {
            // A stream connection has nothing to reuse: its mirror goes, a new connection brings a new one.
            if (mapped) {
                old.region().close();
            }
            return connectStream(old.stream().target(), old.guest(), old.stream().credential(),
                    old.stream().tlsBundle());
        }
        if (!mapped) {
            throw new FerryException(Status.INVALID_ARGUMENT, "this connection was closed (its region unmapped): "
                    + "connect anew (Ferry.connect) rather than reconnect()");
        }
        VmInterrupts vm = old.vmInterrupts();
        Ferry f = Ferry.connect(old.region().lane(0), true, null);
        if (vm != null) {
            // The device's interrupts serve lane 0 (docs/vm.md); another lane naps.
            f.vmInterrupts(f.lane() == 0 ? vm : VmInterrupts.naps(f.region(), "lane " + f.lane()
                    + ": the device's interrupts serve lane 0"));
        }
        return f;
    }

    /** {@link Ferry#connect(URI)}: {@code uri} as a network address that names its guest. */
    static HostAddress.Stream networkAddress(java.net.URI uri) {
        HostAddress a = HostAddress.parse(uri.toString(), "Ferry.connect(URI)");
        if (!(a instanceof HostAddress.Stream s) || s.guest() == null) {
            throw new FerryException(Status.INVALID_ARGUMENT, "Ferry.connect(URI) takes a network address that "
                    + "names the guest (ferry+tls://HOST:PORT/GUEST), not '" + uri + "'; for a guest socket, region "
                    + "or PCI device use connect(HostAddress, guest)");
        }
        return s;
    }

    /** Over a stream: the pump's mirror, on the lane the host's proxy claimed; closes both on failure. */
    static Ferry connect(StreamPump pump) {
        io.ferry.channel.Region lane = pump.mirror().lane(pump.lane());
        if (!lane.laneClaim(0, ProcessHandle.current().pid())) {
            pump.close();
            pump.mirror().close();
            throw new FerryException(Status.INTERNAL, "the lane of the stream mirror was taken");
        }
        return Ferry.connect(lane, false, pump);
    }

    /** A 32-byte credential as the four little-endian words HELLO carries. */
    static long[] credentialWords(byte[] c) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(c).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return new long[] {b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24)};
    }

    static Ferry connect(HostAddress host, String guest) {
        try {
            return switch (host) {
                case HostAddress.Socket s -> Ferry.connect(s.path(), guest, Ferry.secretFromEnvironment(guest));
                case HostAddress.Region r -> Ferry.connect(regionFile(r, guest));
                case HostAddress.Pci p -> Ferry.connectPci(p.device() == null ? guest : p.device());
                case HostAddress.Stream s -> connectStream(s, guest, null, null);
            };
        } catch (FerryException e) {
            if (e.status() != Status.HOST_UNAVAILABLE) {
                throw e;
            }
            // Where the address came from is what the user changes: name it (FERRY_HOST, --host, the default).
            throw new FerryException(e.status(), bare(e) + " [" + where(host)
                    + "; FERRY_HOST takes unix:SOCKET, file:REGION, pci:ADDRESS or ferry+tls://HOST:PORT/GUEST]");
        }
    }

    /**
     * Over the network: {@code s} as guest {@code guest} (where {@code s} names none), with {@code secret} for the
     * plain listeners (null: the environment's, where it has one) and the TLS bundle in {@code tlsBundle} (null: the
     * environment's).
     */
    static Ferry connectStream(HostAddress.Stream s, String guest, byte[] secret, Path tlsBundle) {
        HostAddress.Stream a = named(s, guest);
        return connect(StreamPump.open(a, secret != null ? secret.clone() : streamSecret(a), tlsBundle));
    }

    /** {@code s} naming {@code guest}; an address that names another guest is refused. */
    private static HostAddress.Stream named(HostAddress.Stream s, String guest) {
        if (s.guest() != null && guest != null && !s.guest().equals(guest)) {
            throw new FerryException(Status.INVALID_ARGUMENT, s.origin() + " '" + s + "' names guest '" + s.guest()
                    + "' but the program connects as '" + guest + "': leave the guest out of " + s.origin()
                    + " (" + s.withGuest(null) + ") or make them the same");
        }
        return s.guest() != null ? s : s.withGuest(guest);
    }

    /**
     * The secret sent in OPEN to a plain listener (loopback TCP, a vsock socket), where the environment has one;
     * none over TLS, where the certificate is the guest's identity.
     */
    private static byte[] streamSecret(HostAddress.Stream s) {
        if (s.transport() == HostAddress.Transport.TLS) {
            return new byte[0];
        }
        try {
            return secretFromEnvironment(s.guest());
        } catch (FerryException e) {
            return new byte[0]; // the host refuses with its reason, which names the variables
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

    /** {@link Ferry#secretFromEnvironment}. */
    /** The default of {@link #laneWaitNanos}: long enough for a lane a process has just left, short for a held one. */
    static final long LANE_WAIT_NANOS = 2_000_000_000L;

    /**
     * How long a connect waits for a lane while every lane of the guest is held: {@code FERRY_LANE_WAIT} seconds
     * (default 2; 0: not at all), as the native guest libraries read it.
     *
     * @throws FerryException INVALID_ARGUMENT when the variable is not a number of seconds from 0 to 86400
     */
    static long laneWaitNanos() {
        String text = System.getenv("FERRY_LANE_WAIT");
        if (text == null || text.isEmpty()) {
            return LANE_WAIT_NANOS;
        }
        try {
            double s = Double.parseDouble(text);
            if (s >= 0 && s <= 86_400) {
                return (long) (s * 1e9);
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new FerryException(Status.INVALID_ARGUMENT, "FERRY_LANE_WAIT=" + text
                + " is not a number of seconds from 0 to 86400 (how long a connect waits while every lane is held)");
    }

    static byte[] secretFromEnvironment(String guest) {
        String text = System.getenv("FERRY_SECRET");
        String file = System.getenv("FERRY_SECRET_FILE");
        try {
            if (text != null && !text.isBlank()) {
                return Base64.getDecoder().decode(text.strip());
            }
            if (file != null && !file.isBlank()) {
                byte[] raw = Files.readAllBytes(Path.of(file));
                if (raw.length == HandoverDescriptor.SECRET_LENGTH) {
                    return raw;
                }
                return Base64.getDecoder().decode(new String(raw, java.nio.charset.StandardCharsets.US_ASCII).strip());
            }
        } catch (IllegalArgumentException e) {
            throw new FerryException(Status.INVALID_ARGUMENT, "the secret for guest '" + guest + "' in "
                    + (text != null && !text.isBlank() ? "FERRY_SECRET" : "FERRY_SECRET_FILE " + file)
                    + " is not base64: use the value ./ferry guest add printed");
        } catch (java.io.IOException e) {
            throw new FerryException(Status.INVALID_ARGUMENT, "cannot read FERRY_SECRET_FILE " + file + ": " + e);
        }
        throw new FerryException(Status.NOT_CONFIGURED, "no secret for guest '" + guest
                + "': set FERRY_SECRET or FERRY_SECRET_FILE (./ferry guest add prints it)");
    }

    /** {@link Ferry#connect(Path, String, byte[])}: the region's memfd from the guest socket, the secret proven. */
    static int regionFd(Path socket, String guest, byte[] secret) {
        if (secret == null || secret.length != HandoverDescriptor.SECRET_LENGTH) {
            throw new FerryException(Status.INVALID_ARGUMENT, "the secret of guest '" + guest + "' must be "
                    + HandoverDescriptor.SECRET_LENGTH + " bytes, not " + (secret == null ? "missing" : secret.length)
                    + "; use the value ./ferry guest add printed");
        }
        byte[] request;
        try {
            request = HandoverDescriptor.request(guest, secret);
        } catch (IllegalArgumentException e) {
            throw new FerryException(Status.INVALID_ARGUMENT, e.getMessage());
        }
        int fd;
        try (UnixSocket s = UnixSocket.connect(socket)) {
            s.timeouts(Duration.ofNanos(Ferry.CONNECT_TIMEOUT_NANOS), Duration.ofNanos(Ferry.CONNECT_TIMEOUT_NANOS));
            s.send(request, -1);
            byte[] header = new byte[HandoverDescriptor.REPLY_HEADER_SIZE];
            int[] received = new int[1];
            s.receiveFully(header, received);
            fd = received[0];
            HandoverDescriptor.Reply reply = HandoverDescriptor.readReply(header);
            String message = "";
            if (reply.problem() == null && reply.messageLength() > 0) {
                byte[] m = new byte[reply.messageLength()];
                s.receiveFully(m, null);
                message = new String(m, java.nio.charset.StandardCharsets.UTF_8);
            }
            if (reply.problem() != null || reply.status() != Status.OK.code() || fd < 0) {
                if (fd >= 0) {
                    Memfd.closeQuietly(fd);
                }
                Status st = reply.problem() != null ? Status.PROTOCOL_VIOLATION : Status.of(reply.status());
                throw new FerryException(st == Status.OK ? Status.PROTOCOL_VIOLATION : st,
                        "the host at " + socket + " refused guest '" + guest + "': "
                                + (reply.problem() != null ? reply.problem()
                                : fd < 0 && reply.status() == Status.OK.code() ? "no region descriptor came" : message));
            }
        } catch (java.io.IOException e) {
            throw new FerryException(Status.HOST_UNAVAILABLE, "cannot get the region of guest '" + guest
                    + "' from the guest socket " + socket + ": " + e.getMessage() + "; is the host running "
                    + "(./ferry host) with this 'socket:'?");
        }
        return fd;
    }
}
