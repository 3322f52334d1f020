package io.ferry.host.net.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
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
import java.util.Set;

/**
 * Standard PEM files, written and read with plain JDK code: certificates ({@code BEGIN CERTIFICATE}) and
 * unencrypted PKCS#8 private keys ({@code BEGIN PRIVATE KEY}), the forms OpenSSL 3 and the JDK both read. Files are
 * written whole to a temporary sibling and moved into place, so a reader never sees half a file; key files are
 * created with mode 0600 from the start.
 */
public final class Pem {
    /** rw------- : private keys. */
    public static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
    /** rw-r--r-- : certificates and lists. */
    public static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");

    private static final String CERT = "CERTIFICATE";
    private static final String KEY = "PRIVATE KEY";

    private Pem() {
    }

    /** One PEM block of {@code der} under {@code label}, lines of 64 characters, ending in a newline. */
    static String block(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
    }

    /** The certificates as PEM text, in order. */
    public static String certificates(X509Certificate... certs) {
        StringBuilder b = new StringBuilder();
        for (X509Certificate c : certs) {
            try {
                b.append(block(CERT, c.getEncoded()));
            } catch (CertificateException e) {
                throw new IllegalStateException("cannot encode certificate " + c.getSubjectX500Principal(), e);
            }
        }
        return b.toString();
    }

    /** The key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). */
    public static String privateKey(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("private key in format " + key.getFormat() + ", not PKCS#8");
        }
        return block(KEY, key.getEncoded());
    }

    /** Every certificate of a PEM file, in order; an error names the file when it holds none or is broken. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try (InputStream in = new ByteArrayInputStream(bytes)) {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>();
            for (var c : f.generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException(file + " holds no certificate (expected a PEM 'BEGIN CERTIFICATE' block)");
            }
            return out;
        } catch (CertificateException e) {
            throw new IOException(file + " is not a readable PEM certificate file: " + e.getMessage(), e);
        }
    }

    /** The first certificate of a PEM file. */
    public static X509Certificate readCertificate(Path file) throws IOException {
        return readCertificates(file).getFirst();
    }

    /** An unencrypted PKCS#8 EC (or Ed25519) private key from a PEM file. */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN " + KEY + "-----");
        int end = text.indexOf("-----END " + KEY + "-----");
        if (begin < 0 || end < begin) {
            throw new IOException(file + " holds no unencrypted PKCS#8 key (expected a PEM 'BEGIN PRIVATE KEY' block)");
        }
        String body = text.substring(begin + ("-----BEGIN " + KEY + "-----").length(), end).replaceAll("\\s", "");
        byte[] der;
        try {
            der = Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": the key's base64 is broken: " + e.getMessage(), e);
        }
        for (String alg : new String[] {"EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IOException(file + " holds a PKCS#8 key that is neither EC nor Ed25519");
    }

    /**
     * Writes {@code text} to {@code file} with {@code mode}: to a temporary file in the same directory created with
     * that mode, then moved over {@code file} atomically.
     */
    public static void write(Path file, String text, Set<PosixFilePermission> mode) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(mode));
        try {
            Files.writeString(tmp, text, StandardCharsets.US_ASCII);
            Files.setPosixFilePermissions(tmp, mode); // createTempFile's mode is filtered by the umask
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
