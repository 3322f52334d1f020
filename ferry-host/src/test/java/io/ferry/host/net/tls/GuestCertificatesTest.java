package io.ferry.host.net.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestCertificatesTest {
    @TempDir
    Path tmp;
    CertificateAuthority ca;
    GuestCertificates checks;

    @BeforeEach
    void setUp() throws Exception {
        ca = CertificateAuthority.open(tmp.resolve("tls"));
        checks = new GuestCertificates(ca.certificate(), ca.directory().resolve("revoked.txt"));
    }

    private static Certificate[] chain(CertificateAuthority.Identity id) {
        return new Certificate[] {id.certificate()};
    }

    private GuestCertificates.Refused refused(GuestCertificates.Kind kind, Certificate[] chain, String claimed) {
        GuestCertificates.Refused r = assertThrows(GuestCertificates.Refused.class, () -> checks.check(chain, claimed));
        assertEquals(kind, r.kind(), r.getMessage());
        assertEquals(Status.BAD_CREDENTIAL.code(), r.status());
        return r;
    }

    @Test
    void aGoodCertificateMapsToItsGuest() throws Exception {
        assertEquals("alice", checks.check(chain(ca.issue("alice", 1)), "alice"));
    }

    @Test
    void noCertificateSaysToInstallTheBundle() {
        for (Certificate[] none : new Certificate[][] {null, {}}) {
            var r = refused(GuestCertificates.Kind.NO_CERTIFICATE, none, "alice");
            assertTrue(r.getMessage().contains("no client certificate")
                    && r.getMessage().contains("ferry guest add alice --tls"), r.getMessage());
        }
    }

    @Test
    void aCertificateOfAnotherCaIsRefused() throws Exception {
        CertificateAuthority other = CertificateAuthority.open(tmp.resolve("other"));
        var r = refused(GuestCertificates.Kind.OTHER_CA, chain(other.issue("alice", 1)), "alice");
        assertTrue(r.getMessage().contains("not issued by this host's Ferry CA"), r.getMessage());
    }

    @Test
    void theHostsOwnCertificateIsNoGuestCertificate() throws Exception {
        var r = refused(GuestCertificates.Kind.NOT_A_GUEST_CERTIFICATE, chain(ca.hostIdentity(List.of())), "alice");
        assertTrue(r.getMessage().contains("is not a Ferry guest certificate"), r.getMessage());
    }

    @Test
    void whatAClientWroteInItsCertificateReachesTheLogOnOneLine() {
        assertEquals("CN=x?injected: fake line", CaTrustManager.printable("CN=x\ninjected: fake line"));
        assertEquals(163, CaTrustManager.printable("y".repeat(10_000)).length());
    }

    @Test
    void aCertificateOfAnotherGuestNamesBoth() throws Exception {
        var r = refused(GuestCertificates.Kind.OTHER_GUEST, chain(ca.issue("bob", 1)), "alice");
        assertTrue(r.getMessage().startsWith("certificate is for guest bob, but the connection asks for alice"),
                r.getMessage());
    }

    @Test
    void anExpiredCertificateGivesItsDateAndHowToRenew() throws Exception {
        Instant notAfter = Instant.parse("2025-06-01T00:00:00Z");
        var old = ca.issue("alice", notAfter.minus(Duration.ofDays(365)), notAfter);
        var r = refused(GuestCertificates.Kind.EXPIRED, chain(old), "alice");
        assertTrue(r.getMessage().contains("expired on 2025-06-01T00:00:00Z")
                && r.getMessage().contains("ferry guest add alice --tls"), r.getMessage());
    }

    @Test
    void aCertificateNotValidYetBlamesTheClocks() throws Exception {
        var id = ca.issue("alice", 1);
        GuestCertificates past = new GuestCertificates(ca.certificate(), ca.directory().resolve("revoked.txt"),
                Clock.fixed(Instant.parse("2020-01-01T00:00:00Z"), ZoneOffset.UTC));
        var r = assertThrows(GuestCertificates.Refused.class, () -> past.check(chain(id), "alice"));
        assertEquals(GuestCertificates.Kind.NOT_YET_VALID, r.kind());
        assertTrue(r.getMessage().contains("check the clocks"), r.getMessage());
    }

    @Test
    void revocationTakesEffectForTheNextCheckWithoutANewChecker() throws Exception {
        var first = ca.issue("alice", 1);
        assertEquals("alice", checks.check(chain(first), "alice"));
        ca.revoke("alice");
        var r = refused(GuestCertificates.Kind.REVOKED, chain(first), "alice");
        assertTrue(r.getMessage().contains("was revoked on ") && r.getMessage().contains(first.serialHex())
                && r.getMessage().contains("ferry guest add alice --tls"), r.getMessage());
        var second = ca.issue("alice", 1);
        assertEquals("alice", checks.check(chain(second), "alice"), "a new certificate after a revocation works");
        ca.revoke("alice");
        refused(GuestCertificates.Kind.REVOKED, chain(second), "alice");
    }

    @Test
    void aBrokenRevocationListRefusesEveryoneUntilItIsFixedAndAHandWrittenSerialCounts() throws Exception {
        var id = ca.issue("alice", 1);
        Path list = ca.directory().resolve("revoked.txt");
        Files.writeString(list, "not-a-serial\n");
        var r = refused(GuestCertificates.Kind.REVOCATION_LIST_BROKEN, chain(id), "alice");
        assertTrue(r.getMessage().contains(list + " line 1"), r.getMessage());
        Files.writeString(list, "# fixed\n");
        assertEquals("alice", checks.check(chain(id), "alice"));
        Files.writeString(list, "# by hand\n" + id.serialHex().toLowerCase() + "\n");
        r = refused(GuestCertificates.Kind.REVOKED, chain(id), "alice");
        assertTrue(r.getMessage().contains("was revoked: issue a new one"), r.getMessage());
    }
}
