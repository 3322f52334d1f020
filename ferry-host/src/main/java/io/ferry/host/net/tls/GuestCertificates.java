package io.ferry.host.net.tls;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import io.ferry.host.config.GuestNames;
import io.ferry.protocol.Status;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * Maps the verified client certificate of a TLS connection to the guest it was issued to, after the handshake and
 * once the OPEN frame has named a guest. The handshake's trust manager ({@link HostTls}) only checks that the chain
 * comes from this host's CA; everything else is decided here, so that the refusal reaches the client in a CLOSED
 * frame (status {@link Status#BAD_CREDENTIAL}) with a reason that says what to do, rather than as a bare TLS alert.
 *
 * <p>Checks, in order: a certificate is there; it is signed by this CA; it is a guest certificate ({@code
 * CN=ferry-guest:NAME}, clientAuth); the revocation list is usable; it is issued to the guest the connection asks
 * for; it is not revoked; it is within its validity. Thread-safe.
 */
public final class GuestCertificates {
    /** Why a certificate was refused. */
    public enum Kind {
        /** The connection presented no client certificate. */
        NO_CERTIFICATE,
        /** The certificate is not signed by this host's CA. */
        OTHER_CA,
        /** Signed by the CA, but not a guest's client certificate (e.g. the host's own). */
        NOT_A_GUEST_CERTIFICATE,
        /** Issued to another guest than the OPEN frame names. */
        OTHER_GUEST,
        /** On the revocation list. */
        REVOKED,
        /** Past its not-after date. */
        EXPIRED,
        /** Before its not-before date (a clock is wrong). */
        NOT_YET_VALID,
        /** The revocation list cannot be read: every certificate is refused until it is fixed. */
        REVOCATION_LIST_BROKEN
    }

    /** A refused certificate: {@link #getMessage} is the reason for the CLOSED frame and the host's log. */
    public static final class Refused extends Exception {
        private final Kind kind;

        Refused(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        /** Why. */
        public Kind kind() {
            return kind;
        }

        /** The status code for the CLOSED frame: {@link Status#BAD_CREDENTIAL}. */
        public int status() {
            return Status.BAD_CREDENTIAL.code();
        }
    }

    private final X509Certificate ca;
    private final Revocations revocations;
    private final Clock clock;

    /** Checks against {@code ca}, with the revocation list {@code revokedFile} (absent: nothing revoked). */
    public GuestCertificates(X509Certificate ca, Path revokedFile) {
        this(ca, revokedFile, Clock.systemUTC());
    }

    GuestCertificates(X509Certificate ca, Path revokedFile, Clock clock) {
        this.ca = ca;
        this.revocations = new Revocations(revokedFile);
        this.clock = clock;
    }

    /** {@link #check(Certificate[], String)} on the peer certificates of an established TLS session. */
    public String check(SSLSession session, String claimed) throws Refused {
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            chain = null;
        }
        return check(chain, claimed);
    }

    /**
     * The guest that {@code chain} (the peer's certificates, its own first) authenticates, when it is {@code claimed}
     * (the guest name of the OPEN frame); else throws {@link Refused} with a reason that says what to do.
     */
    public String check(Certificate[] chain, String claimed) throws Refused {
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            throw new Refused(Kind.NO_CERTIFICATE, "the connection presented no client certificate: give the guest "
                    + "its bundle (on the host: ferry guest add " + name(claimed) + " --tls) and install it in "
                    + "~/.config/ferry/tls/" + name(claimed) + "/ or name it with FERRY_TLS_BUNDLE");
        }
        String serial = SerialList.hex(cert.getSerialNumber());
        if (!signedByCa(cert)) {
            throw new Refused(Kind.OTHER_CA, "the client certificate "
                    + CaTrustManager.printable(cert.getSubjectX500Principal().getName())
                    + " (serial " + serial + ") is not issued by this host's Ferry CA: use the bundle this host's "
                    + "ferry guest add " + name(claimed) + " --tls writes");
        }
        String guest = guestOf(cert);
        if (guest == null) {
            throw new Refused(Kind.NOT_A_GUEST_CERTIFICATE, "the client certificate "
                    + cert.getSubjectX500Principal().getName() + " (serial " + serial + ") is not a Ferry guest "
                    + "certificate (a subject CN=" + CertificateAuthority.GUEST_CN_PREFIX + "NAME and the clientAuth "
                    + "key usage): use the bundle that ferry guest add " + name(claimed) + " --tls writes");
        }
        String broken = revocations.broken();
        if (broken != null) {
            throw new Refused(Kind.REVOCATION_LIST_BROKEN, broken);
        }
        if (!guest.equals(claimed)) {
            throw new Refused(Kind.OTHER_GUEST, "certificate is for guest " + guest + ", but the connection asks for "
                    + name(claimed) + ": connect as " + guest + ", or use " + name(claimed) + "'s bundle (ferry guest "
                    + "add " + name(claimed) + " --tls on the host)");
        }
        SerialList.Entry revoked = revocations.lookup(cert.getSerialNumber());
        if (revoked != null) {
            throw new Refused(Kind.REVOKED, "the certificate of guest " + guest + " (serial " + serial + ") was "
                    + "revoked" + (revoked.time() == null ? "" : " on " + revoked.time()) + ": issue a new one with "
                    + "ferry guest add " + guest + " --tls on the host and install the new bundle");
        }
        Instant now = clock.instant();
        Instant notAfter = cert.getNotAfter().toInstant();
        if (now.isAfter(notAfter)) {
            throw new Refused(Kind.EXPIRED, "the certificate of guest " + guest + " (serial " + serial + ") expired "
                    + "on " + notAfter + ": renew it with ferry guest add " + guest + " --tls on the host and install "
                    + "the new bundle");
        }
        Instant notBefore = cert.getNotBefore().toInstant();
        if (now.isBefore(notBefore)) {
            throw new Refused(Kind.NOT_YET_VALID, "the certificate of guest " + guest + " (serial " + serial + ") is "
                    + "not valid before " + notBefore + " and the host's clock says " + now + ": check the clocks");
        }
        return guest;
    }

    /**
     * The guest a certificate names ({@code CN=ferry-guest:NAME}, one CN, a valid guest name, the clientAuth key
     * usage), or null when it is no guest certificate.
     */
    static String guestOf(X509Certificate cert) {
        X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        RDN[] cns = subject.getRDNs(BCStyle.CN);
        if (cns.length != 1 || cns[0].isMultiValued()) {
            return null;
        }
        String cn = IETFUtils.valueToString(cns[0].getFirst().getValue());
        if (!cn.startsWith(CertificateAuthority.GUEST_CN_PREFIX)) {
            return null;
        }
        String guest = cn.substring(CertificateAuthority.GUEST_CN_PREFIX.length());
        try {
            List<String> eku = cert.getExtendedKeyUsage();
            if (eku == null || !eku.contains("1.3.6.1.5.5.7.3.2")) { // id-kp-clientAuth
                return null;
            }
        } catch (CertificateParsingException e) {
            return null;
        }
        return GuestNames.valid(guest) ? guest : null;
    }

    private boolean signedByCa(X509Certificate cert) {
        if (!cert.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            return false;
        }
        try {
            cert.verify(ca.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The claimed name for a message: as given when it is a guest name, else NAME. */
    private static String name(String claimed) {
        return GuestNames.valid(claimed) ? claimed : "NAME";
    }
}
