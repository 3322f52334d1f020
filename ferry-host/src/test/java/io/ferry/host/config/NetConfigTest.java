package io.ferry.host.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stream transport's keys: none by default, each parsed and checked, written back the way they are read. */
class NetConfigTest {
    @Test
    void aHostListensOnNothingByDefault() {
        HostConfig c = HostConfig.parse("guests: [{name: alice}]\n", "test");
        assertFalse(c.net().any());
        assertEquals(NetConfig.NONE, c.net());
        assertFalse(c.toYaml().contains("listen"));
    }

    @Test
    void everyKeyIsReadAndWrittenBack() {
        HostConfig c = HostConfig.parse("""
                listen: ["0.0.0.0:7070", "[::1]:7071", ":7072"]
                insecure-loopback: 7073
                vsock: {uds: /run/ferry/v.sock, port: 7074}
                tls-dir: /srv/ferry/tls
                """, "test");
        NetConfig n = c.net();
        assertEquals(List.of(new NetConfig.Address("0.0.0.0", 7070), new NetConfig.Address("::1", 7071),
                new NetConfig.Address("127.0.0.1", 7072)), n.listen());
        assertEquals(7073, n.insecureLoopback());
        assertEquals(Path.of("/run/ferry/v.sock_7074"), n.vsock().socketPath());
        assertEquals(Path.of("/srv/ferry/tls"), n.tlsDir());
        assertEquals(n, HostConfig.parse(c.toYaml(), "again").net());
        assertTrue(n.any());
    }

    @Test
    void mistakesAreNamedWithTheFix() {
        assertThrows("listen must be a list", "listen: 0.0.0.0:7070\n");
        assertThrows("is not HOST:PORT", "listen: [\"7070\"]\n");
        assertThrows("insecure-loopback: 'x' is not a port", "insecure-loopback: x\n");
        assertThrows("is not a port", "insecure-loopback: 70000\n");
        assertThrows("vsock needs uds and port", "vsock: {uds: /run/v.sock}\n");
        assertThrows("unknown key 'cid'", "vsock: {uds: /run/v.sock, port: 5, cid: 3}\n");
        assertThrows("vsock.port: '0' is not a port", "vsock: {uds: /run/v.sock, port: 0}\n");
        assertNull(HostConfig.parse("insecure-loopback: 0\n", "t").net().vsock());
    }

    private static void assertThrows(String says, String yaml) {
        HostConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse(yaml, "t"));
        assertTrue(e.getMessage().contains(says), e.getMessage());
    }
}
