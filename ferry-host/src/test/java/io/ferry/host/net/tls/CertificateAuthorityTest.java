package io.ferry.host.net.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void firstUseCreatesACaWithPrivateKeyFilesAndLaterUsesOpenTheSameOne() throws Exception {
        Path dir = tmp.resolve("state/tls");
        CertificateAuthority ca = CertificateAuthority.open(dir);
        assertEquals("rwx------", mode(dir));
        assertEquals("rw-------", mode(dir.resolve("ca.key")));
        assertEquals("rw-r--r--", mode(dir.resolve("ca.pem")));
        X509Certificate cert = ca.certificate();
        assertEquals(0, cert.getBasicConstraints(), "a CA that may sign only leaf certificates");
        assertTrue(cert.getKeyUsage()[5], "keyCertSign");
        assertEquals("SHA256withECDSA", cert.getSigAlgName());
        assertEquals(256, ((ECPublicKey) cert.getPublicKey()).getParams().getCurve().getField().getFieldSize());
        cert.verify(cert.getPublicKey());
        assertTrue(Files.readString(dir.resolve("ca.key")).startsWith("-----BEGIN PRIVATE KEY-----\n"));

        CertificateAuthority again = CertificateAuthority.open(dir);
        assertEquals(cert, again.certificate(), "the second open finds the CA the first created");
        // the key read back is the CA's: what it signs verifies with the certificate
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(Pem.readPrivateKey(dir.resolve("ca.key")));
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1, 2, 3});
        assertTrue(s.verify(sig));
    }

    @Test
    void aCaKeyOthersCanReadIsRefusedWithTheFix() throws Exception {
        Path dir = tmp.resolve("tls");
        CertificateAuthority.open(dir);
        Files.setPosixFilePermissions(dir.resolve("ca.key"), PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> CertificateAuthority.open(dir));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void aCaCertificateWithoutItsKeyIsNotSilentlyReplaced() throws Exception {
        Path dir = tmp.resolve("tls");
        CertificateAuthority.open(dir);
        Files.delete(dir.resolve("ca.key"));
        IOException e = assertThrows(IOException.class, () -> CertificateAuthority.open(dir));
        assertTrue(e.getMessage().contains("no ca.key"), e.getMessage());
    }

    @Test
    void aCaKeyOfAnotherCertificateIsRefused() throws Exception {
        Path dir = tmp.resolve("tls");
        CertificateAuthority.open(dir);
        CertificateAuthority.open(tmp.resolve("other"));
        Files.copy(tmp.resolve("other/ca.key"), dir.resolve("ca.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IOException e = assertThrows(IOException.class, () -> CertificateAuthority.open(dir));
        assertTrue(e.getMessage().contains("is not the key of"), e.getMessage());
    }

    @Test
    void aHostNameThatIsNoDnsNameNorAddressIsRefused() throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(tmp.resolve("tls"));
        var e = assertThrows(IllegalArgumentException.class, () -> ca.hostIdentity(List.of("gpu 1")));
        assertTrue(e.getMessage().contains("neither a DNS name"), e.getMessage());
    }

    @Test
    void guestCertificatesNameTheGuestAreForClientsAndAreIndexed() throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(tmp.resolve("tls"));
        CertificateAuthority.Identity a = ca.issue("alice", 30);
        X509Certificate c = a.certificate();
        c.verify(ca.certificate().getPublicKey());
        assertEquals("CN=ferry-guest:alice", c.getSubjectX500Principal().getName());
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), c.getExtendedKeyUsage());
        assertEquals(-1, c.getBasicConstraints(), "not a CA");
        assertEquals("alice", GuestCertificates.guestOf(c));
        Duration validity = Duration.between(Instant.now(), c.getNotAfter().toInstant());
        assertTrue(validity.compareTo(Duration.ofDays(29)) > 0 && validity.compareTo(Duration.ofDays(31)) < 0,
                "30 days asked, " + validity + " given");

        CertificateAuthority.Identity b = ca.issue("alice", CertificateAuthority.DEFAULT_GUEST_DAYS);
        ca.issue("bob", 1);
        List<SerialList.Entry> issued = ca.issued();
        assertEquals(3, issued.size());
        assertEquals(List.of("alice", "alice", "bob"), issued.stream().map(SerialList.Entry::guest).toList());
        assertEquals(c.getSerialNumber(), issued.get(0).serial());
        assertEquals(c.getNotAfter().toInstant(), issued.get(0).time());
        assertEquals(b.certificate().getSerialNumber(), issued.get(1).serial());
        assertThrows(IllegalArgumentException.class, () -> ca.issue("../etc", 1));
        assertThrows(IllegalArgumentException.class, () -> ca.issue("alice", 0));
    }

    @Test
    void serialNumbersAreRandomPositiveAndAtMost128Bits() throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(tmp.resolve("tls"));
        Set<BigInteger> seen = new HashSet<>();
        int wide = 0;
        for (int i = 0; i < 40; i++) {
            BigInteger s = ca.issue("g" + i, 1).certificate().getSerialNumber();
            assertTrue(s.signum() > 0 && s.bitLength() <= 128, s.toString(16));
            wide += s.bitLength() > 120 ? 1 : 0;
            assertTrue(seen.add(s));
        }
        assertTrue(wide > 30, "random 128-bit serials are nearly all wider than 120 bits: " + wide + " of 40");
    }

    @Test
    void theHostCertificateNamesLoopbackTheHostnameAndTheOperatorsNamesAndIsKeptUntilANameIsMissing()
            throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(tmp.resolve("tls"));
        CertificateAuthority.Identity h = ca.hostIdentity(List.of("gpu1.example", "10.0.0.7"));
        Set<String> names = Certificates.names(h.certificate());
        for (String n : List.of("localhost", "127.0.0.1", "::1", Certificates.hostname(), "gpu1.example",
                "10.0.0.7")) {
            assertTrue(names.contains(Certificates.canonical(n)), n + " in " + names);
        }
        assertEquals(List.of("1.3.6.1.5.5.7.3.1"), h.certificate().getExtendedKeyUsage());
        assertEquals("rw-------", mode(ca.directory().resolve("host.key")));
        h.certificate().verify(ca.certificate().getPublicKey());

        assertEquals(h.certificate(), ca.hostIdentity(List.of("gpu1.example")).certificate(), "kept: names present");
        CertificateAuthority.Identity h2 = ca.hostIdentity(List.of("gpu2.example"));
        assertNotEquals(h.certificate(), h2.certificate(), "issued anew for a new name");
        assertTrue(Certificates.names(h2.certificate()).contains("gpu2.example"));
        assertArrayEquals(h2.certificate().getEncoded(),
                Pem.readCertificate(ca.directory().resolve("host.pem")).getEncoded());
    }

    @Test
    void revokingAGuestRevokesEachOfItsCertificatesOnce() throws Exception {
        CertificateAuthority ca = CertificateAuthority.open(tmp.resolve("tls"));
        BigInteger a1 = ca.issue("alice", 10).certificate().getSerialNumber();
        BigInteger b1 = ca.issue("bob", 10).certificate().getSerialNumber();
        BigInteger a2 = ca.issue("alice", 10).certificate().getSerialNumber();
        List<SerialList.Entry> now = ca.revoke("alice");
        assertEquals(List.of(a1, a2), now.stream().map(SerialList.Entry::serial).toList());
        assertTrue(now.stream().allMatch(e -> e.time() != null && "alice".equals(e.guest())));
        assertEquals(List.of(), ca.revoke("alice"), "nothing new to revoke");
        assertEquals(List.of(), ca.revoke("nobody"));
        List<SerialList.Entry> listed = SerialList.read(ca.directory().resolve("revoked.txt"));
        assertEquals(List.of(a1, a2), listed.stream().map(SerialList.Entry::serial).toList());
        assertFalse(listed.stream().anyMatch(e -> e.serial().equals(b1)));
        BigInteger a3 = ca.issue("alice", 10).certificate().getSerialNumber();
        assertEquals(List.of(a3), ca.revoke("alice").stream().map(SerialList.Entry::serial).toList(),
                "a certificate issued after a revocation is new, revoked by the next one");
    }

    @Test
    void theRevocationListAcceptsHandWrittenLinesAndNamesABadOne() {
        List<SerialList.Entry> e = SerialList.parse("# comment\n\n0A:1b  # by hand\nff alice 2026-01-02T03:04:05Z\n",
                "revoked.txt");
        assertEquals(List.of(BigInteger.valueOf(0xA1B), BigInteger.valueOf(0xFF)),
                e.stream().map(SerialList.Entry::serial).toList());
        assertEquals(Instant.parse("2026-01-02T03:04:05Z"), e.get(1).time());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> SerialList.parse("ff\nzz alice\n", "revoked.txt"));
        assertTrue(bad.getMessage().contains("revoked.txt line 2"), bad.getMessage());
    }
}
