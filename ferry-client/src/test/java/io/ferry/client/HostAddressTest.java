package io.ferry.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FERRY_HOST's forms (unix:, file:, pci:, a bare path) and its deprecated aliases. */
class HostAddressTest {
    @TempDir
    Path tmp;

    @Test
    void unixNamesTheGuestSocketInPlainAndUriForm() {
        assertEquals(new HostAddress.Socket(Path.of("/run/ferry/guest.sock"), "FERRY_HOST"),
                HostAddress.parse("unix:/run/ferry/guest.sock", "FERRY_HOST"));
        assertEquals(new HostAddress.Socket(Path.of("/run/ferry/guest.sock"), "x"),
                HostAddress.parse("unix:///run/ferry/guest.sock", "x"));
        assertEquals(new HostAddress.Socket(Path.of("relative.sock"), "x"), HostAddress.parse("UNIX:relative.sock", "x"));
    }

    @Test
    void fileNamesARegionFileOrARegionDirectory() throws Exception {
        HostAddress.Region dir = assertInstanceOf(HostAddress.Region.class,
                HostAddress.parse("file:" + tmp, "FERRY_HOST"));
        assertEquals(tmp.resolve("alice.region"), dir.regionOf("alice"), "a directory holds GUEST.region");
        Path file = Files.createFile(tmp.resolve("bob.region"));
        HostAddress.Region one = assertInstanceOf(HostAddress.Region.class, HostAddress.parse("file://" + file, "x"));
        assertEquals(file, one.regionOf("bob"), "a file is the region itself");
        assertEquals(new HostAddress.Region(Path.of("/dev/shm/ferry"), "x"), HostAddress.parse("file:/dev/shm/ferry", "x"));
    }

    @Test
    void pciNamesADeviceOrLeavesItToTheGuestName() {
        assertEquals(new HostAddress.Pci("0000:00:03.0", "x"), HostAddress.parse("pci:0000:00:03.0", "x"));
        assertNull(((HostAddress.Pci) HostAddress.parse("pci:", "x")).device());
    }

    @Test
    void aBarePathIsARegionWhereItIsADirectoryOrFileAndElseTheGuestSocket() throws Exception {
        assertEquals(new HostAddress.Region(tmp, "x"), HostAddress.parse(tmp.toString(), "x"));
        Path file = Files.createFile(tmp.resolve("r.region"));
        assertEquals(new HostAddress.Region(file, "x"), HostAddress.parse(file.toString(), "x"));
        Path none = tmp.resolve("guest.sock");
        assertEquals(new HostAddress.Socket(none, "x"), HostAddress.parse(" " + none + " ", "x"),
                "a socket not there yet (the host not started) is still a socket");
    }

    @Test
    void anUnknownSchemeOrAnEmptyValueIsRefusedWithTheForms() {
        for (String bad : new String[] {"tcp:host:4000", "", "unix:", "file:  "}) {
            FerryException e = assertThrows(FerryException.class, () -> HostAddress.parse(bad, "FERRY_HOST"));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("FERRY_HOST '" + bad + "' is not a Ferry host address"), e.getMessage());
            assertTrue(e.getMessage().contains("unix:PATH") && e.getMessage().contains("file:PATH")
                    && e.getMessage().contains("pci:ADDRESS"), e.getMessage());
        }
    }

    @Test
    void ferryHostComesFirstThenTheDeprecatedSocketThenTheRegionDirectory() {
        HostAddress fallback = HostAddress.DEFAULT;
        Map<String, String> all = Map.of("FERRY_HOST", "unix:/a.sock", "FERRY_SOCKET", "/b.sock",
                "FERRY_REGION_DIR", "/c");
        assertEquals(new HostAddress.Socket(Path.of("/a.sock"), "FERRY_HOST"), HostAddress.fromEnvironment(all, fallback));
        HostAddress socket = HostAddress.fromEnvironment(Map.of("FERRY_HOST", " ", "FERRY_SOCKET", "/b.sock",
                "FERRY_REGION_DIR", "/c"), fallback);
        assertEquals(Path.of("/b.sock"), ((HostAddress.Socket) socket).path());
        assertTrue(socket.origin().contains("deprecated"), socket.origin());
        HostAddress dir = HostAddress.fromEnvironment(Map.of("FERRY_REGION_DIR", "/c"), fallback);
        assertEquals(Path.of("/c"), ((HostAddress.Region) dir).path());
        assertSame(fallback, HostAddress.fromEnvironment(Map.of(), fallback));
        assertEquals("unix:" + Ferry.DEFAULT_SOCKET, HostAddress.DEFAULT.toString());
    }
}
