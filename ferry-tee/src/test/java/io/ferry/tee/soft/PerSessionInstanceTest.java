package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.TeeWire;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.ta.builtin.StorageTa;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TA whose manifest says {@code instance=session} (OP-TEE's TA without TA_FLAG_SINGLE_INSTANCE): each session gets
 * an instance (a sandboxed process) of its own, which ends with its session; one session's crash leaves the other's
 * instance alive; the guest's instances of that TA share its storage, each seeing what the other wrote.
 */
@Timeout(90)
class PerSessionInstanceTest {
    static final UUID ROGUE = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000c7");
    static final UUID STORE = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000c8");
    static final UUID NIL = new UUID(0, 0);

    @TempDir
    Path dir;

    static long open(SoftTeeBackend b, String guest, UUID ta) {
        TeeReturn r = b.openSession(guest, ta, 0, NIL, new TeeParams(), TeeCancellation.NEVER);
        assertEquals(TeeWire.SUCCESS, r.code(), "open " + ta + " for " + guest);
        return r.session();
    }

    static int increment(SoftTeeBackend b, long session) {
        TeeParams p = new TeeParams();
        p.value(0, TeeParams.VALUE_INOUT, 41, 0);
        TeeReturn r = b.invoke(session, 0, p, TeeCancellation.NEVER);
        return r.code() == TeeWire.SUCCESS ? (int) p.a(0) : -r.code();
    }

    static int store(SoftTeeBackend b, long session, int command, String id, byte[] data) {
        TeeParams p = new TeeParams();
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        p.memref(0, TeeParams.MEMREF_INPUT, MemorySegment.ofArray(idBytes), idBytes.length);
        p.memref(1, command == BuiltinTas.STORAGE_READ ? TeeParams.MEMREF_OUTPUT : TeeParams.MEMREF_INPUT,
                MemorySegment.ofArray(data), data.length);
        return b.invoke(session, command, p, TeeCancellation.NEVER).code();
    }

    @Test
    void eachSessionHasAnInstanceOfItsOwnThatEndsWithIt() throws Exception {
        DevTee.Setup s = DevTee.prepare(dir, 2);
        Files.write(s.config().taDir().resolve(ROGUE + TaImage.SUFFIX), TaImage.sign(ROGUE, "rogue",
                RogueTa.class.getName(), "1", BuiltinTas.classes(RogueTa.class), s.signingKey(), true));
        try (SoftTeeBackend b = SoftTeeBackend.start(s.config())) {
            long first = open(b, "g", ROGUE);
            long second = open(b, "g", ROGUE);
            assertEquals(2, b.instanceCount(), "two sessions, two instances");
            assertEquals(42, increment(b, first));
            assertEquals(-TeeWire.ERROR_TARGET_DEAD, exitCode(b, first), "System.exit ends the first instance");
            assertEquals(42, increment(b, second), "the second session's instance lives on");
            b.closeSession(second);
            assertEquals(0, b.instanceCount(), "a session's instance ends with it");
        }
    }

    private static int exitCode(SoftTeeBackend b, long session) {
        TeeReturn r = b.invoke(session, 2, new TeeParams(), TeeCancellation.NEVER);
        return r.code() == TeeWire.SUCCESS ? 0 : -r.code();
    }

    @Test
    void aGuestsSessionInstancesShareItsStorage() throws Exception {
        DevTee.Setup s = DevTee.prepare(dir, 2);
        Files.write(s.config().taDir().resolve(STORE + TaImage.SUFFIX), TaImage.sign(STORE, "store",
                StorageTa.class.getName(), "1", BuiltinTas.classes(StorageTa.class), s.signingKey(), true));
        try (SoftTeeBackend b = SoftTeeBackend.start(s.config())) {
            long a = open(b, "g", STORE);
            long c = open(b, "g", STORE);
            long other = open(b, "h", STORE);
            assertEquals(TeeWire.SUCCESS, store(b, a, BuiltinTas.STORAGE_WRITE, "x", "from a".getBytes(StandardCharsets.UTF_8)));
            byte[] buf = new byte[6];
            assertEquals(TeeWire.SUCCESS, store(b, c, BuiltinTas.STORAGE_READ, "x", buf), "c sees a's object");
            assertEquals("from a", new String(buf, StandardCharsets.UTF_8));
            assertEquals(TeeWire.SUCCESS, store(b, c, BuiltinTas.STORAGE_WRITE, "x", "from c".getBytes(StandardCharsets.UTF_8)));
            assertEquals(TeeWire.SUCCESS, store(b, c, BuiltinTas.STORAGE_WRITE, "y", "more".getBytes(StandardCharsets.UTF_8)));
            assertEquals(TeeWire.SUCCESS, store(b, a, BuiltinTas.STORAGE_READ, "x", buf), "a reads c's newer version");
            assertEquals("from c", new String(buf, StandardCharsets.UTF_8));
            assertEquals(TeeWire.SUCCESS, store(b, a, BuiltinTas.STORAGE_WRITE, "z", "last".getBytes(StandardCharsets.UTF_8)));
            assertEquals(TeeWire.SUCCESS, store(b, c, BuiltinTas.STORAGE_READ, "y", new byte[4]),
                    "a's write kept c's object (no write from a stale index)");
            assertEquals(TeeWire.ERROR_ITEM_NOT_FOUND, store(b, other, BuiltinTas.STORAGE_READ, "x", buf),
                    "another guest's instance does not see g's storage");
        }
    }

    @Test
    void theImageSaysWhichKindOfInstance() throws Exception {
        DevTee.Setup s = DevTee.prepare(dir, 2);
        var trusted = java.util.List.of(TaImage.publicKey(s.config().trustedKeys().get(0)));
        assertTrue(TaImage.verify(TaImage.sign(ROGUE, "r", RogueTa.class.getName(), "1",
                BuiltinTas.classes(RogueTa.class), s.signingKey(), true), trusted).instancePerSession());
        assertFalse(TaImage.verify(TaImage.sign(ROGUE, "r", RogueTa.class.getName(), "1",
                BuiltinTas.classes(RogueTa.class), s.signingKey()), trusted).instancePerSession());
    }
}
