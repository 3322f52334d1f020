package io.ferry.host.net.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * Builds the three kinds of certificate the CA issues (BouncyCastle's builders, signed through the JDK's own
 * provider with SHA-256 ECDSA): the self-signed CA, the host's server certificate and a guest's client certificate.
 */
final class Certificates {
    private static final String SIGNATURE = "SHA256withECDSA";

    private Certificates() {
    }

    /** The self-signed CA certificate: CA:true with path length 0, keyCertSign and cRLSign. */
    static X509Certificate ca(KeyPair kp, BigInteger serial, Instant notBefore, Instant notAfter, String hostname)
            throws IOException {
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Ferry")
                .addRDN(BCStyle.CN, "Ferry guest CA on " + hostname + " " + serial.toString(16).substring(0, 8))
                .build();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial, Date.from(notBefore),
                    Date.from(notAfter), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(kp.getPublic()));
            return sign(b, kp.getPrivate());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException("cannot build the CA certificate: " + e.getMessage(), e);
        }
    }

    /** The host's server certificate: serverAuth, the DNS names and IP addresses of {@code names} as SANs. */
    static X509Certificate host(PublicKey key, X509Certificate ca, PrivateKey caKey, BigInteger serial,
                                Instant notBefore, Instant notAfter, List<String> names) throws IOException {
        GeneralName[] sans = new GeneralName[names.size()];
        for (int i = 0; i < sans.length; i++) {
            String n = names.get(i);
            sans[i] = new GeneralName(IPAddress.isValid(n) ? GeneralName.iPAddress : GeneralName.dNSName, n);
        }
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Ferry")
                .addRDN(BCStyle.CN, "ferry-host:" + hostname()).build();
        return leaf(key, ca, caKey, serial, notBefore, notAfter, subject, KeyPurposeId.id_kp_serverAuth,
                new GeneralNames(sans));
    }

    /** A guest's client certificate: subject {@code CN=commonName}, clientAuth, digitalSignature. */
    static X509Certificate guest(PublicKey key, X509Certificate ca, PrivateKey caKey, BigInteger serial,
                                 Instant notBefore, Instant notAfter, String commonName) throws IOException {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
        return leaf(key, ca, caKey, serial, notBefore, notAfter, subject, KeyPurposeId.id_kp_clientAuth, null);
    }

    private static X509Certificate leaf(PublicKey key, X509Certificate ca, PrivateKey caKey, BigInteger serial,
                                        Instant notBefore, Instant notAfter, X500Name subject, KeyPurposeId purpose,
                                        GeneralNames sans) throws IOException {
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial, Date.from(notBefore),
                    Date.from(notAfter), subject, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
            if (sans != null) {
                b.addExtension(Extension.subjectAlternativeName, false, sans);
            }
            return sign(b, caKey);
        } catch (java.security.NoSuchAlgorithmException | CertificateException e) {
            throw new IOException("cannot build the certificate for " + subject + ": " + e.getMessage(), e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws IOException {
        try {
            return new JcaX509CertificateConverter().getCertificate(b.build(
                    new JcaContentSignerBuilder(SIGNATURE).build(signer)));
        } catch (OperatorCreationException | CertificateException e) {
            throw new IOException("cannot sign a certificate with " + SIGNATURE + ": " + e.getMessage(), e);
        }
    }

    /** The DNS names and IP addresses a certificate's SANs name, each in {@link #canonical} form. */
    static Set<String> names(X509Certificate cert) {
        Set<String> out = new HashSet<>();
        try {
            var sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    out.add(canonical(String.valueOf(san.get(1))));
                }
            }
        } catch (CertificateParsingException e) {
            // no names
        }
        return out;
    }

    /** An IP address literal as the JDK prints it (::1 is 0:0:0:0:0:0:0:1), a DNS name in lower case. */
    static String canonical(String name) {
        if (IPAddress.isValid(name)) {
            try {
                return InetAddress.getByName(name).getHostAddress(); // a literal: no lookup
            } catch (java.net.UnknownHostException e) {
                return name;
            }
        }
        return name.toLowerCase(java.util.Locale.ROOT);
    }

    /** This machine's host name (the kernel's, no DNS lookup), or "localhost" when it has none. */
    static String hostname() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!h.isEmpty()) {
                return h;
            }
        } catch (IOException e) {
            // fall back below
        }
        String env = System.getenv("HOSTNAME");
        return env == null || env.isBlank() ? "localhost" : env.strip();
    }
}
