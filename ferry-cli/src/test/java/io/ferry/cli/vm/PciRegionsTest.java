package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.PciRegions;
import io.ferry.client.PciRegions.PciRegion;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PciRegions} on a fake {@code /sys/bus/pci/devices} tree: the files a kernel shows, as plain files. */
class PciRegionsTest {
    static final long BAR = 1L << 20;

    @TempDir
    Path sys;

    /** A PCI function directory with vendor, device and enable files (enable "0": as a device without driver). */
    private Path device(String address, String vendor, String device) throws IOException {
        Path dir = Files.createDirectories(sys.resolve(address));
        Files.writeString(dir.resolve("vendor"), vendor + "\n");
        Files.writeString(dir.resolve("device"), device + "\n");
        Files.writeString(dir.resolve("enable"), "0\n");
        return dir;
    }

    /** An ivshmem device whose BAR2 holds a Ferry region of {@code guest}. */
    private Path ferryDevice(String address, String guest) throws IOException {
        Path dir = device(address, "0x1af4", "0x1110");
        Region.create(dir.resolve("resource2"), guest, RegionLayout.forSize(BAR), null).close();
        return dir;
    }

    /** An ivshmem device whose BAR2 is all zero: shared memory of something else. */
    private Path otherIvshmem(String address) throws IOException {
        Path dir = device(address, "0x1af4", "0x1110");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("resource2").toFile(), "rw")) {
            f.setLength(BAR);
        }
        return dir;
    }

    @Test
    void findListsIvshmemDevicesByAddressAndTellsFerryRegionsApart() throws IOException {
        device("0000:00:01.0", "0x8086", "0x1237");
        ferryDevice("0000:00:05.0", "vm2");
        otherIvshmem("0000:00:04.0");
        ferryDevice("0000:00:03.0", "vm1");
        device("0000:00:06.0", "0x1af4", "0x1000");  // virtio-net: same vendor, another device

        List<PciRegion> found = PciRegions.find(sys);

        assertEquals(List.of("0000:00:03.0", "0000:00:04.0", "0000:00:05.0"),
                found.stream().map(PciRegion::address).toList());
        assertEquals(new PciRegion("0000:00:03.0", sys.resolve("0000:00:03.0/resource2"), BAR, true, "vm1"),
                found.get(0));
        assertFalse(found.get(1).ferryRegion());
        assertEquals("", found.get(1).guestName());
        assertEquals("vm2", found.get(2).guestName());
    }

    @Test
    void findEnablesDevicesThatAreNotEnabled() throws IOException {
        Path dev = ferryDevice("0000:00:03.0", "vm1");
        Path plain = device("0000:00:01.0", "0x8086", "0x1237");

        PciRegions.find(sys);

        assertEquals("1", Files.readString(dev.resolve("enable")).strip());
        assertEquals("0", Files.readString(plain.resolve("enable")).strip(), "only ivshmem devices are touched");
    }

    @Test
    void findOnAMissingTreeIsEmpty() {
        assertEquals(List.of(), PciRegions.find(sys.resolve("no-such-dir")));
    }

    @Test
    void resolveByGuestNameFindsItsBar() throws IOException {
        ferryDevice("0000:00:03.0", "vm1");
        ferryDevice("0000:00:05.0", "vm2");

        assertEquals(sys.resolve("0000:00:05.0/resource2"), PciRegions.resolve(sys, "vm2"));
    }

    @Test
    void resolveByAddressAcceptsTheShortForm() throws IOException {
        ferryDevice("0000:00:03.0", "vm1");

        assertEquals(sys.resolve("0000:00:03.0/resource2"), PciRegions.resolve(sys, "0000:00:03.0"));
        assertEquals(sys.resolve("0000:00:03.0/resource2"), PciRegions.resolve(sys, "00:03.0"));
    }

    @Test
    void resolveWithoutANameTakesTheOnlyFerryRegion() throws IOException {
        otherIvshmem("0000:00:04.0");
        ferryDevice("0000:00:05.0", "vm2");

        assertEquals(sys.resolve("0000:00:05.0/resource2"), PciRegions.resolve(sys, null));
    }

    @Test
    void resolveWithoutANameRefusesToGuessAmongSeveral() throws IOException {
        ferryDevice("0000:00:03.0", "vm1");
        ferryDevice("0000:00:05.0", "vm2");

        FerryException e = assertThrows(FerryException.class, () -> PciRegions.resolve(sys, ""));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void resolveAnUnknownGuestListsWhatIsThere() throws IOException {
        ferryDevice("0000:00:03.0", "vm1");

        FerryException e = assertThrows(FerryException.class, () -> PciRegions.resolve(sys, "bob"));
        assertEquals(Status.NOT_CONFIGURED, e.status());
        assertTrue(e.getMessage().contains("0000:00:03.0"), e.getMessage());
        assertTrue(e.getMessage().contains("vm1"), e.getMessage());
    }

    @Test
    void resolveAnAddressThatIsNotIvshmemSaysSo() throws IOException {
        device("0000:00:01.0", "0x8086", "0x1237");

        FerryException e = assertThrows(FerryException.class, () -> PciRegions.resolve(sys, "0000:00:01.0"));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void resolveAMissingAddressIsNotConfigured() {
        FerryException e = assertThrows(FerryException.class, () -> PciRegions.resolve(sys, "0000:00:09.0"));
        assertEquals(Status.NOT_CONFIGURED, e.status());
    }

    @Test
    void aRegionInABarLargerThanTheRegionOpens() throws IOException {
        Path dev = ferryDevice("0000:00:03.0", "vm1");
        try (RandomAccessFile f = new RandomAccessFile(dev.resolve("resource2").toFile(), "rw")) {
            f.setLength(4 * BAR);  // BARs are powers of two; the region may be smaller
        }

        try (Region r = Region.open(PciRegions.resolve(sys, "vm1"))) {
            assertEquals(BAR, r.header().regionSize());
            assertEquals("vm1", r.header().guestName());
        }
    }

    @Test
    void aGuestConnectsThroughTheBarFileOfARunningHost() throws IOException {
        Path regions = sys.resolve("regions"); // the host creates it 0700
        HostConfig cfg = new HostConfig(regions, true, List.of(), List.of(new HostConfig.GuestConfig("vm1", 4 * BAR)
                .withRegion(HostConfig.RegionKind.FILE)));
        try (Devices devices = Devices.discover(List.of());
             FerryHost host = FerryHost.start(cfg, devices)) {
            // In a VM, resource2 is QEMU's view of the region file; here the fake BAR file is the region file itself.
            Path dev = device("0000:00:03.0", "0x1af4", "0x1110");
            Files.createSymbolicLink(dev.resolve("resource2"), FerryHost.regionPath(regions, "vm1"));

            try (Ferry ferry = Ferry.connect(PciRegions.resolve(sys, "vm1"))) {
                assertEquals("vm1", ferry.guest());
                assertEquals(devices.all().size(), ferry.devices().size());
            }
        }
    }
}
