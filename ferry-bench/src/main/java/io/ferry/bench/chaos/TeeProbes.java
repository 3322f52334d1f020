package io.ferry.bench.chaos;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Chaos probes of the TEE (issue 11, item 9): a real host with the software TEE in a temp dir, two guests (alice,
 * bob) speaking through their regions with {@code Ferry.tee()}. Bob attacks alice's state through the very same
 * TAs; alice runs a TA call that never ends while bob keeps calling.
 *
 * <ul>
 *   <li>{@code tee_cross_guest_denied} (true): bob could neither read nor delete alice's stored object, nor unseal
 *       her sealed data, sign as her or replace her key, nor read or extend her attestation register.</li>
 *   <li>{@code tee_looping_ta_stopped_ms} (≤ the call limit, 3 s here, + 1 s): how long alice's endless TA call took
 *       to end in TARGET_DEAD; -1 if it ended otherwise or bob was not served meanwhile.</li>
 * </ul>
 */
public final class TeeProbes {
    static final UUID SPIN = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000e1");
    /** The watchdog limit the probe's host runs with. */
    public static final long CALL_LIMIT_MILLIS = 3000;

    private TeeProbes() {
    }

    /** Runs every TEE probe; keys {@code tee_cross_guest_denied} and {@code tee_looping_ta_stopped_ms}. */
    public static Map<String, Object> run() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        try (Rig rig = new Rig()) {
            out.put("tee_cross_guest_denied", crossGuestDenied(rig));
            out.put("tee_looping_ta_stopped_ms", loopingTaStoppedMillis(rig));
        }
        return out;
    }

    /** The {@code tee_cross_guest_denied} figure alone: true when bob was denied everything of alice's. */
    public static boolean teeCrossGuestDenied() throws Exception {
        try (Rig rig = new Rig()) {
            return crossGuestDenied(rig);
        }
    }

    /** A host with the software TEE and guests alice and bob, each with a TEE context. */
    static final class Rig implements AutoCloseable {
        final Path dir;
        final TeeServiceFactory tee;
        final FerryHost host;
        final Ferry aliceFerry;
        final Ferry bobFerry;
        final TeeContext alice;
        final TeeContext bob;

        Rig() throws Exception {
            dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                    "ferry-tee-probe-");
            DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
            Files.write(setup.config().taDir().resolve(SPIN + TaImage.SUFFIX), TaImage.sign(SPIN, "spin",
                    TeeProbeSpinTa.class.getName(), "1", BuiltinTas.classes(TeeProbeSpinTa.class), setup.signingKey()));
            List<String> rules = new ArrayList<>();
            for (String g : List.of("alice", "bob")) {
                for (UUID ta : List.of(BuiltinTas.HELLO, BuiltinTas.STORAGE, BuiltinTas.KEYS, BuiltinTas.ATTEST, SPIN)) {
                    rules.add("allow guest=" + g + " ta=" + ta + " login=public");
                }
            }
            tee = new TeeServiceFactory(TeeBackends.open(setup.config().withCallLimitMillis(CALL_LIMIT_MILLIS),
                    "soft-tee"), TeePolicy.parse(String.join("\n", rules)), TeeLimits.DEFAULT);
            HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), List.of(
                    new HostConfig.GuestConfig("alice", 16L << 20), new HostConfig.GuestConfig("bob", 16L << 20)));
            host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
            aliceFerry = Ferry.connect(host.guestSocket(), "alice", host.secret("alice"));
            bobFerry = Ferry.connect(host.guestSocket(), "bob", host.secret("bob"));
            alice = aliceFerry.tee();
            bob = bobFerry.tee();
        }

        @Override
        public void close() throws Exception {
            for (AutoCloseable c : new AutoCloseable[] {alice, bob, aliceFerry, bobFerry, host, tee}) {
                try {
                    c.close();
                } catch (Exception e) {
                    // best effort: the temp dir goes below
                }
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] out(TeeSession s, int command, int size, TeeParam in) {
        byte[] buf = new byte[size];
        TeeOperation op = in == null ? TeeOperation.of(TeeParam.output(MemorySegment.ofArray(buf)))
                : TeeOperation.of(in, TeeParam.output(MemorySegment.ofArray(buf)));
        s.invoke(command, op);
        return Arrays.copyOf(buf, (int) op.size(in == null ? 0 : 1));
    }

    /** True when the attempt was refused by the TEE (a TeeException), false when it went through. */
    static boolean refused(Runnable attempt) {
        try {
            attempt.run();
            return false;
        } catch (TeeException e) {
            return true;
        }
    }

    static boolean crossGuestDenied(Rig rig) throws Exception {
        List<String> failures = new ArrayList<>();
        Map<String, Supplier<Boolean>> checks = new LinkedHashMap<>();
        try (TeeSession a = rig.alice.openSession(BuiltinTas.STORAGE);
             TeeSession b = rig.bob.openSession(BuiltinTas.STORAGE)) {
            a.invoke(BuiltinTas.STORAGE_WRITE, TeeOperation.of(TeeParam.input(bytes("pin")), TeeParam.input(bytes("1234"))));
            checks.put("storage read", () -> refused(() -> out(b, BuiltinTas.STORAGE_READ, 64, TeeParam.input(bytes("pin")))));
            checks.put("storage delete", () -> refused(() -> b.invoke(BuiltinTas.STORAGE_DELETE,
                    TeeOperation.of(TeeParam.input(bytes("pin"))))));
            checks.put("storage intact", () -> "1234".equals(new String(out(a, BuiltinTas.STORAGE_READ, 64,
                    TeeParam.input(bytes("pin"))), StandardCharsets.UTF_8)));
            run(checks, failures);
        }
        try (TeeSession a = rig.alice.openSession(BuiltinTas.KEYS);
             TeeSession b = rig.bob.openSession(BuiltinTas.KEYS)) {
            byte[] sealed = out(a, BuiltinTas.KEYS_SEAL, 256, TeeParam.input(bytes("alice's secret")));
            byte[] alicePub = out(a, BuiltinTas.KEYS_PUBLIC_KEY, 128, null);
            byte[] msg = "pay bob".getBytes(StandardCharsets.UTF_8);
            checks.put("keys unseal", () -> refused(() -> out(b, BuiltinTas.KEYS_UNSEAL, 256,
                    TeeParam.input(MemorySegment.ofArray(sealed)))));
            checks.put("keys sign as alice", () -> {
                byte[] sig = out(b, BuiltinTas.KEYS_SIGN, 64, TeeParam.input(MemorySegment.ofArray(msg)));
                try {
                    Signature v = Signature.getInstance("Ed25519");
                    v.initVerify(TaImage.publicKey(alicePub));
                    v.update(msg);
                    return !v.verify(sig);
                } catch (java.security.GeneralSecurityException e) {
                    throw new IllegalStateException(e);
                }
            });
            checks.put("keys replace", () -> {
                b.invoke(BuiltinTas.KEYS_GENERATE, TeeOperation.of());
                return Arrays.equals(alicePub, out(a, BuiltinTas.KEYS_PUBLIC_KEY, 128, null));
            });
            run(checks, failures);
        }
        try (TeeSession a = rig.alice.openSession(BuiltinTas.ATTEST);
             TeeSession b = rig.bob.openSession(BuiltinTas.ATTEST)) {
            a.invoke(BuiltinTas.ATTEST_EXTEND, TeeOperation.of(TeeParam.input(bytes("alice")), TeeParam.valueOutput()));
            byte[] aliceReg = out(a, BuiltinTas.ATTEST_READ, 32, null);
            checks.put("attest read", () -> !Arrays.equals(aliceReg, out(b, BuiltinTas.ATTEST_READ, 32, null)));
            checks.put("attest extend", () -> {
                b.invoke(BuiltinTas.ATTEST_EXTEND, TeeOperation.of(TeeParam.input(bytes("bob")), TeeParam.valueOutput()));
                return Arrays.equals(aliceReg, out(a, BuiltinTas.ATTEST_READ, 32, null));
            });
            run(checks, failures);
        }
        if (!failures.isEmpty()) {
            System.err.println("tee_cross_guest_denied: bob got through with: " + String.join(", ", failures));
        }
        return failures.isEmpty();
    }

    private static void run(Map<String, Supplier<Boolean>> checks, List<String> failures) {
        checks.forEach((name, check) -> {
            if (!check.get()) {
                failures.add(name);
            }
        });
        checks.clear();
    }

    static long loopingTaStoppedMillis(Rig rig) throws Exception {
        try (TeeSession looping = rig.alice.openSession(SPIN);
             TeeSession bobHello = rig.bob.openSession(BuiltinTas.HELLO)) {
            long t0 = System.nanoTime();
            CompletableFuture<Integer> spin = CompletableFuture.supplyAsync(() -> {
                try {
                    looping.invoke(1, TeeOperation.of());
                    return TeeResult.SUCCESS;
                } catch (TeeException e) {
                    return e.code();
                }
            });
            int served = 0;
            while (!spin.isDone()) {
                TeeOperation op = TeeOperation.of(TeeParam.valueInout(1, 0));
                bobHello.invoke(BuiltinTas.HELLO_INCREMENT, op);
                if (op.value(0).a() != 2) {
                    return -1;
                }
                served++;
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            return spin.get() == TeeResult.ERROR_TARGET_DEAD && served > 0 ? ms : -1;
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run());
        System.exit(0);
    }
}
