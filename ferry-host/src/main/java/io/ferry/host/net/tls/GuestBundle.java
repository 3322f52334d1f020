package io.ferry.host.net.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;

/**
 * A guest's TLS bundle, the directory {@code ferry guest add NAME --tls} writes and the guest installs:
 * {@code ca.pem} (the host's CA, to trust the host), {@code guest.pem} (the guest's certificate), {@code guest.key}
 * (its private key, unencrypted PKCS#8 PEM, mode 0600) and a README.txt. Plain PEM, read by the Java client and by
 * the native ICD (OpenSSL) alike.
 */
public final class GuestBundle {
    private GuestBundle() {
    }

    /** The directory a bundle is written to when the operator names none: {@code ./ferry-tls-NAME}. */
    public static Path defaultDirectory(String guest) {
        return Path.of("ferry-tls-" + guest);
    }

    /** Writes the bundle of {@code guest} with its new {@code identity} into {@code dir} (created 0700 if needed). */
    public static void write(Path dir, String guest, CertificateAuthority.Identity identity, X509Certificate ca)
            throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        Pem.write(dir.resolve("guest.key"), Pem.privateKey(identity.key()), Pem.PRIVATE);
        Pem.write(dir.resolve("guest.pem"), Pem.certificates(identity.certificate()), Pem.PUBLIC);
        Pem.write(dir.resolve("ca.pem"), Pem.certificates(ca), Pem.PUBLIC);
        Pem.write(dir.resolve("README.txt"), readme(guest, identity), Pem.PUBLIC);
    }

    private static String readme(String guest, CertificateAuthority.Identity identity) {
        return """
                Ferry TLS bundle of guest %1$s
                certificate serial %2$s, valid until %3$s

                  ca.pem      the host's certificate authority (the client trusts the host through it)
                  guest.pem   this guest's client certificate (CN=ferry-guest:%1$s)
                  guest.key   its private key: keep it secret (mode 0600); whoever has it connects as %1$s

                Install on the guest machine, for the user that runs the program:
                  mkdir -p ~/.config/ferry/tls && cp -r THIS-DIRECTORY ~/.config/ferry/tls/%1$s
                  chmod 700 ~/.config/ferry/tls/%1$s && chmod 600 ~/.config/ferry/tls/%1$s/guest.key
                or point FERRY_TLS_BUNDLE at this directory. Then connect with
                  FERRY_HOST=ferry+tls://HOST:PORT/%1$s   (Java)   or   FERRY_URL=ferry+tls://HOST:PORT/%1$s   (ICD)

                Renew before it expires with 'ferry guest add %1$s --tls' on the host; 'ferry guest revoke %1$s'
                revokes every certificate of the guest.
                """.formatted(guest, identity.serialHex(), identity.certificate().getNotAfter().toInstant());
    }
}
