package io.ferry.it.tee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.tee.LoginMethod;
import io.ferry.client.Ferry;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeException;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeResult;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeSharedMemory;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import io.ferry.tee.ta.builtin.HelloTa;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The GP TEE Client API end to end: a real host, the software TEE in its own process, a guest speaking through
 * its region. Cases follow OP-TEE's xtest numbers (see reference/tee.md).
 */
@Timeout(60)
class TeeConformanceTest {
    static final UUID CORRUPT = UUID.fromString("f3a1e7c0-00ff-4e11-8f00-0000000000c1");
    static final UUID UNTRUSTED = UUID.fromString("f3a1e7c0-00fe-4e11-8f00-0000000000c2");
    static final UUID MISSING = UUID.fromString("f3a1e7c0-00fd-4e11-8f00-0000000000c3");
    static final UUID DENIED = UUID.fromString("f3a1e7c0-00fc-4e11-8f00-0000000000c4");

    static Path dir;
    static TeeServiceFactory tee;
    static FerryHost host;
    static Ferry transport;
    static TeeContext ctx;
    static final List<String> audit = new ArrayList<>();
    static final Handler auditHandler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (audit) {
                audit.add(r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tee-it");
        DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
        Path taDir = setup.config().taDir();
        // 1008: a hello image for another UUID with one flipped bit; and one signed by an untrusted key.
        byte[] good = TaImage.sign(CORRUPT, "corrupt", HelloTa.class.getName(), "1",
                BuiltinTas.classes(HelloTa.class), setup.signingKey());
        good[good.length / 2] ^= 0x10;
        Files.write(taDir.resolve(CORRUPT + ".ta"), good);
        Files.write(taDir.resolve(UNTRUSTED + ".ta"), TaImage.sign(UNTRUSTED, "untrusted", HelloTa.class.getName(),
                "1", BuiltinTas.classes(HelloTa.class),
                KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate()));
        TeePolicy policy = TeePolicy.parse(String.join("\n",
                "allow guest=alice ta=" + BuiltinTas.HELLO + " login=public,user,group groups=100",
                "allow guest=alice ta=" + BuiltinTas.STORAGE + " login=public",
                "allow guest=alice ta=" + BuiltinTas.KEYS + " login=public commands=0-2",
                "allow guest=alice ta=" + BuiltinTas.ATTEST + " login=public",
                "allow guest=alice ta=" + CORRUPT + " login=public",
                "allow guest=alice ta=" + UNTRUSTED + " login=public",
                "allow guest=alice ta=" + MISSING + " login=public"));
        tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"), policy, TeeLimits.DEFAULT);
        Logger.getLogger("ferry.audit").addHandler(auditHandler);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("alice", 32L << 20)));
        host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
        transport = Ferry.connect(host.guestSocket(), "alice", host.secret("alice"));
        ctx = TeeContext.initialize(null, transport.teeTransport());
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("ferry.audit").removeHandler(auditHandler);
        if (ctx != null) {
            ctx.close();
        }
        if (transport != null) {
            transport.close();
        }
        if (host != null) {
            host.close();
        }
        if (tee != null) {
            tee.close();
        }
    }

    static TeeException fails(Runnable r) {
        return assertThrows(TeeException.class, r::run);
    }

    static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void helloIncrementsAValue() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInout(41, 7));
            s.invoke(BuiltinTas.HELLO_INCREMENT, op);
            assertEquals(42, op.value(0).a());
            assertEquals(7, op.value(0).b());
        }
    }

    // ---- 5006: argument checks ----

    @Test
    void x5006_missingTaFailsWithAnOriginOtherThanTrustedApp() {
        TeeException e = fails(() -> ctx.openSession(MISSING));
        assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND, e.code());
        assertNotEquals(TeeResult.ORIGIN_TRUSTED_APP, e.origin());
    }

    @Test
    void x5006_hugeAllocationIsOutOfMemory() {
        TeeException e = fails(() -> ctx.allocateSharedMemory(1L << 40, TeeSharedMemory.INPUT));
        assertEquals(TeeResult.ERROR_OUT_OF_MEMORY, e.code());
        assertEquals(TeeResult.ORIGIN_API, e.origin());
    }

    @Test
    void x5006_zeroLengthRegistrationWorks() {
        try (TeeSharedMemory m = ctx.registerSharedMemory(MemorySegment.ofArray(new byte[0]), TeeSharedMemory.INPUT)) {
            assertEquals(0, m.size());
        }
    }

    @Test
    void x5006_badFlagsAndNullArgumentsAreBadParameters() {
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> ctx.allocateSharedMemory(64, 0)).code());
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> ctx.allocateSharedMemory(64, 4)).code());
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> ctx.registerSharedMemory(null, 1)).code());
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> ctx.openSession(null)).code());
    }

    @Test
    void applicationLoginsAreNotSupported() {
        TeeException e = fails(() -> ctx.openSession(BuiltinTas.HELLO, LoginMethod.APPLICATION, 0, null));
        assertEquals(TeeResult.ERROR_NOT_SUPPORTED, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
    }

    // ---- 1007: TA panic ----

    @Test
    void x1007_panicLeavesTheSessionDeadAndOtherTasWorking() {
        TeeSession a = ctx.openSession(BuiltinTas.HELLO);
        TeeSession other = ctx.openSession(BuiltinTas.ATTEST);
        TeeException p = fails(() -> a.invoke(BuiltinTas.HELLO_PANIC));
        assertEquals(TeeResult.ERROR_TARGET_DEAD, p.code());
        assertEquals(TeeResult.ORIGIN_TEE, p.origin());
        TeeException after = fails(() -> a.invoke(BuiltinTas.HELLO_INCREMENT, TeeOperation.of(TeeParam.valueInout(1, 0))));
        assertEquals(TeeResult.ERROR_TARGET_DEAD, after.code());
        assertEquals(TeeResult.ORIGIN_TEE, after.origin());
        MemorySegment reg = MemorySegment.ofArray(new byte[32]);
        other.invoke(BuiltinTas.ATTEST_READ, TeeOperation.of(TeeParam.output(reg)));
        try (TeeSession fresh = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInout(1, 0));
            fresh.invoke(BuiltinTas.HELLO_INCREMENT, op);
            assertEquals(2, op.value(0).a());
        }
        a.close();
        other.close();
    }

    // ---- 1008: corrupted TA ----

    @Test
    void x1008_taImageWithOneFlippedBitIsRefused() {
        TeeException e = fails(() -> ctx.openSession(CORRUPT));
        assertEquals(TeeResult.ERROR_SECURITY, e.code());
        assertEquals(TeeResult.ORIGIN_TEE, e.origin());
    }

    @Test
    void x1008_taSignedByAnUntrustedKeyIsRefused() {
        assertEquals(TeeResult.ERROR_SECURITY, fails(() -> ctx.openSession(UNTRUSTED)).code());
    }

    // ---- 1009: cancellation ----

    @Test
    void x1009_cancellationFromAnotherThreadEndsAPendingInvoke() throws Exception {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInput(10_000, 0));
            Thread canceller = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
                op.cancel();
            });
            long t0 = System.nanoTime();
            TeeException e = fails(() -> s.invoke(BuiltinTas.HELLO_WAIT_FOR_CANCEL, op));
            canceller.join();
            assertEquals(TeeResult.ERROR_CANCEL, e.code());
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "cancel took effect well before the TA's timeout");
        }
    }

    @Test
    void x1009_cancelBeforeTheCallStartsAnswersCancel() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInout(1, 0));
            op.cancel();
            assertEquals(TeeResult.ERROR_CANCEL, fails(() -> s.invoke(BuiltinTas.HELLO_INCREMENT, op)).code());
        }
    }

    // ---- 1018: out-of-bounds memrefs ----

    @Test
    void x1018_partialMemrefBeyondItsSharedMemoryIsRefused() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             TeeSharedMemory m = ctx.allocateSharedMemory(4096, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT)) {
            TeeOperation op = TeeOperation.of(TeeParam.partial(TeeParam.MEMREF_PARTIAL_INPUT, m, 4000, 200),
                    TeeParam.valueOutput());
            assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> s.invoke(BuiltinTas.HELLO_CHECKSUM, op)).code());
        }
    }

    @Test
    void x1018_partialMemrefAgainstItsSharedMemoryFlagsIsRefused() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             TeeSharedMemory m = ctx.allocateSharedMemory(4096, TeeSharedMemory.INPUT)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInput(1, 0),
                    TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, m, 0, 64));
            assertEquals(TeeResult.ERROR_BAD_PARAMETERS, fails(() -> s.invoke(BuiltinTas.HELLO_FILL, op)).code());
        }
    }

    // ---- 1025: null and zero-size memrefs ----

    @Test
    void x1025_nullOutputMemrefLearnsTheNeededSize() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.input(bytes("hello, TEE")), TeeParam.output(null));
            TeeException e = fails(() -> s.invoke(BuiltinTas.HELLO_ECHO, op));
            assertEquals(TeeResult.ERROR_SHORT_BUFFER, e.code());
            assertEquals(TeeResult.ORIGIN_TRUSTED_APP, e.origin());
            assertEquals(10, op.size(1));
        }
    }

    @Test
    void x1025_zeroSizeMemrefsWork() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.input(MemorySegment.ofArray(new byte[0])), TeeParam.valueOutput());
            s.invoke(BuiltinTas.HELLO_CHECKSUM, op);
            assertEquals(0, op.value(1).b());
        }
    }

    @Test
    void shortBufferWritesTheSizeBackButNoDataBeyondTheBuffer() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            byte[] small = new byte[4];
            TeeOperation op = TeeOperation.of(TeeParam.input(bytes("0123456789")), TeeParam.output(MemorySegment.ofArray(small)));
            assertEquals(TeeResult.ERROR_SHORT_BUFFER, fails(() -> s.invoke(BuiltinTas.HELLO_ECHO, op)).code());
            assertEquals(10, op.size(1));
            assertArrayEquals(new byte[4], small);
        }
    }

    // ---- 1026–1028: login methods ----

    static byte[] identity(TeeSession s) {
        byte[] out = new byte[20];
        s.invoke(BuiltinTas.HELLO_IDENTITY, TeeOperation.of(TeeParam.output(MemorySegment.ofArray(out))));
        return out;
    }

    static UUID uuidAt4(byte[] b) {
        return TeeWire.fromBytes(Arrays.copyOfRange(b, 4, 20));
    }

    @Test
    void x1026_publicLoginGivesTheNilUuid() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO, LoginMethod.PUBLIC, 0, null)) {
            byte[] id = identity(s);
            assertEquals(TeeWire.LOGIN_PUBLIC, id[0]);
            assertEquals(new UUID(0, 0), uuidAt4(id));
        }
    }

    @Test
    void x1027_userLoginGivesTheGuestsUuidV5() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO, LoginMethod.USER, 0, null)) {
            byte[] id = identity(s);
            assertEquals(TeeWire.LOGIN_USER, id[0]);
            assertEquals(TeeWire.uuidV5(TeeWire.LOGIN_NAMESPACE, "guest=alice"), uuidAt4(id));
        }
    }

    @Test
    void x1028_groupLoginNeedsAGrantedGroup() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO, LoginMethod.GROUP, 100, null)) {
            byte[] id = identity(s);
            assertEquals(TeeWire.LOGIN_GROUP, id[0]);
            assertEquals(TeeWire.uuidV5(TeeWire.LOGIN_NAMESPACE, "guest=alice:gid=64"), uuidAt4(id));
        }
        assertEquals(TeeResult.ERROR_ACCESS_DENIED,
                fails(() -> ctx.openSession(BuiltinTas.HELLO, LoginMethod.GROUP, 101, null)).code());
    }

    // ---- 1032: read-only memory for input ----

    @Test
    void x1032_readOnlyMemoryCanBeRegisteredForInput() {
        MemorySegment ro = MemorySegment.ofArray("read only".getBytes(StandardCharsets.UTF_8)).asReadOnly();
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             TeeSharedMemory m = ctx.registerSharedMemory(ro, TeeSharedMemory.INPUT)) {
            TeeOperation op = TeeOperation.of(TeeParam.whole(m), TeeParam.valueOutput());
            s.invoke(BuiltinTas.HELLO_CHECKSUM, op);
            assertEquals(9, op.value(1).b());
        }
    }

    @Test
    void registeredHeapMemoryTravelsByReference() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             TeeSharedMemory m = ctx.allocateSharedMemory(1 << 20, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT)) {
            assertTrue(!m.shadowed());
            s.invoke(BuiltinTas.HELLO_FILL, TeeOperation.of(TeeParam.valueInput(7, 0),
                    TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, m, 4096, 100)));
            assertEquals(7, m.segment().get(ValueLayout.JAVA_BYTE, 4096));
            assertEquals(7, m.segment().get(ValueLayout.JAVA_BYTE, 4195));
            assertEquals(0, m.segment().get(ValueLayout.JAVA_BYTE, 4196));
        }
    }

    // ---- policy ----

    @Test
    void policyDenialAnswersAccessDeniedAndIsAudited() {
        TeeException e = fails(() -> ctx.openSession(BuiltinTas.STORAGE, LoginMethod.USER, 0, null));
        assertEquals(TeeResult.ERROR_ACCESS_DENIED, e.code());
        TeeException other = fails(() -> ctx.openSession(DENIED));
        assertEquals(TeeResult.ERROR_ACCESS_DENIED, other.code());
        synchronized (audit) {
            assertTrue(audit.stream().anyMatch(l -> l.contains("tee deny open guest=alice") && l.contains(DENIED.toString())),
                    "audit: " + audit);
        }
    }

    @Test
    void policyCommandRangeIsEnforced() {
        try (TeeSession s = ctx.openSession(BuiltinTas.KEYS);
             Arena a = Arena.ofConfined()) {
            TeeOperation op = TeeOperation.of(TeeParam.input(bytes("x")), TeeParam.output(a.allocate(64)));
            assertEquals(TeeResult.ERROR_ACCESS_DENIED, fails(() -> s.invoke(BuiltinTas.KEYS_SEAL, op)).code());
            synchronized (audit) {
                assertTrue(audit.stream().anyMatch(l -> l.contains("command=" + BuiltinTas.KEYS_SEAL)), "audit: " + audit);
            }
        }
    }

    // ---- storage: tamper and rollback ----

    static void write(TeeSession s, int cmd, String id, String data) {
        s.invoke(cmd, TeeOperation.of(TeeParam.input(bytes(id)), TeeParam.input(bytes(data))));
    }

    static String read(TeeSession s, String id) {
        byte[] out = new byte[256];
        TeeOperation op = TeeOperation.of(TeeParam.input(bytes(id)), TeeParam.output(MemorySegment.ofArray(out)));
        s.invoke(BuiltinTas.STORAGE_READ, op);
        return new String(out, 0, (int) op.size(1), StandardCharsets.UTF_8);
    }

    @Test
    void storageDetectsTamperingAndRollback() throws Exception {
        Path storage = dir.resolve("tee").resolve("storage");
        try (TeeSession s = ctx.openSession(BuiltinTas.STORAGE)) {
            write(s, BuiltinTas.STORAGE_WRITE, "pin", "1234");
            Path file = SecureStorage.objectFile(storage, "alice", BuiltinTas.STORAGE, "pin");
            byte[] v1 = Files.readAllBytes(file);
            write(s, BuiltinTas.STORAGE_WRITE, "pin", "9999");
            assertEquals("9999", read(s, "pin"));

            Files.write(file, v1);
            TeeException rollback = fails(() -> read(s, "pin"));
            assertEquals(TeeResult.ERROR_CORRUPT_OBJECT, rollback.code());

            write(s, BuiltinTas.STORAGE_WRITE, "pin", "4321");
            byte[] now = Files.readAllBytes(file);
            now[now.length - 3] ^= 1;
            Files.write(file, now);
            assertEquals(TeeResult.ERROR_MAC_INVALID, fails(() -> read(s, "pin")).code());

            s.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(bytes("pin"))));
            assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND, fails(() -> read(s, "pin")).code());
        }
    }

    @Test
    void storageCreateReadWriteDelete() {
        try (TeeSession s = ctx.openSession(BuiltinTas.STORAGE)) {
            write(s, BuiltinTas.STORAGE_CREATE, "note", "first");
            assertEquals(TeeResult.ERROR_ACCESS_CONFLICT,
                    fails(() -> write(s, BuiltinTas.STORAGE_CREATE, "note", "again")).code());
            assertEquals("first", read(s, "note"));
            write(s, BuiltinTas.STORAGE_WRITE, "note", "second");
            assertEquals("second", read(s, "note"));
            s.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(bytes("note"))));
        }
    }

    // ---- keys and attest ----

    @Test
    void keysSignInsideTheTeeAndVerifyWithTheExportedKey() throws Exception {
        try (TeeSession s = ctx.openSession(BuiltinTas.KEYS)) {
            byte[] pub = new byte[128];
            TeeOperation exp = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(pub)));
            s.invoke(BuiltinTas.KEYS_PUBLIC_KEY, exp);
            byte[] sig = new byte[64];
            byte[] data = "sign me".getBytes(StandardCharsets.UTF_8);
            s.invoke(BuiltinTas.KEYS_SIGN, TeeOperation.of(TeeParam.input(MemorySegment.ofArray(data)),
                    TeeParam.output(MemorySegment.ofArray(sig))));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(TaImage.publicKey(Arrays.copyOf(pub, (int) exp.size(0))));
            v.update(data);
            assertTrue(v.verify(sig));
        }
    }

    @Test
    void attestQuoteIsSignedOverTheRegisterAndNonce() throws Exception {
        try (TeeSession s = ctx.openSession(BuiltinTas.ATTEST)) {
            s.invoke(BuiltinTas.ATTEST_EXTEND, TeeOperation.of(TeeParam.input(bytes("boot")), TeeParam.valueOutput()));
            byte[] quote = new byte[8 + 32 + 32 + 4 + 64];
            s.invoke(BuiltinTas.ATTEST_QUOTE, TeeOperation.of(TeeParam.input(bytes("nonce-1")),
                    TeeParam.output(MemorySegment.ofArray(quote))));
            byte[] pub = new byte[128];
            TeeOperation exp = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(pub)));
            s.invoke(BuiltinTas.ATTEST_PUBLIC_KEY, exp);
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(TaImage.publicKey(Arrays.copyOf(pub, (int) exp.size(0))));
            v.update(quote, 0, quote.length - 64);
            assertTrue(v.verify(quote, quote.length - 64, 64));
            assertEquals("FERRYQ01", new String(quote, 0, 8, StandardCharsets.US_ASCII));
        }
    }
}
