package io.ferry.it.tee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.Ferry;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeException;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeResult;
import io.ferry.client.tee.TeeSession;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11, item 9, end to end: a real host with the software TEE and two guests, alice and bob, speaking through
 * their regions with {@code Ferry.tee()}. Through the very same TAs, bob can neither read, use nor destroy alice's
 * stored object, key or attestation register; and a TA call of alice's that loops (or exits the process) ends in
 * TARGET_DEAD for her sessions of that TA only, while bob's calls keep working.
 */
@Timeout(120)
class TeeCrossGuestTest {
    static final UUID SPIN = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000d1");
    static final long CALL_LIMIT_MILLIS = 5000;

    static Path dir;
    static TeeServiceFactory tee;
    static FerryHost host;
    static Ferry aliceFerry;
    static Ferry bobFerry;
    static TeeContext alice;
    static TeeContext bob;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tee-cross");
        DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
        Files.write(setup.config().taDir().resolve(SPIN + TaImage.SUFFIX), TaImage.sign(SPIN, "spin",
                SpinTa.class.getName(), "1", BuiltinTas.classes(SpinTa.class), setup.signingKey()));
        List<String> rules = new ArrayList<>();
        for (String g : List.of("alice", "bob")) {
            for (UUID ta : List.of(BuiltinTas.HELLO, BuiltinTas.STORAGE, BuiltinTas.KEYS, BuiltinTas.ATTEST, SPIN)) {
                rules.add("allow guest=" + g + " ta=" + ta + " login=public");
            }
        }
        tee = new TeeServiceFactory(TeeBackends.open(setup.config().withCallLimitMillis(CALL_LIMIT_MILLIS), "soft-tee"),
                TeePolicy.parse(String.join("\n", rules)), TeeLimits.DEFAULT);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("alice", 16L << 20), new HostConfig.GuestConfig("bob", 16L << 20)));
        host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
        aliceFerry = Ferry.connect(host.guestSocket(), "alice", host.secret("alice"));
        bobFerry = Ferry.connect(host.guestSocket(), "bob", host.secret("bob"));
        alice = aliceFerry.tee();
        bob = bobFerry.tee();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {alice, bob, aliceFerry, bobFerry, host, tee}) {
            if (c != null) {
                c.close();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    static int code(Runnable r) {
        return assertThrows(TeeException.class, r::run).code();
    }

    static byte[] out(TeeSession s, int command, int size, TeeParam in) {
        byte[] buf = new byte[size];
        TeeOperation op = in == null ? TeeOperation.of(TeeParam.output(MemorySegment.ofArray(buf)))
                : TeeOperation.of(in, TeeParam.output(MemorySegment.ofArray(buf)));
        s.invoke(command, op);
        return Arrays.copyOf(buf, (int) op.size(in == null ? 0 : 1));
    }

    static String read(TeeSession s, String id) {
        return new String(out(s, BuiltinTas.STORAGE_READ, 256, TeeParam.input(bytes(id))), StandardCharsets.UTF_8);
    }

    static int increment(TeeSession s, int command) {
        TeeOperation op = TeeOperation.of(TeeParam.valueInout(41, 0));
        s.invoke(command, op);
        return (int) op.value(0).a();
    }

    /** What /metrics shows of the TEE (ferry_tee_invocations_total, ferry_tee_denials_total): the host's counts. */
    @Test
    void invocationsAndPolicyDenialsAreCountedPerGuest() {
        var before = host.counters("bob");
        try (TeeSession b = bob.openSession(BuiltinTas.HELLO)) {
            b.invoke(BuiltinTas.HELLO_INCREMENT, TeeOperation.of(TeeParam.valueInout(1, 0)));
        }
        assertEquals(TeeResult.ERROR_ACCESS_DENIED, code(() -> bob.openSession(UUID.randomUUID())),
                "no rule allows a TA the policy does not name");
        var after = host.counters("bob");
        assertTrue(after.calls(io.ferry.protocol.Op.TEE_INVOKE) > before.calls(io.ferry.protocol.Op.TEE_INVOKE));
        assertEquals(before.teeDenials()[0] + 1, after.teeDenials()[0], "one denied open");
        assertEquals(before.teeDenials()[1], after.teeDenials()[1], "no denied command");
    }

    @Test
    void bobCannotReadOverwriteOrDeleteAlicesStoredObject() {
        try (TeeSession a = alice.openSession(BuiltinTas.STORAGE);
             TeeSession b = bob.openSession(BuiltinTas.STORAGE)) {
            a.invoke(BuiltinTas.STORAGE_WRITE, TeeOperation.of(TeeParam.input(bytes("pin")), TeeParam.input(bytes("1234"))));
            assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND, code(() -> read(b, "pin")), "bob cannot read alice's object");
            assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND,
                    code(() -> b.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(bytes("pin"))))),
                    "bob cannot delete alice's object");
            // CREATE succeeds for bob: the id is free in his storage, not a conflict with alice's.
            b.invoke(BuiltinTas.STORAGE_CREATE, TeeOperation.of(TeeParam.input(bytes("pin")), TeeParam.input(bytes("0000"))));
            b.invoke(BuiltinTas.STORAGE_WRITE, TeeOperation.of(TeeParam.input(bytes("pin")), TeeParam.input(bytes("6666"))));
            assertEquals("1234", read(a, "pin"), "alice's object is untouched");
            assertEquals("6666", read(b, "pin"));
        }
    }

    @Test
    void bobCannotUseOrReplaceAlicesKeys() throws Exception {
        try (TeeSession a = alice.openSession(BuiltinTas.KEYS);
             TeeSession b = bob.openSession(BuiltinTas.KEYS)) {
            byte[] sealed = out(a, BuiltinTas.KEYS_SEAL, 256, TeeParam.input(bytes("alice's secret")));
            assertEquals(TeeResult.ERROR_MAC_INVALID,
                    code(() -> out(b, BuiltinTas.KEYS_UNSEAL, 256, TeeParam.input(MemorySegment.ofArray(sealed)))),
                    "bob cannot unseal what alice sealed");
            byte[] alicePub = out(a, BuiltinTas.KEYS_PUBLIC_KEY, 128, null);
            byte[] bobPub = out(b, BuiltinTas.KEYS_PUBLIC_KEY, 128, null);
            assertFalse(Arrays.equals(alicePub, bobPub), "each guest has its own signing key");
            byte[] msg = "pay 100 to bob".getBytes(StandardCharsets.UTF_8);
            byte[] bobSig = out(b, BuiltinTas.KEYS_SIGN, 64, TeeParam.input(MemorySegment.ofArray(msg)));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(TaImage.publicKey(alicePub));
            v.update(msg);
            assertFalse(v.verify(bobSig), "bob cannot sign as alice");
            b.invoke(BuiltinTas.KEYS_GENERATE, TeeOperation.of());
            assertArrayEquals(alicePub, out(a, BuiltinTas.KEYS_PUBLIC_KEY, 128, null), "bob's GENERATE left alice's key");
            assertEquals("alice's secret", new String(out(a, BuiltinTas.KEYS_UNSEAL, 256,
                    TeeParam.input(MemorySegment.ofArray(sealed))), StandardCharsets.UTF_8));
        }
    }

    @Test
    void bobCannotReadOrExtendAlicesAttestationRegister() throws Exception {
        try (TeeSession a = alice.openSession(BuiltinTas.ATTEST);
             TeeSession b = bob.openSession(BuiltinTas.ATTEST)) {
            a.invoke(BuiltinTas.ATTEST_EXTEND, TeeOperation.of(TeeParam.input(bytes("alice's kernel")), TeeParam.valueOutput()));
            byte[] aliceReg = out(a, BuiltinTas.ATTEST_READ, 32, null);
            byte[] bobReg = out(b, BuiltinTas.ATTEST_READ, 32, null);
            assertFalse(Arrays.equals(aliceReg, bobReg), "bob does not see alice's measurement");
            b.invoke(BuiltinTas.ATTEST_EXTEND, TeeOperation.of(TeeParam.input(bytes("bob's junk")), TeeParam.valueOutput()));
            assertArrayEquals(aliceReg, out(a, BuiltinTas.ATTEST_READ, 32, null), "bob's EXTEND left alice's register");
            byte[] quote = out(b, BuiltinTas.ATTEST_QUOTE, 8 + 32 + 32 + 4 + 64, TeeParam.input(bytes("nonce")));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(TaImage.publicKey(out(a, BuiltinTas.ATTEST_PUBLIC_KEY, 128, null)));
            v.update(quote, 0, quote.length - 64);
            assertFalse(v.verify(quote, quote.length - 64, 64), "bob's quote is not signed with alice's key");
        }
    }

    @Test
    void aLoopingTaCallEndsInTargetDeadWhileAnotherGuestsCallsWork() throws Exception {
        try (TeeSession looping = alice.openSession(SPIN);
             TeeSession sameTa = alice.openSession(SPIN);
             TeeSession bobSpin = bob.openSession(SPIN);
             TeeSession bobHello = bob.openSession(BuiltinTas.HELLO)) {
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<Integer> spin = CompletableFuture.supplyAsync(() -> {
                started.countDown();
                return code(() -> looping.invoke(1, TeeOperation.of()));
            });
            started.await();
            int bobCallsDuringTheLoop = 0;
            while (!spin.isDone()) {
                assertEquals(42, increment(bobHello, BuiltinTas.HELLO_INCREMENT));
                assertEquals(42, increment(bobSpin, 0), "bob's instance of the same TA works");
                if (!spin.isDone()) {
                    bobCallsDuringTheLoop++;
                }
            }
            assertEquals(TeeResult.ERROR_TARGET_DEAD, (int) spin.get(), "the watchdog ended the looping call");
            assertTrue(bobCallsDuringTheLoop > 0, "bob was served while alice's TA looped");
            assertEquals(TeeResult.ERROR_TARGET_DEAD, code(() -> increment(sameTa, 0)), "alice's other session of it died");
            assertEquals(42, increment(bobSpin, 0));
            try (TeeSession fresh = alice.openSession(SPIN)) {
                assertEquals(42, increment(fresh, 0), "a new session gets a fresh instance");
            }
        }
    }

    @Test
    void aTaThatCallsSystemExitEndsOnlyThatGuestsInstance() {
        try (TeeSession exiting = alice.openSession(SPIN);
             TeeSession aliceHello = alice.openSession(BuiltinTas.HELLO);
             TeeSession bobSpin = bob.openSession(SPIN)) {
            TeeException e = assertThrows(TeeException.class, () -> exiting.invoke(2, TeeOperation.of()));
            assertEquals(TeeResult.ERROR_TARGET_DEAD, e.code());
            assertEquals(TeeResult.ORIGIN_TEE, e.origin());
            assertEquals(42, increment(bobSpin, 0));
            assertEquals(42, increment(aliceHello, BuiltinTas.HELLO_INCREMENT));
        }
    }
}
