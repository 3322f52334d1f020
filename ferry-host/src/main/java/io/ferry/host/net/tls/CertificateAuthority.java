package io.ferry.host.net.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import io.ferry.host.config.GuestNames;

/**
 * The host's certificate authority for guests that connect over TLS (docs/network.md, "Certificates"). It lives in
 * one directory, created on first use by {@link #open}:
 *
 * <pre>
 * ca.pem  ca.key (0600)       the CA: its key signs every guest and host certificate; whoever reads it can
 *                             impersonate any guest, so the directory is 0700 and the key 0600
 * host.pem  host.key (0600)   the host's server certificate (SANs: localhost, 127.0.0.1, ::1, the hostname, and the
 *                             names the operator passes)
 * issued.txt                  SERIAL GUEST NOT-AFTER of every guest certificate issued
 * revoked.txt                 SERIAL GUEST REVOKED-AT of every revoked one; the host rereads it when it changes
 * </pre>
 *
 * Keys are ECDSA P-256, signatures SHA-256 with ECDSA, serial numbers random 128-bit. A guest certificate's subject is
 * {@code CN=ferry-guest:NAME} with the clientAuth extended key usage. Changes (creation, issuing, revoking) hold a
 * file lock on {@code .lock} in the directory, so the CLI and a running host never interleave.
 */
public final class CertificateAuthority {
    /** The prefix of a guest certificate's common name: {@code CN=ferry-guest:NAME}. */
    public static final String GUEST_CN_PREFIX = "ferry-guest:";
    /** Validity of a guest certificate unless {@code --tls-days} says otherwise. */
    public static final int DEFAULT_GUEST_DAYS = 365;
    /** Where the CA lives when neither the config nor {@code FERRY_TLS_DIR} names a directory. */
    public static final Path DEFAULT_DIRECTORY = Path.of("/var/lib/ferry/tls");
    static final int CA_DAYS = 20 * 365;
    static final int HOST_DAYS = 5 * 365;
    /** A host certificate with less left than this is issued anew when the host opens its identity. */
    static final Duration HOST_RENEW_BEFORE = Duration.ofDays(30);

    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final Object IN_PROCESS = new Object();

    private final Path dir;
    private final X509Certificate caCert;
    private final PrivateKey caKey;
    private final SecureRandom random;

    /** A certificate with its private key. */
    public record Identity(X509Certificate certificate, PrivateKey key) {
        /** The certificate's serial number in hex, as the lists write it. */
        public String serialHex() {
            return SerialList.hex(certificate.getSerialNumber());
        }
    }

    private CertificateAuthority(Path dir, X509Certificate caCert, PrivateKey caKey, SecureRandom random) {
        this.dir = dir;
        this.caCert = caCert;
        this.caKey = caKey;
        this.random = random;
    }

    /** {@code $FERRY_TLS_DIR} when set, else {@link #DEFAULT_DIRECTORY}. */
    public static Path defaultDirectory() {
        String env = System.getenv("FERRY_TLS_DIR");
        return env == null || env.isBlank() ? DEFAULT_DIRECTORY : Path.of(env);
    }

