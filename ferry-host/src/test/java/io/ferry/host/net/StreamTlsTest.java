package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import io.ferry.host.net.tls.TlsFixtures;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The TLS listener (listen:) against a real host: a guest's own certificate gets its lane and its calls answered; a
 * certificate of another guest, a revoked one and an expired one are refused with a CLOSED frame that says so; a
 * certificate of another CA fails the handshake itself.
 */
class StreamTlsTest {
    Path dir;
    Path ca;
    FerryHost host;
    InetSocketAddress address;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-");
        ca = dir.resolve("tls");
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 4L << 20), new HostConfig.GuestConfig("bob", 4L << 20)))
                .withNet(new NetConfig(List.of(new NetConfig.Address("127.0.0.1", 0)), NetConfig.OFF, null, ca));
        host = FerryHost.start(cfg, null, Devices.of(List.of(), List.of()), null);
        address = host.net().tlsAddresses().getFirst();
    }

    @AfterEach
    void stop() throws IOException {
        host.close();
        StreamHostTest.clean(dir);
    }

    private Path bundle(String guest) throws IOException {
        CertificateAuthority authority = CertificateAuthority.open(ca);
        Path b = dir.resolve("bundle-" + guest + "-" + System.nanoTime());
        GuestBundle.write(b, guest, authority.issue(guest, 1), authority.certificate());
        return b;
    }

    @Test
    void aGuestsOwnCertificateGetsItsLaneAndCalls() throws Exception {
        try (StreamClient c = StreamClient.tls(address, bundle("alice"))) {
            StreamClient.Frame f = c.open("alice", null);
            assertEquals(StreamFrame.OPENED, f.type(), () -> String.valueOf(StreamClient.closed(f)));
            assertEquals(Status.OK.code(), c.connect().status());
            assertEquals(5, c.nop(5).r0());
        }
    }

    @Test
    void certificatesThatDoNotFitAreRefusedWithTheReason() throws Exception {
        assertRefused(bundle("bob"), "alice", "bob");
        Path alice = bundle("alice");
        CertificateAuthority.open(ca).revoke("alice");
        assertRefused(alice, "alice", "revoked");
        Path expired = dir.resolve("expired");
        TlsFixtures.expiredBundle(ca, "alice", Duration.ofDays(2), expired);
        assertRefused(expired, "alice", "expired");
        // bob, untouched, is still served
        try (StreamClient c = StreamClient.tls(address, bundle("bob"))) {
            assertEquals(StreamFrame.OPENED, c.open("bob", null).type());
        }
    }

    @Test
    void aCertificateOfAnotherCaFailsTheHandshake() throws Exception {
        Path foreign = dir.resolve("foreign");
        TlsFixtures.foreignBundle(ca, dir.resolve("other-ca"), "alice", foreign);
        assertThrows(IOException.class, () -> {
            try (StreamClient c = StreamClient.tls(address, foreign)) {
                c.open("alice", null); // TLS 1.3: the host's refusal may arrive at the first read
            }
        });
    }

    private void assertRefused(Path bundle, String guest, String says) throws Exception {
        try (StreamClient c = StreamClient.tls(address, bundle)) {
            StreamFrame.Closed closed = StreamClient.closed(c.open(guest, null));
            assertNotNull(closed, "expected CLOSED");
            assertEquals(Status.BAD_CREDENTIAL.code(), closed.status(), closed.reason());
            assertTrue(closed.reason().contains(says), closed.reason());
        }
    }
}
