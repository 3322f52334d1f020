package io.ferry.host.net.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Test support for other packages and modules (ferry-host's test jar, on ferry-cli's test class path): bundles
 * that {@code ferry guest add NAME --tls} cannot make, for the refusal tests of the network transport.
 */
public final class TlsFixtures {
    private TlsFixtures() {
    }

    /**
     * Writes to {@code bundle} a bundle for {@code guest} from the CA in {@code caDir} (created if need be) whose
     * certificate expired {@code ago} ago, and returns the certificate's not-after instant.
     */
    public static Instant expiredBundle(Path caDir, String guest, Duration ago, Path bundle) throws IOException {
        CertificateAuthority ca = CertificateAuthority.open(caDir);
        Instant notAfter = Instant.now().minus(ago).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        GuestBundle.write(bundle, guest, ca.issue(guest, notAfter.minus(Duration.ofDays(30)), notAfter),
                ca.certificate());
        return notAfter;
    }

    /**
     * Writes to {@code bundle} a bundle for {@code guest} from a separate CA in {@code otherCaDir} whose
     * {@code ca.pem} is the host's (from {@code hostCaDir}): the client trusts the host, the host does not trust the
     * client's certificate.
     */
    public static void foreignBundle(Path hostCaDir, Path otherCaDir, String guest, Path bundle) throws IOException {
        CertificateAuthority host = CertificateAuthority.open(hostCaDir);
        CertificateAuthority other = CertificateAuthority.open(otherCaDir);
        GuestBundle.write(bundle, guest, other.issue(guest, 1), host.certificate());
    }
}
