package io.ferry.host.net.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * The host's TLS side, what the network server needs from this package:
 *
 * <pre>{@code
 * HostTls tls = HostTls.open(dir, extraHostNames);      // the CA (created on first use) and the host's certificate
 * SslContext ctx = tls.serverContext();                 // Netty: TLS 1.3 only, client certificate required
 * // handshake failed: log HostTls.handshakeFailure(cause, peer)
 * // OPEN frame naming `guest` arrived on an established session:
 * try { String g = tls.guests().check(sslSession, guest); ... }
 * catch (GuestCertificates.Refused r) { send CLOSED(r.status(), r.getMessage()), log it, close }
 * }</pre>
 *
 * During the handshake only "signed by this CA" is checked ({@link CaTrustManager}); a certificate from another CA
 * or none at all fails the handshake. Validity, revocation and the guest name are checked by
 * {@link GuestCertificates} afterwards, so those refusals reach the client as a CLOSED frame with the reason.
 */
public final class HostTls {
    /** The only protocol offered. */
    public static final String PROTOCOL = "TLSv1.3";

    private final CertificateAuthority authority;
    private final CertificateAuthority.Identity host;
    private final GuestCertificates guests;

    private HostTls(CertificateAuthority authority, CertificateAuthority.Identity host) {
        this.authority = authority;
        this.host = host;
        this.guests = new GuestCertificates(authority.certificate(), authority.directory().resolve("revoked.txt"));
    }

    /**
     * Opens the CA in {@code dir} (creating it on first use) and the host's server certificate, issued anew when it
     * lacks one of {@code hostNames} (beyond localhost, 127.0.0.1, ::1 and the machine's hostname) or expires soon.
     */
    public static HostTls open(Path dir, List<String> hostNames) throws IOException {
        CertificateAuthority ca = CertificateAuthority.open(dir);
        return new HostTls(ca, ca.hostIdentity(hostNames));
    }

    /** The certificate authority. */
    public CertificateAuthority authority() {
        return authority;
    }

    /** The host's server certificate and key. */
    public CertificateAuthority.Identity hostIdentity() {
        return host;
    }

    /** The after-handshake checks (guest name, revocation, validity). */
    public GuestCertificates guests() {
        return guests;
    }

    /**
     * A Netty server context: TLS 1.3 only, the JDK's provider, the host's certificate, a client certificate
     * required and accepted during the handshake when this CA signed it.
     */
    public SslContext serverContext() throws SSLException {
        return SslContextBuilder.forServer(host.key(), host.certificate())
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .clientAuth(ClientAuth.REQUIRE)
                .trustManager(new CaTrustManager(authority.certificate()))
                .build();
    }

    /**
     * The reason a server-side handshake failed, for the host's log: what the trust manager said when it refused
     * the certificate, "no certificate", or the TLS error with the peer's address.
     */
    public static String handshakeFailure(Throwable cause, SocketAddress peer) {
        String who = "TLS handshake with " + peer + " failed: ";
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof CaTrustManager.NotFromCa n) {
                return who + n.getMessage();
            }
        }
        String m = String.valueOf(cause == null ? null : cause.getMessage());
        if (m.contains("Empty client certificate chain") || m.contains("certificate_required")) {
            return who + "the client presented no certificate: it needs its bundle (ferry guest add NAME --tls on "
                    + "the host, installed in ~/.config/ferry/tls/NAME/ or named by FERRY_TLS_BUNDLE)";
        }
        return who + m + " (the client must speak TLS 1.3 and trust this host's ca.pem, from its bundle)";
    }

    /**
     * A JDK client context from a guest bundle directory ({@code ca.pem}, {@code guest.pem}, {@code guest.key}):
     * TLS 1.3, presenting the guest's certificate and trusting only the bundle's CA. For tests and tools; the guest
     * library has its own copy (it does not depend on the host).
     */
    public static SSLContext clientContext(Path bundle) throws IOException {
        List<X509Certificate> ca = Pem.readCertificates(bundle.resolve("ca.pem"));
        List<X509Certificate> chain = Pem.readCertificates(bundle.resolve("guest.pem"));
        PrivateKey key = Pem.readPrivateKey(bundle.resolve("guest.key"));
        try {
            char[] pass = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("guest", key, pass, chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, pass);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                trust.setCertificateEntry("ca" + i, ca.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance(PROTOCOL);
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make a TLS context from the bundle " + bundle + ": " + e.getMessage(), e);
        }
    }
}
