package io.ferry.host.net;

import io.ferry.host.net.tls.GuestCertificates;
import io.ferry.host.net.tls.HostTls;
import io.ferry.protocol.Status;
import io.netty.handler.ssl.SslContext;

/**
 * The TLS listeners' check: the client certificate the handshake accepted (signed by the host's CA) must be valid,
 * not revoked, and issued to the guest the OPEN frame names ({@link GuestCertificates}); a secret after the name is
 * not needed and not looked at.
 */
final class TlsSecurity implements StreamSecurity {
    private final HostTls tls;
    private final SslContext context;

    TlsSecurity(HostTls tls) throws javax.net.ssl.SSLException {
        this.tls = tls;
        this.context = tls.serverContext();
    }

    @Override
    public SslContext serverContext() {
        return context;
    }

    @Override
    public String guestOf(javax.net.ssl.SSLSession session, String openName, byte[] secret) throws Refused {
        if (session == null) {
            throw new Refused(Status.BAD_CREDENTIAL, "no TLS session on a TLS listener");
        }
        try {
            return tls.guests().check(session, openName);
        } catch (GuestCertificates.Refused r) {
            throw new Refused(Status.of(r.status()), r.getMessage());
        }
    }
}
