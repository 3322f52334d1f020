package io.ferry.host.net.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real TLS 1.3 handshakes: the host's Netty server context on 127.0.0.1 against a JDK SSLSocket client holding a
 * bundle that {@link GuestBundle} wrote (and once against OpenSSL's s_client, as the native ICD would connect).
 */
class TlsHandshakeTest {
    @TempDir
    Path tmp;
    HostTls tls;
    TlsTestServer server;

    @BeforeEach
    void start() throws Exception {
        tls = HostTls.open(tmp.resolve("state/tls"), List.of());
        server = new TlsTestServer(tls);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Path bundle(CertificateAuthority ca, String guest, CertificateAuthority.Identity id) throws IOException {
        Path dir = tmp.resolve("bundles").resolve(guest + "-" + id.serialHex());
        GuestBundle.write(dir, guest, id, ca.certificate());
        return dir;
    }

    private Path bundle(String guest) throws IOException {
        return bundle(tls.authority(), guest, tls.authority().issue(guest, 1));
    }

    /** Connects, expects HELLO after the handshake, claims {@code claim} and returns the host's answer line. */
    private String open(SSLContext ctx, String claim) throws IOException {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3"});
            p.setEndpointIdentificationAlgorithm("HTTPS"); // the host certificate must name 127.0.0.1
            s.setSSLParameters(p);
            s.setSoTimeout(60_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("HELLO", in.readLine());
            assertEquals("TLSv1.3", s.getSession().getProtocol());
            s.getOutputStream().write((claim + "\n").getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            return in.readLine();
        }
    }

    private String hostLog() throws InterruptedException {
        String line = server.log.poll(60, TimeUnit.SECONDS);
        assertNotNull(line, "the host logged nothing");
        return line;
    }

    @Test
    void aGoodCertificateIsAcceptedAndMappedToItsGuest() throws Exception {
        Path b = bundle("alice");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(b.resolve("guest.key"))));
        assertTrue(Files.readString(b.resolve("guest.key")).startsWith("-----BEGIN PRIVATE KEY-----\n"));
        assertTrue(Files.readString(b.resolve("guest.pem")).startsWith("-----BEGIN CERTIFICATE-----\n"));
        assertTrue(Files.readString(b.resolve("README.txt")).contains("~/.config/ferry/tls/alice"));
        assertEquals("OPENED alice", open(HostTls.clientContext(b), "alice"));
        assertEquals("accepted alice", hostLog());
    }

    @Test
    void aCertificateOfAnotherCaFailsTheHandshakeWithAClearReasonOnTheHost() throws Exception {
        // the client trusts this host, but its certificate comes from another CA
        Path b = tmp.resolve("foreign");
        TlsFixtures.foreignBundle(tls.authority().directory(), tmp.resolve("other"), "alice", b);
        SSLException e = assertThrows(SSLException.class, () -> open(HostTls.clientContext(b), "alice"));
        assertTrue(e.getMessage().matches(".*(bad_certificate|certificate_unknown).*"), e.getMessage());
        String log = hostLog();
        assertTrue(log.startsWith("handshake: TLS handshake with /127.0.0.1:"), log);
        assertTrue(log.contains("is not signed by this host's Ferry CA") && log.contains("CN=ferry-guest:alice")
                && log.contains("ferry guest add NAME --tls"), log);
    }

    @Test
    void aClientThatDoesNotTrustTheHostsCaRefusesTheHost() throws Exception {
        CertificateAuthority other = CertificateAuthority.open(tmp.resolve("other"));
        Path b = bundle(other, "alice", other.issue("alice", 1));
        SSLException e = assertThrows(SSLException.class, () -> open(HostTls.clientContext(b), "alice"));
        assertTrue(e.getMessage().contains("PKIX path"), e.getMessage());
    }

    @Test
    void anExpiredCertificateIsRefusedAfterTheHandshakeWithItsDate() throws Exception {
        Path b = tmp.resolve("expired");
        Instant notAfter = TlsFixtures.expiredBundle(tls.authority().directory(), "alice", Duration.ofDays(2), b);
        String answer = open(HostTls.clientContext(b), "alice");
        assertTrue(answer.startsWith("CLOSED " + Status.BAD_CREDENTIAL.code() + " the certificate of guest alice"),
                answer);
        assertTrue(answer.contains("expired on " + notAfter) && answer.contains("ferry guest add alice --tls"), answer);
        assertTrue(hostLog().startsWith("refused EXPIRED: "));
    }

    @Test
    void aRevokedCertificateIsRefusedOnTheNextConnectionWithoutARestart() throws Exception {
        Path b = bundle("alice");
        assertEquals("OPENED alice", open(HostTls.clientContext(b), "alice"));
        assertEquals("accepted alice", hostLog());
        tls.authority().revoke("alice"); // as `ferry guest revoke alice` does, from another process
        String answer = open(HostTls.clientContext(b), "alice");
        assertTrue(answer.startsWith("CLOSED 21 the certificate of guest alice") && answer.contains("was revoked on"),
                answer);
        assertTrue(hostLog().startsWith("refused REVOKED: "));
        assertEquals("OPENED alice", open(HostTls.clientContext(bundle("alice")), "alice"), "a new bundle works");
    }

    @Test
    void aCertificateOfAnotherGuestIsRefusedNamingBoth() throws Exception {
        String answer = open(HostTls.clientContext(bundle("bob")), "alice");
        assertEquals("CLOSED 21 certificate is for guest bob, but the connection asks for alice: connect as bob, or "
                + "use alice's bundle (ferry guest add alice --tls on the host)", answer);
        assertTrue(hostLog().startsWith("refused OTHER_GUEST: certificate is for guest bob"));
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", tls.authority().certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, tmf.getTrustManagers(), null);
        SSLException e = assertThrows(SSLException.class, () -> open(ctx, "alice"));
        assertTrue(e.getMessage().contains("certificate_required"), e.getMessage());
        String log = hostLog();
        assertTrue(log.contains("the client presented no certificate") && log.contains("FERRY_TLS_BUNDLE"), log);
    }

    @Test
    void aClientThatSpeaksNoTlsIsLoggedWithWhatTheHostExpects() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write("OPEN alice please\n".repeat(8).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.setSoTimeout(60_000);
            try {
                s.getInputStream().readAllBytes(); // the host closes, perhaps after an alert
            } catch (java.net.SocketException reset) {
                // a reset is a close too
            }
        }
        String log = hostLog();
        assertTrue(log.startsWith("handshake: TLS handshake with /127.0.0.1:") && log.contains("must speak TLS 1.3"),
                log);
    }

    @Test
    void openSslReadsTheBundleAndCompletesTheMutualHandshake() throws Exception {
        Assumptions.assumeTrue(onPath("openssl"), "openssl is not installed (Debian: openssl)");
        Path b = bundle("alice");
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(), "-tls1_3",
                "-cert", b.resolve("guest.pem").toString(), "-key", b.resolve("guest.key").toString(),
                "-CAfile", b.resolve("ca.pem").toString(), "-verify_return_error", "-verify_ip", "127.0.0.1",
                "-quiet").redirectErrorStream(true).start();
        p.getOutputStream().write("alice\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().flush();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // the host closes
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(out.contains("HELLO\nOPENED alice\n"), out);
        assertEquals("accepted alice", hostLog());
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
