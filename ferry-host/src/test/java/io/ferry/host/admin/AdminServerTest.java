package io.ferry.host.admin;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin socket: mode, stale files, one JSON document per request. */
class AdminServerTest {
    Path dir;

    @BeforeEach
    void dir() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-admin-");
    }

    @AfterEach
    void clean() throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private FerryHost host() throws IOException {
        return FerryHost.start(new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 1L << 20))), Devices.of(List.of(), List.of()));
    }

    static String ask(Path socket, String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            var out = new java.io.ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void releaseDeviceRefusesAnAddressTheHostDoesNotServeAndRediscoverFindsNothingToDo() throws Exception {
        try (FerryHost host = host()) {
            Path socket = dir.resolve("admin.sock");
            String none = ask(socket, "release-device 0000:01:00.0\n");
            assertTrue(none.contains("\"error\"") && none.contains("no device with PCI address 0000:01:00.0"), none);
            String bad = ask(socket, "release-device ../x\n");
            assertTrue(bad.contains("\"error\"") && bad.contains("is not a PCI address"), bad);
            String again = ask(socket, "rediscover\n");
            assertTrue(again.contains("\"served_again\": []") && again.contains("\"still_assigned\": []"), again);
            String unknown = ask(socket, "frobnicate\n");
            assertTrue(unknown.contains("release-device BDF, rediscover"), unknown);
        }
    }

    @Test
    void theSocketIsOwnerOnlyAndAnswersStatusAsJson() throws Exception {
        try (FerryHost host = host()) {
            Path socket = dir.resolve("admin.sock");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            try (var list = Files.list(dir)) {
                assertTrue(list.noneMatch(p -> p.getFileName().toString().startsWith(".admin-")), "staging dir left");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(ask(socket, "status\n"));
            @SuppressWarnings("unchecked")
            Map<String, Object> g = (Map<String, Object>) ((List<Object>) doc.get("guests")).getFirst();
            assertEquals("alice", g.get("name"));
            assertEquals(false, g.get("connected"));
            assertEquals(List.of(), doc.get("devices"));
        }
    }

    @Test
    void aStaleSocketIsReplacedAndALiveOneIsNot() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(socket));
        } // closed: the file stays, nobody answers
        assertTrue(Files.exists(socket));
        try (FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 1L << 20))), Devices.of(List.of(), List.of()))) {
            assertTrue(ask(socket, "status\n").contains("\"alice\""));
            IOException e = assertThrows(IOException.class, () -> AdminServer.start(socket, host));
            assertTrue(e.getMessage().contains("another host answers"), e.getMessage());
        }
        assertFalse(Files.exists(socket));
    }

    @Test
    void stringsAreEscapedAndParsedBack() {
        String nasty = "a\"b\\c\nd\u0001e\u2028f";
        String json = StatusJson.quote(nasty);
        assertFalse(json.contains("\n"));
        assertEquals(nasty, StatusJson.parse(json));
        assertEquals(Map.of("a", List.of(1L, 2.5, true, false)), StatusJson.parse("{\"a\": [1, 2.5, true, false]}"));
        assertThrows(IllegalArgumentException.class, () -> StatusJson.parse("{\"a\": 1} x"));
        assertThrows(IllegalArgumentException.class, () -> StatusJson.parse("[".repeat(100)));
    }
}
