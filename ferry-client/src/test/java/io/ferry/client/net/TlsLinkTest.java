package io.ferry.client.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.FerryException;
import io.ferry.client.HostAddress;
import io.ferry.protocol.Status;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client side of TLS (Links.tls with a guest's bundle) against the JDK's own TLS 1.3 server: mutual
 * authentication, the host's certificate checked against the bundle's CA and the address connected to.
 */
class TlsLinkTest {
    @TempDir
    static Path tmp;
    static TestCertificates certs;

    @BeforeAll
    static void issue() throws Exception {
        certs = new TestCertificates(tmp);
        certs.issue("host", "EC", "ferry-host", "ip:127.0.0.1");
        certs.issue("elsewhere", "EC", "ferry-host", "dns:gpu9.example");
        certs.issue("alice", "EC", "ferry-guest:alice", null);
    }

    /** A one-connection TLS 1.3 server presenting {@code name}'s certificate; answers the client's CN. */
    private static SSLServerSocket server(String name) throws Exception {
        KeyStore ks = certs.load(name);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, TestCertificates.PASS.toCharArray());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", certs.caCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLServerSocket s = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 1,
                InetAddress.getLoopbackAddress());
        s.setNeedClientAuth(true);
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
        return s;
    }

    private static CompletableFuture<String> serve(SSLServerSocket server) {
        return CompletableFuture.supplyAsync(() -> {
            try (SSLSocket c = (SSLSocket) server.accept()) {
                c.startHandshake();
                String cn = ((X509Certificate) c.getSession().getPeerCertificates()[0]).getSubjectX500Principal()
                        .getName();
                int b = c.getInputStream().read();
                c.getOutputStream().write(b + 1);
                c.getOutputStream().flush();
                return cn;
            } catch (Exception e) {
                return "failed: " + e;
            }
        });
    }

    private static HostAddress.Stream at(SSLServerSocket s) {
        return new HostAddress.Stream(HostAddress.Transport.TLS, "127.0.0.1", s.getLocalPort(), null, "alice", "test");
    }

    @Test
    void mutualTls13WithTheBundle() throws Exception {
        try (SSLServerSocket server = server("host")) {
            CompletableFuture<String> cn = serve(server);
            SSLContext ctx = TlsBundle.read(certs.bundle("alice"), "alice").context();
            try (Links.Link link = StreamOpen.connect(at(server), () -> ctx)) {
                link.write(ByteBuffer.wrap(new byte[] {41}));
                link.flush();
                ByteBuffer back = ByteBuffer.allocate(1);
                link.readFully(back);
                assertEquals(42, back.get(0));
            }
            assertTrue(cn.get(10, TimeUnit.SECONDS).contains("CN=ferry-guest:alice"), cn.get());
        }
    }

    @Test
    void aHostCertificateForAnotherNameIsRefused() throws Exception {
        try (SSLServerSocket server = server("elsewhere")) {
            serve(server);
            SSLContext ctx = TlsBundle.read(certs.bundle("alice"), "alice").context();
            FerryException e = assertThrows(FerryException.class, () -> StreamOpen.connect(at(server), () -> ctx));
            assertEquals(Status.BAD_CREDENTIAL, e.status());
            assertTrue(e.getMessage().contains("the TLS handshake with ferry+tls://127.0.0.1:" + server.getLocalPort()
                    + "/alice failed") && e.getMessage().contains("127.0.0.1"), e.getMessage());
        }
    }
}