    /**
     * The CA in {@code dir}, created (directory 0700, a new CA key and a self-signed CA certificate) when the
     * directory has none. Refuses a CA key that others may read, saying how to fix it.
     */
    public static CertificateAuthority open(Path dir) throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        SecureRandom random = new SecureRandom();
        return locked(dir, () -> {
            Path pem = dir.resolve("ca.pem");
            Path key = dir.resolve("ca.key");
            if (!Files.exists(pem)) {
                KeyPair kp = newKeyPair(random);
                Instant now = Instant.now();
                X509Certificate cert = Certificates.ca(kp, serial(random), now.minus(Duration.ofMinutes(5)),
                        now.plus(Duration.ofDays(CA_DAYS)), Certificates.hostname());
                Pem.write(key, Pem.privateKey(kp.getPrivate()), Pem.PRIVATE); // the key first: no cert without it
                Pem.write(pem, Pem.certificates(cert), Pem.PUBLIC);
            }
            if (!Files.exists(key)) {
                throw new IOException(dir + " has ca.pem but no ca.key: restore ca.key from a backup, or move the "
                        + "directory away to create a new CA (then every guest needs a new bundle)");
            }
            checkPrivate(key);
            X509Certificate cert = Pem.readCertificate(pem);
            PrivateKey caKey = Pem.readPrivateKey(key);
            if (!pair(cert, caKey)) {
                throw new IOException(key + " is not the key of " + pem + ": restore the pair from a backup, or move "
                        + "the directory away to create a new CA (then every guest needs a new bundle)");
            }
            return new CertificateAuthority(dir, cert, caKey, random);
        });
    }

    /** The directory the CA lives in. */
    public Path directory() {
        return dir;
    }

    /** The CA's certificate (what {@code ca.pem} holds, and what guests and the host trust). */
    public X509Certificate certificate() {
        return caCert;
    }

    /**
     * The host's server identity ({@code host.pem}, {@code host.key}), issued when there is none, when it lacks one
     * of {@code names} (or the default names), or when it expires within 30 days.
     */
    public Identity hostIdentity(List<String> names) throws IOException {
        Set<String> wanted = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1", Certificates.hostname()));
        for (String n : names) {
            String name = n.strip();
            if (!org.bouncycastle.util.IPAddress.isValid(name)
                    && !name.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
                throw new IllegalArgumentException("host name '" + name + "' is neither a DNS name (letters, digits, "
                        + "'-' and '.') nor an IP address");
            }
            wanted.add(name);
        }
        return locked(dir, () -> {
            Path pem = dir.resolve("host.pem");
            Path key = dir.resolve("host.key");
            if (Files.exists(pem) && Files.exists(key)) {
                X509Certificate cert = Pem.readCertificate(pem);
                boolean fresh = cert.getNotAfter().toInstant().isAfter(Instant.now().plus(HOST_RENEW_BEFORE));
                if (fresh && wanted.stream().map(Certificates::canonical).allMatch(Certificates.names(cert)::contains)
                        && signedByMe(cert)) {
                    checkPrivate(key);
                    return new Identity(cert, Pem.readPrivateKey(key));
                }
            }
            KeyPair kp = newKeyPair(random);
            Instant now = Instant.now();
            X509Certificate cert = Certificates.host(kp.getPublic(), caCert, caKey, serial(random),
                    now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(HOST_DAYS)), List.copyOf(wanted));
            Pem.write(key, Pem.privateKey(kp.getPrivate()), Pem.PRIVATE);
            Pem.write(pem, Pem.certificates(cert), Pem.PUBLIC);
            return new Identity(cert, kp.getPrivate());
        });
    }

    /** A new client certificate for {@code guest}, valid from now for {@code days} days, recorded in issued.txt. */
    public Identity issue(String guest, int days) throws IOException {
        if (days < 1) {
            throw new IllegalArgumentException("--tls-days " + days + ": a certificate must be valid for at least 1 day");
        }
        Instant now = Instant.now();
        return issue(guest, now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(days)));
    }

    /** A client certificate for {@code guest} valid from {@code notBefore} to {@code notAfter} (tests: expired ones). */
    Identity issue(String guest, Instant notBefore, Instant notAfter) throws IOException {
        if (!GuestNames.valid(guest)) {
            throw new IllegalArgumentException("'" + guest + "' is not a guest name (" + GuestNames.RULE + ")");
        }
        return locked(dir, () -> {
            KeyPair kp = newKeyPair(random);
            X509Certificate cert = Certificates.guest(kp.getPublic(), caCert, caKey, serial(random), notBefore,
                    notAfter, GUEST_CN_PREFIX + guest);
            Path index = dir.resolve("issued.txt");
            List<SerialList.Entry> all = new ArrayList<>(SerialList.read(index));
            all.add(new SerialList.Entry(cert.getSerialNumber(), guest, notAfter.truncatedTo(
                    java.time.temporal.ChronoUnit.SECONDS)));
            SerialList.write(index, "certificates issued to guests: SERIAL GUEST NOT-AFTER (ferry guest add NAME "
                    + "--tls)", all);
            return new Identity(cert, kp.getPrivate());
        });
    }

    /** Every certificate issued to a guest, from issued.txt, oldest first. */
    public List<SerialList.Entry> issued() throws IOException {
        return SerialList.read(dir.resolve("issued.txt"));
    }

    /**
     * Revokes every certificate issued to {@code guest} that is not revoked yet (adds it to revoked.txt, which a
     * running host rereads at its next connection) and returns those it revoked now; none when the guest has none.
     */
    public List<SerialList.Entry> revoke(String guest) throws IOException {
        return locked(dir, () -> {
            Path list = dir.resolve("revoked.txt");
            List<SerialList.Entry> revoked = new ArrayList<>(SerialList.read(list));
            Set<BigInteger> already = new java.util.HashSet<>();
            revoked.forEach(e -> already.add(e.serial()));
            Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            List<SerialList.Entry> added = new ArrayList<>();
            for (SerialList.Entry e : issued()) {
                if (guest.equals(e.guest()) && already.add(e.serial())) {
                    added.add(new SerialList.Entry(e.serial(), guest, now));
                }
            }
            if (!added.isEmpty()) {
                revoked.addAll(added);
                SerialList.write(list, "revoked certificates: SERIAL GUEST REVOKED-AT (ferry guest revoke NAME); "
                        + "the host rereads this file when it changes", revoked);
            }
            return added;
        });
    }

    /** Whether {@code cert} carries this CA's signature. */
    boolean signedByMe(X509Certificate cert) {
        try {
            cert.verify(caCert.getPublicKey());
            return cert.getIssuerX500Principal().equals(caCert.getSubjectX500Principal());
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Whether {@code key} signs what {@code cert}'s public key verifies. */
    private static boolean pair(X509Certificate cert, PrivateKey key) {
        try {
            byte[] probe = "ferry ca key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            return s.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static KeyPair newKeyPair(SecureRandom random) throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IOException("this JDK cannot make ECDSA P-256 keys: " + e.getMessage(), e);
        }
    }

    /** A random positive 128-bit serial number. */
    private static BigInteger serial(SecureRandom random) {
        BigInteger s;
        do {
            s = new BigInteger(128, random);
        } while (s.signum() == 0);
        return s;
    }

    private static void checkPrivate(Path key) throws IOException {
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(key);
        Set<PosixFilePermission> others = Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
        if (mode.stream().anyMatch(others::contains)) {
            throw new IOException(key + " is readable or writable by others (mode "
                    + PosixFilePermissions.toString(mode) + "): run chmod 600 " + key + " (and consider whether the "
                    + "key leaked: if so, move the directory away to make a new CA and re-issue every bundle)");
        }
    }

    private interface Action<T> {
        T run() throws IOException;
    }

    /** Runs {@code action} holding the directory's lock (other processes) and this JVM's. */
    private static <T> T locked(Path dir, Action<T> action) throws IOException {
        synchronized (IN_PROCESS) {
            try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
                return action.run();
            }
        }
    }
}
