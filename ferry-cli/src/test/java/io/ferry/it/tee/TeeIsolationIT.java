package io.ferry.it.tee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.Ferry;
import io.ferry.client.tee.LoginMethod;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeException;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeResult;
import io.ferry.client.tee.TeeSession;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import java.lang.foreign.MemorySegment;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 20, the isolation half, end to end against a real host with the software TEE and two guests. One test per
 * finding of the review: (1) bob, with PUBLIC or USER login, can neither read, overwrite nor delete alice's stored
 * object; (2) bob cannot unseal alice's blob and gets his own public keys; (3) alice's panic and alice's long call
 * do not reach bob's session of the same TA; (4) a signed TA cannot read the root key, the signing key, another
 * guest's or another TA's storage, the host's regions, nor reach the network or the host's sockets.
 */
@Timeout(180)
class TeeIsolationIT {
    static final UUID PROBE = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000e1");
    static final long CALL_LIMIT_MILLIS = 60_000;

    static Path dir;
    static Path teeDir;
    static TeeServiceFactory tee;
    static FerryHost host;
    static Ferry aliceFerry;
    static Ferry bobFerry;
    static TeeContext alice;
    static TeeContext bob;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tee-isolation");
        teeDir = dir.resolve("tee");
        DevTee.Setup setup = DevTee.prepare(teeDir, 2);
        Files.write(setup.config().taDir().resolve(PROBE + TaImage.SUFFIX), TaImage.sign(PROBE, "probe",
                ProbeTa.class.getName(), "1", BuiltinTas.classes(ProbeTa.class), setup.signingKey()));
        List<String> rules = new ArrayList<>();
        for (String g : List.of("alice", "bob")) {
            for (UUID ta : List.of(BuiltinTas.HELLO, BuiltinTas.STORAGE, BuiltinTas.KEYS, BuiltinTas.ATTEST, PROBE)) {
                rules.add("allow guest=" + g + " ta=" + ta + " login=public,user");
            }
        }
        tee = new TeeServiceFactory(TeeBackends.open(setup.config().withCallLimitMillis(CALL_LIMIT_MILLIS),
                "soft-tee"), TeePolicy.parse(String.join("\n", rules)), TeeLimits.DEFAULT);
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

    static void write(TeeSession s, String id, String data) {
        s.invoke(BuiltinTas.STORAGE_WRITE, TeeOperation.of(TeeParam.input(bytes(id)), TeeParam.input(bytes(data))));
    }

    static int increment(TeeSession s, int command) {
        TeeOperation op = TeeOperation.of(TeeParam.valueInout(41, 0));
        s.invoke(command, op);
        return (int) op.value(0).a();
    }

    static TeeSession open(TeeContext ctx, UUID ta, LoginMethod login) {
        return ctx.openSession(ta, login, 0, null);
    }

