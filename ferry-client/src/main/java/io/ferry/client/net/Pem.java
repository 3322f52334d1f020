package io.ferry.client.net;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * PEM files of a guest's TLS bundle, read with {@code java.security} alone (the guest library has no other
 * dependency): X.509 certificates and an unencrypted PKCS#8 private key (RSA, EC or Ed25519).
 */
public final class Pem {
    private Pem() {
    }

    /** One PEM block: its label ("CERTIFICATE", "PRIVATE KEY") and its decoded bytes. */
    public record Block(String label, byte[] der) {
    }

    /**
     * The PEM blocks of {@code text} in order; text between blocks is ignored (OpenSSL's "Bag Attributes" and
     * the like).
     *
     * @throws IllegalArgumentException naming {@code what} when a block is unterminated or not base64
     */
    public static List<Block> blocks(String text, String what) {
        List<Block> out = new ArrayList<>();
        int at = 0;
        while (true) {
            int begin = text.indexOf("-----BEGIN ", at);
            if (begin < 0) {
                return out;
            }
            int labelEnd = text.indexOf("-----", begin + 11);
            if (labelEnd < 0) {
                throw new IllegalArgumentException(what + ": a BEGIN line is not closed with -----");
            }
            String label = text.substring(begin + 11, labelEnd);
            String endLine = "-----END " + label + "-----";
            int end = text.indexOf(endLine, labelEnd + 5);
            if (end < 0) {
                throw new IllegalArgumentException(what + ": the '" + label + "' block has no '" + endLine + "'");
            }
            String body = text.substring(labelEnd + 5, end);
            if (body.indexOf(':') >= 0) {
                throw new IllegalArgumentException(what + ": the '" + label + "' block has headers (an encrypted "
                        + "legacy key?); Ferry reads unencrypted PKCS#8 keys ('BEGIN PRIVATE KEY')");
            }
            try {
                out.add(new Block(label, Base64.getDecoder().decode(body.replaceAll("\\s", ""))));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ": the '" + label + "' block is not base64: "
                        + e.getMessage());
            }
            at = end + endLine.length();
        }
    }

    /** The certificates of {@code text} (at least one), in order. */
    public static List<X509Certificate> certificates(String text, String what) {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(text, what)) {
                if (b.label().equals("CERTIFICATE")) {
                    out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(b.der())));
                }
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException(what + ": a certificate does not parse: " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(what + ": no '-----BEGIN CERTIFICATE-----' block");
        }
        return out;
    }

    /** The one private key of {@code text}: a PKCS#8 "PRIVATE KEY" block of an RSA, EC or EdDSA key. */
    public static PrivateKey privateKey(String text, String what) {
        List<Block> keys = new ArrayList<>();
        for (Block b : blocks(text, what)) {
            switch (b.label()) {
                case "PRIVATE KEY" -> keys.add(b);
                case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException(what + " is an encrypted key; "
                        + "Ferry reads an unencrypted PKCS#8 key (keep the file mode 0600): openssl pkcs8 -in KEY "
                        + "-nocrypt -out guest.key");
                case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new IllegalArgumentException(what + " holds a "
                        + "legacy '" + b.label() + "' block; convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in "
                        + "KEY -out guest.key");
                default -> {
                }
            }
        }
        if (keys.size() != 1) {
            throw new IllegalArgumentException(what + ": expected one '-----BEGIN PRIVATE KEY-----' block, found "
                    + keys.size());
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(keys.getFirst().der());
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // another algorithm: try the next
            }
        }
        throw new IllegalArgumentException(what + ": the PKCS#8 key is none of EC, RSA, Ed25519, Ed448");
    }

    /** {@code bytes} as text (PEM is ASCII). */
    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
