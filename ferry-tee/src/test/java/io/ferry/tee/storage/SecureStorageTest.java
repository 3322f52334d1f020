package io.ferry.tee.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.protocol.TeeWire;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaStorage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecureStorageTest {
    static final UUID A = UUID.fromString("00000000-0000-0000-0000-00000000000a");
    static final UUID B = UUID.fromString("00000000-0000-0000-0000-00000000000b");
    static final byte[] ROOT = new byte[32];

    @TempDir
    Path dir;

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static int code(Runnable r) {
        return assertThrows(TaException.class, r::run).code();
    }

    @Test
    void hkdfMatchesRfc5869TestCase1() {
        HexFormat h = HexFormat.of();
        byte[] okm = Hkdf.derive(h.parseHex("000102030405060708090a0b0c"),
                h.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), h.parseHex("f0f1f2f3f4f5f6f7f8f9"), 42);
        assertEquals("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", h.formatHex(okm));
    }

    @Test
    void anotherGuestOfTheSameTaCannotReadReplaceOrDeleteAnObject() throws Exception {
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("alice", A).write("k", b("alice's secret"));
        TaStorage bob = s.forTa("bob", A);
        assertFalse(bob.exists("k"));
        assertEquals(TeeWire.ERROR_ITEM_NOT_FOUND, code(() -> bob.read("k")));
        assertFalse(bob.delete("k"));
        bob.write("k", b("bob's"));
        assertArrayEquals(b("alice's secret"), s.forTa("alice", A).read("k"), "bob's write is his own object");
        // Planting alice's sealed files in bob's directory does not give bob her data: another key, another AAD.
        Files.copy(s.objectFile("alice", A, "k"), s.objectFile("bob", A, "k"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals(TeeWire.ERROR_MAC_INVALID, code(() -> new SecureStorage(ROOT, dir).forTa("bob", A).read("k")));
        Files.copy(SecureStorage.storeDir(dir, "alice", A).resolve("index"),
                SecureStorage.storeDir(dir, "bob", A).resolve("index"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals(TeeWire.ERROR_MAC_INVALID, code(() -> new SecureStorage(ROOT, dir).forTa("bob", A).read("k")));
        assertArrayEquals(b("alice's secret"), new SecureStorage(ROOT, dir).forTa("alice", A).read("k"));
    }

    @Test
    void storageKeysAndDirectoriesArePerGuestAndTa() {
        assertFalse(java.util.Arrays.equals(SecureStorage.storageKey(ROOT, "alice", A),
                SecureStorage.storageKey(ROOT, "bob", A)));
        assertFalse(java.util.Arrays.equals(SecureStorage.storageKey(ROOT, "alice", A),
                SecureStorage.storageKey(ROOT, "alice", B)));
        assertFalse(SecureStorage.storeDir(dir, "alice", A).equals(SecureStorage.storeDir(dir, "bob", A)));
        // The process of one pair gets only its derived key: it opens the same store.
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("alice", A).write("k", b("v"));
        TaStorage direct = SecureStorage.open(SecureStorage.storageKey(ROOT, "alice", A),
                SecureStorage.storeDir(dir, "alice", A), "alice", A);
        assertArrayEquals(b("v"), direct.read("k"));
    }

    @Test
    void guestNamesThatAreNotSafePathElementsAreRefused() {
        SecureStorage s = new SecureStorage(ROOT, dir);
        for (String bad : new String[] {"", "..", ".", "a/b", "../x", "-a", "a\nb"}) {
            assertThrows(IllegalArgumentException.class, () -> s.forTa(bad, A), bad);
        }
    }

    @Test
    void objectsRoundTripAndSurviveARestart() {
        new SecureStorage(ROOT, dir).forTa("g", A).write("k", b("v1"));
        TaStorage again = new SecureStorage(ROOT, dir).forTa("g", A);
        assertArrayEquals(b("v1"), again.read("k"));
        assertEquals(TeeWire.ERROR_ITEM_NOT_FOUND, code(() -> again.read("missing")));
    }

    @Test
    void filesHoldNoPlaintext() throws Exception {
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("g", A).write("k", b("very secret value"));
        String file = new String(Files.readAllBytes(s.objectFile("g", A, "k")), StandardCharsets.ISO_8859_1);
        assertFalse(file.contains("very secret"));
    }

    @Test
    void tamperingIsMacInvalid() throws Exception {
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("g", A).write("k", b("value"));
        Path f = s.objectFile("g", A, "k");
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 1] ^= 1;
        Files.write(f, bytes);
        assertEquals(TeeWire.ERROR_MAC_INVALID, code(() -> s.forTa("g", A).read("k")));
    }

    @Test
    void rollbackToAnOlderSealedVersionIsCorruptObject() throws Exception {
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("g", A).write("k", b("old"));
        byte[] old = Files.readAllBytes(s.objectFile("g", A, "k"));
        s.forTa("g", A).write("k", b("new"));
        Files.write(s.objectFile("g", A, "k"), old);
        assertEquals(TeeWire.ERROR_CORRUPT_OBJECT, code(() -> s.forTa("g", A).read("k")));
        assertEquals(TeeWire.ERROR_CORRUPT_OBJECT, code(() -> new SecureStorage(ROOT, dir).forTa("g", A).read("k")));
    }

    @Test
    void anotherTaCannotReadAnObjectMovedIntoItsStorage() throws Exception {
        SecureStorage s = new SecureStorage(ROOT, dir);
        s.forTa("g", A).write("k", b("a's"));
        s.forTa("g", B).write("k", b("b's"));
        Files.copy(s.objectFile("g", A, "k"), s.objectFile("g", B, "k"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals(TeeWire.ERROR_MAC_INVALID, code(() -> s.forTa("g", B).read("k")));
    }

    @Test
    void anotherRootKeyCannotOpenTheStorage() {
        new SecureStorage(ROOT, dir).forTa("g", A).write("k", b("v"));
        byte[] other = new byte[32];
        other[0] = 1;
        assertEquals(TeeWire.ERROR_MAC_INVALID, code(() -> new SecureStorage(other, dir).forTa("g", A).read("k")));
    }
}