    /** Item 1: for each pair of logins, bob cannot read, overwrite or delete alice's object. */
    @Test
    void storageIsSeparatedByGuestWhateverTheLogin() {
        for (LoginMethod aliceLogin : List.of(LoginMethod.PUBLIC, LoginMethod.USER)) {
            for (LoginMethod bobLogin : List.of(LoginMethod.PUBLIC, LoginMethod.USER)) {
                String id = "pin-" + aliceLogin + "-" + bobLogin;
                String what = " (alice " + aliceLogin + ", bob " + bobLogin + ")";
                try (TeeSession a = open(alice, BuiltinTas.STORAGE, aliceLogin);
                     TeeSession b = open(bob, BuiltinTas.STORAGE, bobLogin)) {
                    write(a, id, "1234");
                    assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND, code(() -> read(b, id)), "bob read alice's object" + what);
                    assertEquals(TeeResult.ERROR_ITEM_NOT_FOUND,
                            code(() -> b.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(bytes(id))))),
                            "bob deleted alice's object" + what);
                    write(b, id, "6666");
                    assertEquals("1234", read(a, id), "bob's write reached alice's object" + what);
                    assertEquals("6666", read(b, id), "bob's write went to his own storage" + what);
                    b.invoke(BuiltinTas.STORAGE_DELETE, TeeOperation.of(TeeParam.input(bytes(id))));
                    assertEquals("1234", read(a, id), "bob's delete left alice's object" + what);
                }
            }
        }
    }

    /** Item 2: bob cannot unseal alice's blob; keys and attestation keys differ per guest, whatever the login. */
    @Test
    void keysAreSeparatedByGuestWhateverTheLogin() {
        for (LoginMethod bobLogin : List.of(LoginMethod.PUBLIC, LoginMethod.USER)) {
            try (TeeSession a = open(alice, BuiltinTas.KEYS, LoginMethod.USER);
                 TeeSession b = open(bob, BuiltinTas.KEYS, bobLogin);
                 TeeSession aAttest = open(alice, BuiltinTas.ATTEST, LoginMethod.PUBLIC);
                 TeeSession bAttest = open(bob, BuiltinTas.ATTEST, bobLogin)) {
                byte[] sealed = out(a, BuiltinTas.KEYS_SEAL, 256, TeeParam.input(bytes("alice's secret")));
                assertEquals(TeeResult.ERROR_MAC_INVALID,
                        code(() -> out(b, BuiltinTas.KEYS_UNSEAL, 256, TeeParam.input(MemorySegment.ofArray(sealed)))),
                        "bob (" + bobLogin + ") unsealed alice's blob");
                assertEquals("alice's secret", new String(out(a, BuiltinTas.KEYS_UNSEAL, 256,
                        TeeParam.input(MemorySegment.ofArray(sealed))), StandardCharsets.UTF_8));
                assertFalse(Arrays.equals(out(a, BuiltinTas.KEYS_PUBLIC_KEY, 128, null),
                        out(b, BuiltinTas.KEYS_PUBLIC_KEY, 128, null)), "alice and bob share a signing key");
                assertFalse(Arrays.equals(out(aAttest, BuiltinTas.ATTEST_PUBLIC_KEY, 128, null),
                        out(bAttest, BuiltinTas.ATTEST_PUBLIC_KEY, 128, null)), "alice and bob share an attestation key");
            }
        }
    }

    /** Item 3a: alice's panic in a TA (built-in or signed) ends her instance only; bob's session of it lives on. */
    @Test
    void aPanicEndsOnlyThePanickingGuestsInstance() {
        for (UUID ta : List.of(BuiltinTas.HELLO, PROBE)) {
            int panic = ta.equals(PROBE) ? 2 : BuiltinTas.HELLO_PANIC;
            try (TeeSession bobFirst = open(bob, ta, LoginMethod.USER);
                 TeeSession aliceOther = open(alice, ta, LoginMethod.PUBLIC);
                 TeeSession panicking = open(alice, ta, LoginMethod.USER)) {
                assertEquals(42, increment(bobFirst, 0));
                TeeException e = assertThrows(TeeException.class, () -> panicking.invoke(panic, TeeOperation.of()));
                assertEquals(TeeResult.ERROR_TARGET_DEAD, e.code(), "a panic answers TARGET_DEAD");
                assertEquals(TeeResult.ORIGIN_TEE, e.origin());
                assertEquals(TeeResult.ERROR_TARGET_DEAD, code(() -> increment(aliceOther, 0)),
                        "alice's other session of the panicked instance is dead too");
                assertEquals(42, increment(bobFirst, 0), "bob's session of " + ta + " survived alice's panic");
                try (TeeSession bobNew = open(bob, ta, LoginMethod.PUBLIC);
                     TeeSession aliceNew = open(alice, ta, LoginMethod.PUBLIC)) {
                    assertEquals(42, increment(bobNew, 0));
                    assertEquals(42, increment(aliceNew, 0), "alice's next session gets a fresh instance");
                }
            }
        }
    }

    /**
     * Item 3b: while alice's call is running in the TA (it has stored its "started" object and blocks until
     * cancelled), bob's calls to the same TA and to another complete; only then is alice's call cancelled.
     */
    @Test
    void aLongCallOfOneGuestNeverHoldsUpAnother() throws Exception {
        Path aliceProbeStore = SecureStorage.storeDir(teeDir.resolve("storage"), "alice", PROBE);
        try (TeeSession blocking = open(alice, PROBE, LoginMethod.PUBLIC);
             TeeSession bobProbe = open(bob, PROBE, LoginMethod.PUBLIC);
             TeeSession bobHello = open(bob, BuiltinTas.HELLO, LoginMethod.USER)) {
            long before = files(aliceProbeStore);
            TeeOperation op = TeeOperation.of(TeeParam.valueInput((int) (CALL_LIMIT_MILLIS / 2), 0));
            CompletableFuture<Integer> aliceCall = CompletableFuture.supplyAsync(() -> {
                try {
                    blocking.invoke(1, op);
                    return TeeResult.SUCCESS;
                } catch (TeeException e) {
                    return e.code();
                }
            });
            // the TA wrote "started" (an object file, and the index when it is the first) from inside the call
            while (files(aliceProbeStore) <= before && !aliceCall.isDone()) {
                Thread.onSpinWait();
            }
            assertFalse(aliceCall.isDone(), "alice's call is still running");
            for (int i = 0; i < 20; i++) {
                assertEquals(42, increment(bobProbe, 0));
                assertEquals(42, increment(bobHello, BuiltinTas.HELLO_INCREMENT));
            }
            assertFalse(aliceCall.isDone(), "bob's 40 calls completed while alice's call was still running");
            op.cancel();
            assertEquals(TeeResult.ERROR_CANCEL, (int) aliceCall.get(), "alice's call ended by its cancellation");
            assertEquals(42, increment(blocking, 0), "alice's instance lives on after a cancelled call");
        }
    }

    /**
     * Item 4: a signed TA tries to read what no TA may: the root key and signing key, another guest's and another
     * TA's storage, the host's regions; and to reach the host's guest socket and a TCP port of the host. Every
     * attempt is refused; its own sealed storage works.
     */
    @Test
    void aSignedTaCannotReachTheCoresKeysOtherStorageOrTheNetwork() throws Exception {
        try (TeeSession bobStorage = open(bob, BuiltinTas.STORAGE, LoginMethod.PUBLIC);
             TeeSession aliceKeys = open(alice, BuiltinTas.KEYS, LoginMethod.PUBLIC);
             TeeSession probe = open(alice, PROBE, LoginMethod.PUBLIC);
             ServerSocket listener = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            write(bobStorage, "bob-secret", "hunter2");
            out(aliceKeys, BuiltinTas.KEYS_PUBLIC_KEY, 128, null);
            Path storage = teeDir.resolve("storage");
            Path bobStore = SecureStorage.storeDir(storage, "bob", BuiltinTas.STORAGE);
            Path aliceKeysStore = SecureStorage.storeDir(storage, "alice", BuiltinTas.KEYS);
            List<String> targets = new ArrayList<>(List.of(
                    teeDir.resolve("root.key").toString(),
                    teeDir.resolve("keys/ta-signing.key").toString(),
                    teeDir.toString(),
                    storage.toString(),
                    bobStore.toString(),
                    aliceKeysStore.toString(),
                    dir.resolve("regions").toString(),
                    "unix:" + host.guestSocket(),
                    "tcp:127.0.0.1:" + listener.getLocalPort()));
            for (Path d : List.of(bobStore, aliceKeysStore)) {
                try (Stream<Path> files = Files.list(d)) {
                    files.forEach(f -> targets.add(f.toString()));
                }
            }
            Map<String, String> report = probe(probe, targets);
            for (String t : targets) {
                assertTrue(report.get(t) != null && report.get(t).startsWith("refused"),
                        "the TA reached " + t + ": " + report.get(t) + " (whole report: " + report + ")");
            }
            assertTrue(probe(probe, List.of("/proc/self/status")).get("/proc/self/status").startsWith("read "),
                    "the probe does read what it may");
            assertEquals("mine", new String(out(probe, 4, 64, TeeParam.input(bytes("mine"))), StandardCharsets.UTF_8),
                    "the TA's own sealed storage works in its sandbox");
        }
    }

    static Map<String, String> probe(TeeSession s, List<String> targets) {
        byte[] report = out(s, 3, 64 * 1024, TeeParam.input(bytes(String.join("\n", targets))));
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : new String(report, StandardCharsets.UTF_8).split("\n")) {
            int colon = line.indexOf(": ");
            if (colon > 0) {
                out.put(line.substring(0, colon), line.substring(colon + 2));
            }
        }
        return out;
    }

    static long files(Path d) {
        if (!Files.isDirectory(d)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
