package io.ferry.client.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.FerryException;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEM parsing of a guest's TLS bundle: certificates and PKCS#8 keys, with java.security alone. */
class PemTest {
    @TempDir
    static Path tmp;
    static TestCertificates certs;

    @BeforeAll
    static void issue() throws Exception {
        certs = new TestCertificates(tmp);
        certs.issue("alice", "EC", "ferry-guest:alice", null);
    }

    @Test
    void keysOfEachAlgorithmRoundTrip() throws Exception {
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            KeyPair pair = KeyPairGenerator.getInstance(alg).generateKeyPair();
            String pem = "Bag Attributes: ignored text between blocks\n"
                    + TestCertificates.block("PRIVATE KEY", pair.getPrivate().getEncoded());
            PrivateKey key = Pem.privateKey(pem, "guest.key");
            assertArrayEquals(pair.getPrivate().getEncoded(), key.getEncoded(), alg);
        }
    }

    @Test
    void certificatesParseInOrder() throws Exception {
        String two = TestCertificates.block("CERTIFICATE", certs.caCertificate().getEncoded())
                + Files.readString(tmp.resolve("alice.crt"));
        List<X509Certificate> list = Pem.certificates(two, "chain.pem");
        assertEquals(2, list.size());
        assertTrue(list.get(0).getSubjectX500Principal().getName().contains("ferry-test-ca"));
        assertTrue(list.get(1).getSubjectX500Principal().getName().contains("ferry-guest:alice"));
    }

    @Test
    void whatIsNotUsableIsNamed() throws Exception {
        byte[] der = KeyPairGenerator.getInstance("EC").generateKeyPair().getPrivate().getEncoded();
        String[][] cases = {
                {TestCertificates.block("ENCRYPTED PRIVATE KEY", der), "encrypted"},
                {TestCertificates.block("RSA PRIVATE KEY", der), "openssl pkcs8 -topk8"},
                {TestCertificates.block("EC PRIVATE KEY", der), "openssl pkcs8 -topk8"},
                {"-----BEGIN PRIVATE KEY-----\nAAAA", "no '-----END PRIVATE KEY-----'"},
                {"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not base64"},
                {"", "found 0"},
                {TestCertificates.block("PRIVATE KEY", new byte[] {1, 2, 3}), "none of"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Pem.privateKey(c[0], "guest.key"), c[1]);
            assertTrue(e.getMessage().startsWith("guest.key") && e.getMessage().contains(c[1]), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pem.certificates("nothing here", "ca.pem"));
        assertTrue(e.getMessage().contains("no '-----BEGIN CERTIFICATE-----'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Pem.certificates(TestCertificates.block("CERTIFICATE", new byte[] {1, 2}), "ca.pem"));
        assertTrue(e.getMessage().contains("does not parse"), e.getMessage());
    }

    @Test
    void aBundleIsReadFromItsDirectory() throws Exception {
        Path dir = certs.bundle("alice");
        TlsBundle b = TlsBundle.read(dir, "alice");
        assertEquals(1, b.ca().size());
        assertTrue(b.chain().getFirst().getSubjectX500Principal().getName().contains("ferry-guest:alice"));
        assertArrayEquals(certs.key("alice").getEncoded(), b.key().getEncoded());
        b.context(); // key and certificate go together

        Files.delete(dir.resolve(TlsBundle.KEY));
        FerryException e = assertThrows(FerryException.class, () -> TlsBundle.read(dir, "alice"));
        assertEquals(Status.NOT_CONFIGURED, e.status());
        assertTrue(e.getMessage().contains("no guest.key in the TLS bundle directory " + dir)
                && e.getMessage().contains("ferry guest add alice --tls"), e.getMessage());
        Files.writeString(dir.resolve(TlsBundle.KEY), "garbage");
        e = assertThrows(FerryException.class, () -> TlsBundle.read(dir, "alice"));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void theBundleDirectoryIsTheVariableElseUnderHome() {
        assertEquals(Path.of("/etc/b"), TlsBundle.directory(java.util.Map.of("FERRY_TLS_BUNDLE", " /etc/b "), "/h",
                "alice"));
        assertEquals(Path.of("/h/.config/ferry/tls/alice"), TlsBundle.directory(java.util.Map.of(), "/h", "alice"));
    }
}
