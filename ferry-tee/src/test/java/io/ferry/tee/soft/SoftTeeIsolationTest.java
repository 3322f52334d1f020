package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.TeeBackendConfig;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The software TEE keeps every (guest, TA) instance in a process of its own: a TA that loops is stopped by the
 * per-call watchdog, one that calls System.exit or Runtime.halt ends only itself, and in every case only that
 * instance's sessions answer TARGET_DEAD while other guests and other TAs keep working (issue 11, item 9).
 */
@Timeout(120)
class SoftTeeIsolationTest {
    static final UUID ROGUE = UUID.fromString("00000000-0000-0000-0000-0000000000f0");
    static final UUID NIL = new UUID(0, 0);

    @TempDir
    Path dir;

    TeeBackendConfig config(long callLimitMillis, int maxInstances) throws Exception {
        DevTee.Setup s = DevTee.prepare(dir, 2);
        Files.write(s.config().taDir().resolve(ROGUE + TaImage.SUFFIX), TaImage.sign(ROGUE, "rogue",
                RogueTa.class.getName(), "1", BuiltinTas.classes(RogueTa.class), s.signingKey()));
        TeeBackendConfig c = s.config();
        return new TeeBackendConfig(c.workDir(), c.taDir(), c.storageDir(), c.trustedKeys(), c.rootKey(), c.threads(),
                c.device(), callLimitMillis, maxInstances);
    }

    static long open(SoftTeeBackend b, String guest, UUID ta) {
        TeeReturn r = b.openSession(guest, ta, 0, NIL, new TeeParams(), TeeCancellation.NEVER);
        assertEquals(TeeWire.SUCCESS, r.code(), "open " + ta + " for " + guest);
        return r.session();
    }

    /** Command 0 of RogueTa and HelloTa's INCREMENT both add one to value inout 0. */
    static int increment(SoftTeeBackend b, long session) {
        TeeParams p = new TeeParams();
        p.value(0, TeeParams.VALUE_INOUT, 41, 0);
        int code = b.invoke(session, 0, p, TeeCancellation.NEVER).code();
        if (code == TeeWire.SUCCESS) {
            assertEquals(42, p.a(0));
        }
        return code;
    }

    @Test
    void aLoopingTaIsStoppedByTheWatchdogAndOnlyItsSessionsAnswerTargetDead() throws Exception {
        try (SoftTeeBackend b = SoftTeeBackend.start(config(3000, 32))) {
            long aliceRogue = open(b, "alice", ROGUE);
            long aliceRogue2 = open(b, "alice", ROGUE);
            long aliceHello = open(b, "alice", BuiltinTas.HELLO);
            long bobRogue = open(b, "bob", ROGUE);
            long alicePid = b.pid("alice", ROGUE);
            assertNotEquals(alicePid, b.pid("bob", ROGUE), "each guest has its own process for the same TA");

            TeeReturn r = b.invoke(aliceRogue, 1, new TeeParams(), TeeCancellation.NEVER);
            assertEquals(TeeWire.ERROR_TARGET_DEAD, r.code());
            assertEquals(TeeWire.ORIGIN_TEE, r.origin());
            assertEquals(TeeWire.ERROR_TARGET_DEAD, increment(b, aliceRogue), "the looping session is dead");
            assertEquals(TeeWire.ERROR_TARGET_DEAD, increment(b, aliceRogue2), "so is every session of that instance");
            assertTrue(ProcessHandle.of(alicePid).map(h -> !h.isAlive()).orElse(true) || waitGone(alicePid),
                    "the looping process was killed");

            assertEquals(TeeWire.SUCCESS, increment(b, bobRogue), "another guest's instance of the same TA works");
            assertEquals(TeeWire.SUCCESS, increment(b, aliceHello), "the same guest's other TA works");
            long again = open(b, "alice", ROGUE);
            assertEquals(TeeWire.SUCCESS, increment(b, again), "a new OpenSession starts a fresh instance");
        }
    }

    static boolean waitGone(long pid) {
        try {
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        } catch (RuntimeException e) {
            return false;
        }
        return true;
    }

    @Test
    void aTaThatCallsSystemExitOrHaltEndsOnlyItsOwnInstance() throws Exception {
        try (SoftTeeBackend b = SoftTeeBackend.start(config(10_000, 32))) {
            for (int command : new int[] {2, 3}) {
                long aliceRogue = open(b, "alice", ROGUE);
                long aliceHello = open(b, "alice", BuiltinTas.HELLO);
                long bobRogue = open(b, "bob", ROGUE);
                TeeReturn r = b.invoke(aliceRogue, command, new TeeParams(), TeeCancellation.NEVER);
                assertEquals(TeeWire.ERROR_TARGET_DEAD, r.code(), "command " + command);
                assertEquals(TeeWire.ORIGIN_TEE, r.origin());
                assertEquals(TeeWire.ERROR_TARGET_DEAD, increment(b, aliceRogue));
                assertEquals(TeeWire.SUCCESS, increment(b, bobRogue));
                assertEquals(TeeWire.SUCCESS, increment(b, aliceHello));
            }
        }
    }

    @Test
    void instancesAreCappedAndIdleOnesMakeRoom() throws Exception {
        try (SoftTeeBackend b = SoftTeeBackend.start(config(10_000, 1))) {
            long alice = open(b, "alice", BuiltinTas.HELLO);
            TeeReturn refused = b.openSession("bob", BuiltinTas.HELLO, 0, NIL, new TeeParams(), TeeCancellation.NEVER);
            assertEquals(TeeWire.ERROR_OUT_OF_MEMORY, refused.code(), "alice's instance is in use");
            b.closeSession(alice);
            long bob = open(b, "bob", BuiltinTas.HELLO);
            assertEquals(TeeWire.SUCCESS, increment(b, bob));
            assertEquals(1, b.instanceCount());
            assertEquals(TeeWire.ERROR_TARGET_DEAD, increment(b, alice), "alice's idle instance was stopped");
        }
    }

    @Test
    void aGuestNameThatIsNotValidIsRefused() throws Exception {
        try (SoftTeeBackend b = SoftTeeBackend.start(config(10_000, 4))) {
            TeeReturn r = b.openSession("../alice", BuiltinTas.HELLO, 0, NIL, new TeeParams(), TeeCancellation.NEVER);
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, r.code());
            assertEquals(0, b.instanceCount());
        }
    }
}
