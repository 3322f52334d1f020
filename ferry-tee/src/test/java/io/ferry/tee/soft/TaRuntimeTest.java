package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.protocol.TeeWire;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TA runtime in process: loading only verified images, and containing a panic to its TA. */
class TaRuntimeTest {
    static final UUID NIL = new UUID(0, 0);
    static final UUID SNOOP = UUID.fromString("00000000-0000-0000-0000-00000000005e");

    @TempDir
    Path dir;
    TaRuntime rt;

    @BeforeEach
    void setUp() throws Exception {
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        BuiltinTas.install(dir.resolve("ta"), kp.getPrivate());
        Files.write(dir.resolve("ta").resolve(SNOOP + ".ta"), TaImage.sign(SNOOP, "snoop", SnoopTa.class.getName(), "1",
                BuiltinTas.classes(SnoopTa.class), kp.getPrivate()));
        rt = new TaRuntime(dir.resolve("ta"), List.of(kp.getPublic()), new SecureStorage(new byte[32], dir.resolve("s")));
    }

    static TaParams inout(int a) {
        TaParams p = new TaParams();
        p.set(0, TaCodes.VALUE_INOUT, a, 0, null, 0);
        return p;
    }

    @Test
    void panicKillsOnlyThatTaAndANewSessionGetsAFreshInstance() {
        long hello = rt.open("g", BuiltinTas.HELLO, 0, NIL, new TaParams(), () -> false).session();
        long attest = rt.open("g", BuiltinTas.ATTEST, 0, NIL, new TaParams(), () -> false).session();
        TaRuntime.Result r = rt.invoke(hello, BuiltinTas.HELLO_PANIC, new TaParams(), () -> false);
        assertEquals(TeeWire.ERROR_TARGET_DEAD, r.code());
        assertEquals(TeeWire.ORIGIN_TEE, r.origin());
        assertEquals(TeeWire.ERROR_TARGET_DEAD, rt.invoke(hello, 0, inout(1), () -> false).code());
        TaParams reg = new TaParams();
        reg.set(0, TaCodes.MEMREF_OUTPUT, 0, 0, java.lang.foreign.MemorySegment.ofArray(new byte[32]), 32);
        assertEquals(TeeWire.SUCCESS, rt.invoke(attest, BuiltinTas.ATTEST_READ, reg, () -> false).code());
        long again = rt.open("g", BuiltinTas.HELLO, 0, NIL, new TaParams(), () -> false).session();
        TaParams p = inout(5);
        assertEquals(TeeWire.SUCCESS, rt.invoke(again, BuiltinTas.HELLO_INCREMENT, p, () -> false).code());
        assertEquals(6, p.a(0));
    }

    static byte[] out(TaRuntime rt, long session, int command, int size) {
        TaParams p = new TaParams();
        byte[] buf = new byte[size];
        p.set(0, TaCodes.MEMREF_OUTPUT, 0, 0, java.lang.foreign.MemorySegment.ofArray(buf), size);
        assertEquals(TeeWire.SUCCESS, rt.invoke(session, command, p, () -> false).code());
        return java.util.Arrays.copyOf(buf, (int) p.size(0));
    }

    @Test
    void instancesAreKeptPerGuest() {
        long alice = rt.open("alice", BuiltinTas.ATTEST, 0, NIL, new TaParams(), () -> false).session();
        long bob = rt.open("bob", BuiltinTas.ATTEST, 0, NIL, new TaParams(), () -> false).session();
        byte[] bobBefore = out(rt, bob, BuiltinTas.ATTEST_READ, 32);
        TaParams extend = new TaParams();
        extend.set(0, TaCodes.MEMREF_INPUT, 0, 0, java.lang.foreign.MemorySegment.ofArray(new byte[] {1, 2, 3}), 3);
        extend.set(1, TaCodes.VALUE_OUTPUT, 0, 0, null, 0);
        assertEquals(TeeWire.SUCCESS, rt.invoke(alice, BuiltinTas.ATTEST_EXTEND, extend, () -> false).code());
        org.junit.jupiter.api.Assertions.assertArrayEquals(bobBefore, out(rt, bob, BuiltinTas.ATTEST_READ, 32),
                "alice's EXTEND did not touch bob's register");
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(bobBefore,
                out(rt, alice, BuiltinTas.ATTEST_READ, 32)));
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(
                out(rt, alice, BuiltinTas.ATTEST_PUBLIC_KEY, 256), out(rt, bob, BuiltinTas.ATTEST_PUBLIC_KEY, 256)),
                "each guest has its own attestation key");
        // A panic of alice's instance leaves bob's alone.
        long aliceHello = rt.open("alice", BuiltinTas.HELLO, 0, NIL, new TaParams(), () -> false).session();
        long bobHello = rt.open("bob", BuiltinTas.HELLO, 0, NIL, new TaParams(), () -> false).session();
        assertEquals(TeeWire.ERROR_TARGET_DEAD, rt.invoke(aliceHello, BuiltinTas.HELLO_PANIC, new TaParams(), () -> false).code());
        assertEquals(TeeWire.SUCCESS, rt.invoke(bobHello, BuiltinTas.HELLO_INCREMENT, inout(1), () -> false).code());
    }

    @Test
    void aTaCannotLoadTheTeesOwnClasses() {
        long s = rt.open("g", SNOOP, 0, NIL, new TaParams(), () -> false).session();
        assertEquals(TeeWire.ERROR_ITEM_NOT_FOUND, rt.invoke(s, 0, new TaParams(), () -> false).code());
    }

    @Test
    void aMissingTaIsItemNotFoundFromTheTee() {
        TaRuntime.Result r = rt.open("g", UUID.randomUUID(), 0, NIL, new TaParams(), () -> false);
        assertEquals(TeeWire.ERROR_ITEM_NOT_FOUND, r.code());
        assertEquals(TeeWire.ORIGIN_TEE, r.origin());
    }

    @Test
    void anUnknownCommandIsTheTasAnswer() {
        long s = rt.open("g", BuiltinTas.HELLO, 0, NIL, new TaParams(), () -> false).session();
        TaRuntime.Result r = rt.invoke(s, 999, new TaParams(), () -> false);
        assertEquals(TeeWire.ERROR_NOT_IMPLEMENTED, r.code());
        assertEquals(TeeWire.ORIGIN_TRUSTED_APP, r.origin());
    }
}
