package io.ferry.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.HostAddress.Stream;
import io.ferry.client.HostAddress.Transport;
import io.ferry.protocol.Status;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The network forms of FERRY_HOST and Ferry.connect(URI): ferry+tls, ferry+tcp, ferry+vsock, ferry+uds. */
class StreamAddressTest {
    private static Stream parse(String text) {
        return assertInstanceOf(Stream.class, HostAddress.parse(text, "FERRY_HOST"));
    }

    @Test
    void tlsNamesHostPortAndGuest() {
        Stream s = parse("ferry+tls://gpu1.example:7070/alice");
        assertEquals(new Stream(Transport.TLS, "gpu1.example", 7070, null, "alice", "FERRY_HOST"), s);
        assertEquals("ferry+tls://gpu1.example:7070/alice", s.toString());
        assertEquals(Transport.TLS, parse("FERRY+TLS://10.0.0.5:7070/bob.x-1").transport(), "scheme case");
        Stream v6 = parse("ferry+tls://[fd00::5]:7070/alice");
        assertEquals("fd00::5", v6.host());
        assertEquals("ferry+tls://[fd00::5]:7070/alice", v6.toString());
    }

    @Test
    void theGuestMayBeLeftToTheProgram() {
        assertNull(parse("ferry+tls://gpu1:7070").guest());
        assertNull(parse("ferry+tcp://127.0.0.1:7071/").guest());
        assertEquals("alice", parse("ferry+tcp://127.0.0.1:7071/").withGuest("alice").guest());
    }

    @Test
    void plainTcpOnlyToLoopback() {
        for (String ok : new String[] {"ferry+tcp://127.0.0.1:7071/a", "ferry+tcp://127.1.2.3:7071/a",
                "ferry+tcp://[::1]:7071/a", "ferry+tcp://localhost:7071/a"}) {
            assertEquals(Transport.TCP, parse(ok).transport(), ok);
        }
        for (String bad : new String[] {"ferry+tcp://10.0.0.5:7071/a", "ferry+tcp://gpu1.example:7071/a",
                "ferry+tcp://0.0.0.0:7071/a", "ferry+tcp://[fd00::1]:7071/a"}) {
            FerryException e = assertThrows(FerryException.class, () -> HostAddress.parse(bad, "FERRY_HOST"), bad);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("unencrypted") && e.getMessage().contains("use ferry+tls://"),
                    e.getMessage());
        }
    }

    @Test
    void vsockTakesANumericCid() {
        Stream s = parse("ferry+vsock://2:7072/alice");
        assertEquals(new Stream(Transport.VSOCK, "2", 7072, null, "alice", "FERRY_HOST"), s);
        assertEquals("ferry+vsock://2:7072/alice", s.toString());
        for (String bad : new String[] {"ferry+vsock://host:7072/a", "ferry+vsock://4294967296:7072/a"}) {
            FerryException e = assertThrows(FerryException.class, () -> HostAddress.parse(bad, "FERRY_HOST"), bad);
            assertTrue(e.getMessage().contains("CID"), e.getMessage());
        }
    }

    @Test
    void udsIsTheSocketPathThenTheGuest() {
        Stream s = parse("ferry+uds:///run/ferry/v.sock_7072/alice");
        assertEquals(new Stream(Transport.UDS, null, 0, Path.of("/run/ferry/v.sock_7072"), "alice", "FERRY_HOST"), s);
        assertEquals("ferry+uds:///run/ferry/v.sock_7072/alice", s.toString());
        for (String bad : new String[] {"ferry+uds:///alice", "ferry+uds://host/run/x/alice",
                "ferry+uds:///run/ferry/v.sock_7072/"}) {
            assertThrows(FerryException.class, () -> HostAddress.parse(bad, "FERRY_HOST"), bad);
        }
    }

    @Test
    void malformedNetworkAddressesAreRefusedWithTheForms() {
        for (String bad : new String[] {"ferry+tls://gpu1/alice", "ferry+tls://gpu1:0/alice",
                "ferry+tls://gpu1:70000/alice", "ferry+tls://gpu1:7070/a/b", "ferry+tls://gpu1:7070/-bad",
                "ferry+tls://gpu1:7070/alice?x=1", "ferry+tls://u@gpu1:7070/alice", "ferry+quic://gpu1:7070/a",
                "ferry+tls://gpu1:7070/" + "a".repeat(64)}) {
            FerryException e = assertThrows(FerryException.class, () -> HostAddress.parse(bad, "FERRY_HOST"), bad);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("FERRY_HOST '" + bad + "'")
                    && e.getMessage().contains("ferry+tls://HOST:PORT/GUEST"), e.getMessage());
        }
    }

    @Test
    void ferryHostMayNameANetworkHost() {
        HostAddress a = HostAddress.fromEnvironment(Map.of("FERRY_HOST", "ferry+tcp://127.0.0.1:7071/alice"),
                HostAddress.DEFAULT);
        assertEquals(Transport.TCP, ((Stream) a).transport());
    }

    @Test
    void connectByUriNeedsANetworkAddressWithAGuest() {
        for (String bad : new String[] {"unix:/run/ferry/guest.sock", "ferry+tcp://127.0.0.1:7071/"}) {
            FerryException e = assertThrows(FerryException.class, () -> Ferry.connect(URI.create(bad)));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("names the guest"), e.getMessage());
        }
    }

    @Test
    void aGuestNamedTwiceMustBeTheSame() {
        FerryException e = assertThrows(FerryException.class, () -> Ferry.connect(
                HostAddress.parse("ferry+tcp://127.0.0.1:1/alice", "FERRY_HOST"), "bob"));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("names guest 'alice' but the program connects as 'bob'"), e.getMessage());
    }

    @Test
    void nothingListeningIsHostUnavailableNamingTheAddress() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        int closed = port;
        FerryException e = assertThrows(FerryException.class,
                () -> Ferry.connect(URI.create("ferry+tcp://127.0.0.1:" + closed + "/alice")));
        assertEquals(Status.HOST_UNAVAILABLE, e.status());
        assertTrue(e.getMessage().contains("ferry+tcp://127.0.0.1:" + closed + "/alice")
                && e.getMessage().contains("insecure-loopback"), e.getMessage());
    }
}
