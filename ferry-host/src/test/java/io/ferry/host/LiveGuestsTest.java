package io.ferry.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.host.admin.StatusJson;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Guests added, removed, reloaded and reset on a running host (no devices: the regions and sockets only). */
class LiveGuestsTest {
    Path dir;

    @BeforeEach
    void dir() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-live-");
    }

    @AfterEach
    void clean() throws IOException {
        Files.deleteIfExists(dir.resolveSibling(dir.getFileName() + ".sock"));
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private HostConfig config(HostConfig.GuestConfig... guests) {
        return new HostConfig(dir, true, List.of(), List.of(guests));
    }

    private FerryHost host(HostConfig cfg, Path file) throws IOException {
        return FerryHost.start(cfg, file, Devices.of(List.of(), List.of()), null);
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

    private static List<String> names(FerryHost host) {
        return host.guests().stream().map(HostViews.GuestView::name).toList();
    }

    @Test
    void aGuestAddedAndRemovedOnARunningHostGetsARegionAndLosesIt() throws Exception {
        try (FerryHost host = host(config(new HostConfig.GuestConfig("alice", 1L << 20).withRegion(
                HostConfig.RegionKind.FILE)), null)) {
            host.addGuest(new HostConfig.GuestConfig("bob", 1L << 20).withRegion(HostConfig.RegionKind.FILE));
            assertEquals(List.of("alice", "bob"), names(host));
            assertEquals(List.of("alice", "bob"), host.config().guests().stream().map(g -> g.name()).toList());
            Path bob = FerryHost.regionPath(dir, "bob");
            try (Region r = Region.open(bob)) {
                assertEquals("bob", r.header().guestName());
                assertTrue(r.hostEpoch() != 0, "the host serves it");
            }
            assertThrows(IllegalArgumentException.class, () -> host.addGuest(new HostConfig.GuestConfig("bob",
                    1L << 20)));
            host.removeGuest("bob");
            assertEquals(List.of("alice"), names(host));
            assertFalse(Files.exists(bob), "a removed guest's region file is deleted");
            assertThrows(IllegalArgumentException.class, () -> host.secret("bob"));
            assertThrows(IllegalArgumentException.class, () -> host.removeGuest("bob"));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void reloadOverTheAdminSocketAppliesTheFilesGuestsAndSaysWhatChanged() throws Exception {
        Path file = dir.resolve("ferry.yaml");
        HostConfig first = config(new HostConfig.GuestConfig("alice", 1L << 20).withSecret(HostConfig.newSecret()),
                new HostConfig.GuestConfig("bob", 1L << 20).withSecret(HostConfig.newSecret()));
        first.save(file);
        try (FerryHost host = host(first, file)) {
            first.withGuests(List.of(first.guest("alice").withLanes(2),
                    new HostConfig.GuestConfig("carol", 1L << 20).withSecret(HostConfig.newSecret()))).save(file);
            Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(ask(first.adminSocket(), "reload\n"));
            assertEquals(List.of("carol"), doc.get("added"), doc.toString());
            assertEquals(List.of("bob"), doc.get("removed"));
            assertEquals(List.of("alice"), doc.get("changed"));
            assertEquals(List.of(), doc.get("errors"));
            assertTrue(((Map<String, Object>) doc.get("regions")).get("carol").toString().contains("memfd"), doc
                    .toString());
            assertEquals(List.of("alice", "carol"), names(host).stream().sorted().toList());
            assertEquals(2, host.guests().stream().filter(g -> g.name().equals("alice")).findFirst().orElseThrow()
                    .lanes());

            Files.writeString(file, "guests: [ {name: \"bad name\"} ]\n");
            doc = (Map<String, Object>) StatusJson.parse(ask(first.adminSocket(), "reload\n"));
            assertTrue(doc.get("error").toString().contains("nothing changed"), doc.toString());
            assertEquals(List.of("alice", "carol"), names(host).stream().sorted().toList());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aHostWithoutAConfigFileRefusesToReloadAndResetChecksTheName() throws Exception {
        HostConfig cfg = config(new HostConfig.GuestConfig("alice", 1L << 20));
        try (FerryHost host = host(cfg, null)) {
            Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(ask(cfg.adminSocket(), "reload\n"));
            assertTrue(doc.get("error").toString().contains("without a config file"), doc.toString());
            doc = (Map<String, Object>) StatusJson.parse(ask(cfg.adminSocket(), "reset ../../etc/passwd\n"));
            assertTrue(doc.get("error").toString().contains("not a guest name"), doc.toString());
            doc = (Map<String, Object>) StatusJson.parse(ask(cfg.adminSocket(), "reset bob\n"));
            assertTrue(doc.get("error").toString().contains("no guest 'bob'"), doc.toString());
            assertThrows(IllegalStateException.class, host::reload);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aResetOverTheAdminSocketMakesAWhollyScribbledRegionOpenAgainInPlace() throws Exception {
        HostConfig cfg = config(new HostConfig.GuestConfig("alice", 1L << 20));
        try (FerryHost host = host(cfg, null)) {
            Path region = host.regionPath("alice");
            long epoch;
            try (Region r = Region.open(region)) {
                epoch = r.hostEpoch();
                // the guest scribbles its whole region: header, rings, heap
                MemorySegment all = r.segment();
                byte[] junk = new byte[(int) all.byteSize()];
                new java.util.Random(1).nextBytes(junk);
                MemorySegment.copy(junk, 0, all, ValueLayout.JAVA_BYTE, 0, junk.length);
                Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(ask(cfg.adminSocket(),
                        "reset alice\n"));
                assertEquals(Map.of("reset", "alice"), doc);
                try (Region fresh = Region.open(region)) {
                    assertEquals("alice", fresh.header().guestName());
                    assertNotNull(fresh.commandRing());
                    assertTrue(fresh.hostEpoch() != 0 && fresh.hostEpoch() != epoch, "a new epoch");
                    assertEquals(0, fresh.segment().get(ValueLayout.JAVA_LONG, RegionDescriptor.CONNECT_ACK_OFFSET));
                }
                assertEquals(r.hostEpoch(), Region.open(region).hostEpoch(), "the same memory, reset in place");
            }
        }
    }

    private static boolean opens(Path region) {
        try (Region r = Region.open(region)) {
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void awaitOpens(Path region) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!opens(region)) {
            assertTrue(System.nanoTime() < deadline, "the host never reset " + region);
            Thread.sleep(20);
        }
    }

    @Test
    void theHostResetsAScribbledHeaderByItselfButNotAgainAndAgain() throws Exception {
        HostConfig cfg = config(new HostConfig.GuestConfig("alice", 1L << 20));
        try (FerryHost host = host(cfg, null); Region r = Region.open(host.regionPath("alice"))) {
            Path region = host.regionPath("alice");
            long epoch = r.hostEpoch();
            r.segment().set(ValueLayout.JAVA_LONG, RegionDescriptor.MAGIC_OFFSET, 0x5eedL);
            awaitOpens(region); // the heartbeat saw it and reset the region by itself
            long second = r.hostEpoch();
            assertTrue(second != 0 && second != epoch, "a new epoch");
            // corrupt again at once: the host waits out its interval before it resets this guest again
            r.segment().set(ValueLayout.JAVA_LONG, RegionDescriptor.MAGIC_OFFSET, 0x5eedL);
            Thread.sleep(1_000);
            assertFalse(opens(region), "reset again within " + FerryHost.SELF_RESET_INTERVAL_NANOS / 1_000_000 + " ms");
            awaitOpens(region);
            assertTrue(r.hostEpoch() != second);
        }
    }
}
