package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.CommandQueue;
import io.ferry.host.admin.StatusJson;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The admin socket answers {@code status} with the host's figures. */
class StatusIT {

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

    @SuppressWarnings("unchecked")
    static Map<String, Object> guest(Map<String, Object> doc, String name) {
        for (Object g : (List<Object>) doc.get("guests")) {
            if (name.equals(((Map<String, Object>) g).get("name"))) {
                return (Map<String, Object>) g;
            }
        }
        throw new AssertionError("no guest " + name + " in " + doc);
    }

    @Test
    @SuppressWarnings("unchecked")
    void statusShowsAConnectedGuestsObjectsMemoryAndCalls() throws Exception {
        try (TestHost host = TestHost.start("alice", "bob");
             Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(1 << 20)) {
            q.finish();
            Path socket = host.dir.resolve("admin.sock");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(host.dir)));

            Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(ask(socket, "status\n"));
            Map<String, Object> h = (Map<String, Object>) doc.get("host");
            assertEquals(ProcessHandle.current().pid(), h.get("pid"));
            assertEquals(host.dir.toString(), h.get("region_dir"));
            List<Object> devices = (List<Object>) doc.get("devices");
            assertFalse(devices.isEmpty());
            assertEquals("opencl", ((Map<String, Object>) devices.getFirst()).get("backend"));

            Map<String, Object> alice = guest(doc, "alice");
            assertEquals(true, alice.get("connected"));
            assertEquals(ferry.sessionId(), alice.get("session_id"));
            assertEquals(ProcessHandle.current().pid(), alice.get("pid"));
            assertTrue((Long) alice.get("objects") >= 3, alice.toString());
            assertTrue((Long) alice.get("device_memory_bytes") >= 1 << 20, alice.toString());
            assertTrue((Long) alice.get("calls") > 0, alice.toString());
            assertEquals(1L, alice.get("sessions"));
            assertEquals(1L << 30, ((Map<String, Object>) alice.get("quotas")).get("device_memory_bytes"));

            Map<String, Object> bob = guest(doc, "bob");
            assertEquals(false, bob.get("connected"));
            assertEquals(0L, bob.get("objects"));
        }
    }

    @Test
    void anUnknownRequestIsAnsweredWithAnError() throws Exception {
        try (TestHost host = TestHost.start("alice")) {
            String reply = ask(host.dir.resolve("admin.sock"), "shutdown\n");
            assertTrue(reply.contains("\"error\""), reply);
            assertTrue(reply.contains("status"), reply);
        }
    }

    @Test
    void theSocketIsRemovedWhenTheHostStops() throws Exception {
        Path socket;
        try (TestHost host = TestHost.start("alice")) {
            socket = host.dir.resolve("admin.sock");
            assertTrue(Files.exists(socket));
            host.host.close();
            assertFalse(Files.exists(socket));
            assertThrows(IOException.class, () -> ask(socket, "status\n"));
        }
    }
}
