package io.ferry.host.net;

import io.ferry.protocol.Status;
import java.security.MessageDigest;

/**
 * The plain listeners' check (insecure loopback TCP, the vsock Unix socket): the OPEN frame names the guest and
 * carries its secret after the name (a NUL byte, then the 32 secret bytes: the same secret the guest socket checks,
 * FERRY_SECRET / FERRY_SECRET_FILE on the guest). The secret is compared in constant time, and an unknown guest and
 * a wrong secret get the same answer, as on the guest socket.
 */
final class PlainSecurity implements StreamSecurity {
    private final GuestDirectory guests;

    PlainSecurity(GuestDirectory guests) {
        this.guests = guests;
    }

    @Override
    public io.netty.handler.ssl.SslContext serverContext() {
        return null;
    }

    @Override
    public String guestOf(javax.net.ssl.SSLSession session, String openName, byte[] secret) throws Refused {
        if (secret == null) {
            throw new Refused(Status.BAD_CREDENTIAL, "this listener is plain (no TLS): the OPEN frame must carry "
                    + "guest '" + openName + "''s secret after its name (FERRY_SECRET or FERRY_SECRET_FILE on the "
                    + "guest; ./ferry guest add prints it), or connect to a TLS listener with a client certificate");
        }
        GuestDirectory.Guest g = guests.find(openName);
        byte[] expected = g == null ? new byte[secret.length] : g.credential();
        if (g == null || !MessageDigest.isEqual(expected, secret)) {
            throw new Refused(Status.BAD_CREDENTIAL, "no guest '" + openName + "' with that secret on this host: "
                    + "check the guest name and its secret (FERRY_SECRET or FERRY_SECRET_FILE; ./ferry guest add "
                    + "prints it)");
        }
        return g.name();
    }
}
