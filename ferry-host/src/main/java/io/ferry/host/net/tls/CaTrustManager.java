package io.ferry.host.net.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The host's trust manager for client certificates during the TLS handshake: it accepts a chain whose first
 * certificate carries this CA's signature and refuses anything else (no certificate, another CA) with a
 * {@link NotFromCa} whose message says what to do. Validity dates, revocation and the guest name are deliberately
 * not checked here: {@link GuestCertificates} checks them after the handshake, so the client gets the reason in a
 * CLOSED frame instead of a bare alert.
 *
 * <p>It names no accepted issuers ({@link #getAcceptedIssuers} is empty, so the CertificateRequest carries no
 * certificate_authorities list): a client then sends the certificate it has even when it comes from another CA,
 * and the host can log what it was rather than "no certificate".
 */
final class CaTrustManager extends X509ExtendedTrustManager {
    /** The handshake refusal of a client chain; the message is for the host's log. */
    static final class NotFromCa extends CertificateException {
        NotFromCa(String message) {
            super(message);
        }
    }

    private final X509Certificate ca;

    CaTrustManager(X509Certificate ca) {
        this.ca = ca;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new NotFromCa("the client presented no certificate: it needs its bundle (ferry guest add NAME "
                    + "--tls on the host, installed in ~/.config/ferry/tls/NAME/ or named by FERRY_TLS_BUNDLE)");
        }
        X509Certificate leaf = chain[0];
        boolean ok = leaf.getIssuerX500Principal().equals(ca.getSubjectX500Principal());
        if (ok) {
            try {
                leaf.verify(ca.getPublicKey());
            } catch (GeneralSecurityException e) {
                ok = false;
            }
        }
        if (!ok) {
            throw new NotFromCa("the client certificate " + printable(leaf.getSubjectX500Principal().getName())
                    + " (serial " + printable(SerialList.hex(leaf.getSerialNumber())) + ", issued by "
                    + printable(leaf.getIssuerX500Principal().getName()) + ") is not signed by this host's Ferry CA ("
                    + ca.getSubjectX500Principal().getName() + "): the "
                    + "guest needs a bundle from this host (ferry guest add NAME --tls)");
        }
    }

    /**
     * {@code text} (the client's own words: a subject, an issuer) fit for one log line: control characters become
     * '?', and at most 160 characters are kept.
     */
    static String printable(String text) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length() && b.length() < 160; i++) {
            char c = text.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return b.length() < text.length() ? b + "..." : b.toString();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the host's client-certificate trust manager checks no servers");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
