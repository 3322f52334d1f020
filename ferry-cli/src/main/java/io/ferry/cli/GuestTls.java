package io.ferry.cli;

import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import io.ferry.host.net.tls.SerialList;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The TLS half of {@code ferry guest add NAME --tls}, {@code guest revoke} and {@code guest remove}: issuing a
 * guest's client certificate into a bundle directory, and revoking every certificate of a guest (docs/network.md,
 * "Certificates").
 */
final class GuestTls {
    private GuestTls() {
    }

    /** {@code --tls-dir}, else {@code $FERRY_TLS_DIR}, else /var/lib/ferry/tls. */
    static Path dir(Path option) {
        return option != null ? option : CertificateAuthority.defaultDirectory();
    }

    /**
     * Issues {@code name} a certificate valid {@code days} days from the CA in {@code tlsDir} (created on first use)
     * and writes its bundle to {@code bundle} (default ./ferry-tls-NAME). Returns the exit code.
     */
    static int issue(String name, int days, Path bundle, Path tlsDir, PrintStream out, PrintStream err) {
        Path where = bundle != null ? bundle : GuestBundle.defaultDirectory(name);
        CertificateAuthority ca;
        try {
            ca = CertificateAuthority.open(tlsDir);
        } catch (IOException e) {
            err.println("ferry guest add --tls: cannot open or create the certificate authority in " + tlsDir + ": "
                    + e.getMessage() + " (run as the user the host runs as, or name the host's TLS directory with "
                    + "--tls-dir or FERRY_TLS_DIR)");
            return 1;
        }
        try {
            CertificateAuthority.Identity id = ca.issue(name, days);
            GuestBundle.write(where, name, id, ca.certificate());
            out.println("issued guest " + name + " a TLS client certificate (serial " + id.serialHex() + ", valid until "
                    + id.certificate().getNotAfter().toInstant() + ") from the CA in " + tlsDir);
            out.println("bundle of " + name + ": " + where.toAbsolutePath() + " (ca.pem, guest.pem, guest.key, "
                    + "README.txt); install it on the guest machine in ~/.config/ferry/tls/" + name
                    + "/ or point FERRY_TLS_BUNDLE at it; guest.key is secret");
            return 0;
        } catch (IllegalArgumentException | IOException e) {
            err.println("ferry guest add --tls: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Revokes every certificate issued to {@code name}; with {@code onlyIfCa}, a directory without a CA is no error
     * (nothing was ever issued there). Returns the exit code.
     */
    static int revoke(String name, Path tlsDir, boolean onlyIfCa, PrintStream out, PrintStream err) {
        if (!Files.exists(tlsDir.resolve("ca.pem"))) {
            if (onlyIfCa) {
                return 0;
            }
            err.println("ferry guest revoke: no certificate authority in " + tlsDir + " (ca.pem): nothing was issued "
                    + "there; name the host's TLS directory with --tls-dir or FERRY_TLS_DIR");
            return 1;
        }
        try {
            CertificateAuthority ca = CertificateAuthority.open(tlsDir);
            List<SerialList.Entry> now = ca.revoke(name);
            if (now.isEmpty()) {
                out.println("guest " + name + " has no certificate left to revoke in " + tlsDir
                        + " (none issued, or all revoked already)");
                return 0;
            }
            StringBuilder serials = new StringBuilder();
            for (SerialList.Entry e : now) {
                serials.append(serials.isEmpty() ? "" : ", ").append(e.serialHex());
            }
            out.println("revoked " + now.size() + " certificate" + (now.size() == 1 ? "" : "s") + " of guest " + name
                    + " (serial " + serials + ") in " + tlsDir.resolve("revoked.txt") + "; a running host refuses "
                    + (now.size() == 1 ? "it" : "them") + " from its next connection (a revocation cuts no open "
                    + "connection: 'ferry guest reset " + name + "' ends the guest's sessions)");
            return 0;
        } catch (IOException e) {
            err.println("ferry guest: cannot revoke the certificates of " + name + ": " + e.getMessage());
            return 1;
        }
    }
}
