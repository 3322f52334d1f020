package io.ferry.client.net;

import io.ferry.client.FerryException;
import io.ferry.client.HostAddress;
import io.ferry.client.net.Links.Link;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/** Opening a stream connection: the socket (TCP, TLS, Unix), then OPEN and the host's OPENED or CLOSED. */
final class StreamOpen {
    private StreamOpen() {
    }

    /** The connected stream to {@code target}; TLS with the context {@code tls} makes (read only for TLS). */
    static Link connect(HostAddress.Stream target, java.util.function.Supplier<javax.net.ssl.SSLContext> tls) {
        try {
            return switch (target.transport()) {
                case TCP -> Links.tcp(target);
                case UDS -> Links.unix(target);
                case TLS -> Links.tls(target, tls.get());
                case VSOCK -> throw new FerryException(Status.UNSUPPORTED, target + ": the Java client does not "
                        + "open AF_VSOCK sockets in this version; inside a VM use the native ICD (FERRY_URL), or "
                        + "ferry+tls to the host's network address");
            };
        } catch (SSLHandshakeException e) {
            throw new FerryException(Status.BAD_CREDENTIAL, "the TLS handshake with " + target + " failed: "
                    + e.getMessage() + "; the host's certificate must be issued by the bundle's ca.pem and name the "
                    + "address you connect to, and the host must accept the bundle's guest.pem");
        } catch (SocketTimeoutException e) {
            throw new FerryException(Status.HOST_UNAVAILABLE, "no answer from " + target + " within "
                    + Links.CONNECT_TIMEOUT_MILLIS + " ms (" + e.getMessage() + "); is the host running and listening "
                    + "there, and does the firewall let the port through?");
        } catch (IOException e) {
            throw new FerryException(Status.HOST_UNAVAILABLE, "cannot connect to " + target + ": "
                    + (e instanceof ConnectException ? "connection refused" : e.toString()) + "; is the host "
                    + "running with " + hostSetting(target) + "?");
        }
    }

    private static String hostSetting(HostAddress.Stream t) {
        return switch (t.transport()) {
            case TLS -> "'listen:' naming port " + t.port();
            case TCP -> "'insecure-loopback: " + t.port() + "'";
            case UDS, VSOCK -> "a 'vsock:' config whose socket is this one";
        };
    }

    /**
     * Sends OPEN and reads the host's answer, at most {@link StreamPump#OPEN_TIMEOUT_MILLIS} (the link is closed
     * when the host stays silent).
     */
    static StreamFrame.Opened handshake(Link link, HostAddress.Stream target, byte[] credential) {
        byte[] out = new byte[StreamFrame.HEADER_LENGTH + 16 + StreamFrame.MAX_GUEST_NAME + 1
                + StreamFrame.MAX_CREDENTIAL];
        boolean[] done = {false, false}; // answered; the watchdog closed the link
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(StreamPump.OPEN_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (done) {
                if (!done[0]) {
                    done[1] = true;
                    link.close();
                }
            }
        });
        try {
            int n = StreamFrame.putOpen(MemorySegment.ofArray(out), 0, target.guest(), credential);
            link.write(ByteBuffer.wrap(out, 0, n));
            link.flush();
            ByteBuffer head = ByteBuffer.allocate(StreamFrame.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            link.readFully(head);
            int length = head.getInt(0);
            int type = Short.toUnsignedInt(head.getShort(4));
            String bad = StreamFrame.checkHeader(length, type, Short.toUnsignedInt(head.getShort(6)), true);
            if (bad == null && type != StreamFrame.OPENED && type != StreamFrame.CLOSED) {
                bad = "frame type " + type + " before OPENED";
            }
            if (bad != null) {
                throw new FerryException(Status.PROTOCOL_VIOLATION, target + " did not answer as a Ferry host ("
                        + bad + "): is that port the host's stream listener?");
            }
            byte[] payload = new byte[length - StreamFrame.HEADER_LENGTH];
            link.readFully(ByteBuffer.wrap(payload));
            MemorySegment p = MemorySegment.ofArray(payload);
            if (type == StreamFrame.CLOSED) {
                StreamFrame.Closed c = StreamFrame.parseClosed(p);
                throw new FerryException(c.statusEnum(), "the host at " + target + " refused guest '"
                        + target.guest() + "': " + c.reason());
            }
            return StreamFrame.parseOpened(p);
        } catch (StreamFrame.Malformed e) {
            throw new FerryException(Status.PROTOCOL_VIOLATION, target + " answered OPEN with a malformed frame: "
                    + e.getMessage());
        } catch (SSLException e) {
            throw new FerryException(Status.BAD_CREDENTIAL, "the host at " + target + " refused the TLS connection "
                    + "of guest '" + target.guest() + "' (" + e.getMessage() + "): is guest.pem of the bundle issued "
                    + "by this host for this guest, unexpired and not revoked? (ferry guest add " + target.guest()
                    + " --tls issues a new one)");
        } catch (EOFException e) {
            throw new FerryException(Status.HOST_UNAVAILABLE, "the host at " + target + " closed the connection "
                    + "without answering OPEN" + (timedOut(done) ? " within " + StreamPump.OPEN_TIMEOUT_MILLIS
                    + " ms" : "") + "; its log says why");
        } catch (IOException e) {
            throw new FerryException(Status.HOST_UNAVAILABLE, "the host at " + target + " did not answer OPEN"
                    + (timedOut(done) ? " within " + StreamPump.OPEN_TIMEOUT_MILLIS + " ms" : "") + ": " + e);
        } finally {
            synchronized (done) {
                done[0] = true;
            }
            watchdog.interrupt();
        }
    }

    private static boolean timedOut(boolean[] done) {
        synchronized (done) {
            return done[1];
        }
    }
}
