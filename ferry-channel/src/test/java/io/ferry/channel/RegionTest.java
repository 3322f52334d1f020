package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

import io.ferry.protocol.Status;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegionTest {

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final RegionLayout SMALL = new RegionLayout(8192, 4096, 64 * 1024);

    @TempDir
    Path dir;

    private static byte[] credential() {
        byte[] c = new byte[CREDENTIAL_LENGTH];
        for (int i = 0; i < c.length; i++) {
            c[i] = (byte) (i * 7 + 1);
        }
        return c;
    }

    @Test
    void headerRoundTripsThroughCreateAndOpen() {
        Path file = dir.resolve("shm/ferry/alice.region");
        try (Region created = Region.create(file, "alice-1.vm_2", SMALL, credential());
             Region opened = Region.open(file)) {
            RegionHeader h = opened.header();
            assertEquals(created.header(), h);
            assertEquals("alice-1.vm_2", h.guestName());
            assertEquals(LAYOUT_VERSION, h.layoutVersion());
            assertEquals(SMALL.regionSize(), h.regionSize());
            assertEquals(SMALL, h.layout());
            assertEquals(HEADER_SIZE, h.commandRingOffset());
            assertEquals(HEADER_SIZE + sectionSizeFor(8192), h.completionRingOffset());
            assertEquals(h.completionRingOffset() + sectionSizeFor(4096), h.heapOffset());
            assertEquals(SMALL.regionSize(), Files.size(file));
            assertArrayEquals(credential(), opened.credential());
            assertEquals(MAGIC, opened.segment().get(LONG, MAGIC_OFFSET));
            assertEquals(64 * 1024, opened.heap().byteSize());
            assertEquals(8192, opened.commandRing().capacity());
            assertEquals(4096, opened.completionRing().capacity());
            assertEquals(file, opened.path());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void magicIsTheAgreedConstantOnTheWire() {
        byte[] bytes = java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(MAGIC).array();
        assertEquals("FERRYRGN", new String(bytes, java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void createdFileHasMode0600() throws IOException {
        Path file = dir.resolve("a/b/g.region");
        try (Region region = Region.create(file, "g", SMALL, null)) {
            assertEquals(file, region.path());
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
            assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(file.getParent()));
        }
    }

    @Test
    void credentialIsCopiedAndDefaultsToZero() {
        Path file = dir.resolve("g.region");
        try (Region r = Region.create(file, "g", SMALL, null)) {
            assertArrayEquals(new byte[CREDENTIAL_LENGTH], r.credential());
            r.credential()[0] = 9;
            assertEquals(0, r.credential()[0]);
        }
    }

    @Test
    void liveHeaderWordsAreSharedBetweenMappings() {
        Path file = dir.resolve("g.region");
        try (Region host = Region.create(file, "g", SMALL, null); Region guest = Region.open(file)) {
            host.hostEpoch(11);
            host.hostHeartbeat(12);
            guest.connectRequest(13);
            guest.guestPid(14);
            guest.guestHeartbeat(15);
            host.sessionId(16);
            host.connectAck(13);
            assertEquals(11, guest.hostEpoch());
            assertEquals(12, guest.hostHeartbeat());
            assertEquals(13, host.connectRequest());
            assertEquals(14, host.guestPid());
            assertEquals(15, host.guestHeartbeat());
            assertEquals(16, guest.sessionId());
            assertEquals(13, guest.connectAck());
            assertEquals(13, guest.segment().get(LONG, CONNECT_ACK_OFFSET));
            assertEquals(11, guest.segment().get(LONG, HOST_EPOCH_OFFSET));
        }
    }

    @Test
    void ringsOfTwoMappingsTalkToEachOther() {
        Path file = dir.resolve("g.region");
        try (Region host = Region.create(file, "g", SMALL, null); Region guest = Region.open(file)) {
            long at = guest.commandRing().tryClaim(7, 16);
            guest.commandRing().segment().set(LONG, at + 8, 42L);
            guest.commandRing().publish();
            long[] got = new long[1];
            assertEquals(1, host.commandRing().poll((type, rec, len) -> got[0] = rec.get(LONG, 8), 10));
            assertEquals(42L, got[0]);
        }
    }

    @Test
    void createRefusesBadGuestNames() {
        for (String name : new String[] {"", "-a", ".a", "a b", "a/b", "é", "x".repeat(64)}) {
            RegionException e = assertThrows(RegionException.class,
                    () -> Region.create(dir.resolve("x.region"), name, SMALL, null), name);
            assertTrue(e.getMessage().contains("guest name"), e.getMessage());
            assertEquals(Status.INVALID_ARGUMENT, e.status());
        }
        assertFalse(Files.exists(dir.resolve("x.region")));
        Region.create(dir.resolve("x.region"), "x".repeat(63), SMALL, null).close();
    }

    @Test
    void createRefusesExistingFile() throws IOException {
        Path file = dir.resolve("g.region");
        Files.writeString(file, "keep me");
        RegionException e = assertThrows(RegionException.class, () -> Region.create(file, "g", SMALL, null));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void createRefusesWrongCredentialLength() {
        RegionException e = assertThrows(RegionException.class,
                () -> Region.create(dir.resolve("g.region"), "g", SMALL, new byte[5]));
        assertTrue(e.getMessage().contains("32 bytes"), e.getMessage());
    }

    @Test
    void openRefusesBadMagic() {
        Path file = corrupt(s -> s.set(LONG, MAGIC_OFFSET, 0x1234L));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("not a Ferry region: bad magic 0x1234"), e.getMessage());
    }

    @Test
    void openRefusesOtherLayoutVersion() {
        Path file = corrupt(s -> s.set(INT, LAYOUT_VERSION_OFFSET, 1));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("layout version 1, this library speaks 2"), e.getMessage());
        assertEquals(Status.VERSION_MISMATCH, e.status());
    }

    @Test
    void openRefusesFileTooSmallForAHeader() throws IOException {
        Path file = dir.resolve("tiny.region");
        Files.write(file, new byte[100]);
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        assertTrue(e.getMessage().contains("100 bytes"), e.getMessage());
    }

    @Test
    void openRefusesTruncatedRegion() throws IOException {
        Path file = dir.resolve("g.region");
        Region.create(file, "g", SMALL, null).close();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(SMALL.regionSize() - 4096);
        }
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("region size " + SMALL.regionSize()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void openRefusesOverlappingSections() {
        Path file = corrupt(s -> s.set(LONG, COMPLETION_RING_OFFSET_OFFSET, HEADER_SIZE + 4096));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("overlapping sections"), e.getMessage());
        assertTrue(e.getMessage().contains("command ring"), e.getMessage());
    }

    @Test
    void openRefusesSectionOverlappingHeader() {
        Path file = corrupt(s -> s.set(LONG, HEAP_OFFSET_OFFSET, 0L));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("overlapping sections: header"), e.getMessage());
    }

    @Test
    void openRefusesSectionOutsideRegion() {
        Path file = corrupt(s -> s.set(LONG, HEAP_SIZE_OFFSET, Long.MAX_VALUE & -4096L));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("heap"), e.getMessage());
        assertTrue(e.getMessage().contains("outside the region"), e.getMessage());
    }

    @Test
    void openRefusesUnalignedSection() {
        Path file = corrupt(s -> s.set(LONG, HEAP_OFFSET_OFFSET, s.get(LONG, HEAP_OFFSET_OFFSET) + 8));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("heap offset"), e.getMessage());
        assertTrue(e.getMessage().contains("not a multiple of 4096"), e.getMessage());
    }

    @Test
    void openRefusesRingCapacityNotPowerOfTwo() {
        Path file = corrupt(s -> s.set(LONG, COMMAND_RING_CAPACITY_OFFSET, 6000L));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("command ring capacity 6000"), e.getMessage());
        assertTrue(e.getMessage().contains("power of two"), e.getMessage());
    }

    @Test
    void openRefusesWrongHeaderSize() {
        Path file = corrupt(s -> s.set(INT, HEADER_SIZE_OFFSET, 8192));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(file));
        assertTrue(e.getMessage().contains("header size 8192"), e.getMessage());
    }

    @Test
    void openRefusesUnterminatedOrInvalidGuestName() {
        Path unterminated = corrupt(s -> s.asSlice(GUEST_NAME_OFFSET, GUEST_NAME_LENGTH).fill((byte) 'a'));
        RegionException e = assertThrows(RegionException.class, () -> Region.open(unterminated));
        assertTrue(e.getMessage().contains("not NUL terminated"), e.getMessage());
        Path invalid = corrupt(s -> s.set(ValueLayout.JAVA_BYTE, GUEST_NAME_OFFSET, (byte) '/'));
        e = assertThrows(RegionException.class, () -> Region.open(invalid));
        assertTrue(e.getMessage().contains("invalid guest name"), e.getMessage());
    }

    @Test
    void openRefusesMissingFileWithAHint() {
        RegionException e = assertThrows(RegionException.class, () -> Region.open(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("provision"), e.getMessage());
        assertEquals(Status.NOT_CONFIGURED, e.status());
    }

    @Test
    void openMapsAFileLargerThanTheRegionLikeABar() throws IOException {
        Path file = dir.resolve("resource2");
        Region.create(file, "g", SMALL, null).close();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(SMALL.regionSize() * 2);
        }
        try (Region r = Region.open(file)) {
            assertEquals(SMALL.regionSize(), r.segment().byteSize());
            assertEquals(SMALL.regionSize(), r.header().regionSize());
        }
    }

    @Test
    void headerSnapshotIgnoresLaterRewrites() {
        Path file = dir.resolve("g.region");
        try (Region host = Region.create(file, "g", SMALL, null); Region guest = Region.open(file)) {
            guest.segment().set(LONG, HEAP_SIZE_OFFSET, 1L << 40);
            assertEquals(64 * 1024, host.header().heapSize());
            assertEquals(64 * 1024, host.heap().byteSize());
        }
    }

    @Test
    void closeIsIdempotentAndUnmaps() {
        Region r = Region.create(dir.resolve("g.region"), "g", SMALL, null);
        MemorySegment heap = r.heap();
        r.close();
        r.close();
        assertThrows(IllegalStateException.class, () -> heap.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void deleteRemovesTheFile() {
        Path file = dir.resolve("g.region");
        Region.create(file, "g", SMALL, null).close();
        Region.delete(file);
        assertFalse(Files.exists(file));
        Region.delete(file);
    }

    @Test
    void layoutForSizePicksDefaultsAndNamesTheMinimum() {
        RegionLayout l = RegionLayout.forSize(16L << 20);
        assertEquals(256 * 1024, l.commandRingCapacity());
        assertEquals(64 * 1024, l.completionRingCapacity());
        assertEquals(16L << 20, l.regionSize());
        long min = RegionLayout.minimumRegionSize();
        assertEquals(min, RegionLayout.forSize(min).regionSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegionLayout.forSize(min - 4096));
        assertTrue(e.getMessage().contains(Long.toString(min)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RegionLayout.forSize(min + 1));
    }

    @Test
    void layoutValidatesSizes() {
        assertThrows(IllegalArgumentException.class, () -> new RegionLayout(6000, 4096, 65536));
        assertThrows(IllegalArgumentException.class, () -> new RegionLayout(2048, 4096, 65536));
        assertThrows(IllegalArgumentException.class, () -> new RegionLayout(4096, 4096, 65536 - 4096));
        assertThrows(IllegalArgumentException.class, () -> new RegionLayout(4096, 4096, 65536 + 8));
        assertEquals(4096 + 2 * 8192 + 65536, new RegionLayout(4096, 4096, 65536).regionSize());
    }

    /** A freshly created region file with {@code edit} applied to its header bytes. */
    private Path corrupt(Consumer<MemorySegment> edit) {
        Path file = dir.resolve("c" + System.nanoTime() + ".region");
        Region.create(file, "g", SMALL, credential()).close();
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            edit.accept(ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_SIZE, arena));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return file;
    }
}
