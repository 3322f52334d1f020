package io.ferry.it.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.Ferry;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeTransport;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.protocol.Op;
import io.ferry.protocol.TeeLane;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Direct TEE lanes (docs/protocol.md, "Direct TEE lanes") against a real host, the software TEE and its sandboxed
 * TA processes (and once an unsandboxed one), driven on the wire as a hostile guest would: the TA instance serves
 * well-formed invokes from the lane, refuses malformed ones without running anything and keeps serving, never lets
 * a guest attach a lane the host has not checked, and when the instance dies (its own exit, or the per-call
 * watchdog on a call that spins) the guest waiting on the lane gets TARGET_DEAD from the host instead of waiting
 * forever. Another guest's session of the same TA is untouched by all of it.
 */
@Timeout(180)
class TeeDirectLaneIT {
    static final UUID SPIN = UUID.fromString("f3a1e7c0-00f0-4e11-8f00-0000000000e2");
    static final long CALL_LIMIT_MILLIS = 3_000;
    static final AtomicLong HANDLES = new AtomicLong(1L << 40);

    static Path dir;
    static TeeServiceFactory tee;
    static FerryHost host;
    static Ferry mallory;
    static Ferry bob;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tee-direct");
        DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
        Files.write(setup.config().taDir().resolve(SPIN + TaImage.SUFFIX), TaImage.sign(SPIN, "spin",
                SpinTa.class.getName(), "1", BuiltinTas.classes(SpinTa.class), setup.signingKey()));
        String rules = String.join("\n",
                "allow guest=* ta=" + BuiltinTas.HELLO + " login=public",
                "allow guest=* ta=" + SPIN + " login=public",
                "allow guest=mallory ta=" + BuiltinTas.STORAGE + " login=public commands=0-1");
        tee = new TeeServiceFactory(TeeBackends.open(setup.config().withCallLimitMillis(CALL_LIMIT_MILLIS),
                "soft-tee"), TeePolicy.parse(rules), TeeLimits.DEFAULT);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                List.of(new HostConfig.GuestConfig("mallory", 16L << 20), new HostConfig.GuestConfig("bob", 16L << 20)));
        host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
        mallory = Ferry.connect(host.guestSocket(), "mallory", host.secret("mallory"));
        bob = Ferry.connect(host.guestSocket(), "bob", host.secret("bob"));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {mallory, bob, host, tee}) {
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

    /** An open session with a direct lane, driven raw. */
    record Raw(TeeTransport t, long handle, TeeTransport.HeapMemory block, TeeLane lane) {
        /** Publishes the request written so far and waits for its reply (at most 30 s). */
        void call() throws InterruptedException {
            long s = lane.requestSeq() + 1;
            lane.publishRequest(s);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (lane.replySeq() != s) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no reply on the direct lane in 30 s (closed: " + lane.closed() + ")");
                }
                lane.awaitReply(lane.replySeq(), 10_000_000);
            }
        }

        /** The increment (HELLO_INCREMENT and SpinTa's 0) of {@code v} on the lane; the value it answered. */
        long increment(long v) throws InterruptedException {
            lane.request(TeeLane.INVOKE, 0, 0, null, 0, null, TeeWire.VALUE_INOUT);
            lane.param(0, v, 0, 0);
            call();
            assertEquals(TeeWire.SUCCESS, lane.replyRet(), "ret 0x" + Integer.toHexString(lane.replyRet()));
            return lane.replyA(0);
        }
    }

    static long open(TeeTransport t, UUID ta) {
        long handle = HANDLES.incrementAndGet();
        TeeTransport.Reply r = t.call(Op.TEE_OPEN_SESSION, new byte[TeeWire.BLOCK_LENGTH], handle,
                ta.getMostSignificantBits(), ta.getLeastSignificantBits(), TeeWire.LOGIN_PUBLIC, 0,
                TeeWire.NO_CANCEL_WORD);
        assertEquals(TeeWire.SUCCESS, (int) r.r0(), "open " + ta);
        return handle;
    }

    static long attach(TeeTransport t, long handle, long offset, long size) {
        return (int) t.call(Op.TEE_DIRECT, null, handle, offset, size).r0();
    }

    static Raw direct(Ferry f, UUID ta) {
        TeeTransport t = f.teeTransport();
        long handle = open(t, ta);
        TeeTransport.HeapMemory block = t.allocate(TeeLane.DIRECT_LANE_BYTES);
        block.segment().fill((byte) 0);
        assertEquals(TeeWire.SUCCESS, attach(t, handle, block.offset(), TeeLane.DIRECT_LANE_BYTES));
        return new Raw(t, handle, block, new TeeLane(block.segment()));
    }

    @Test
    void aWellFormedInvokeIsServedOnTheLaneAndMemrefsComeBackWithinTheirWindow() throws Exception {
        Raw r = direct(mallory, BuiltinTas.HELLO);
        assertEquals(42, r.increment(41));
        // HELLO_ECHO: input memref 0 copied to output memref 1
        byte[] msg = "through the direct lane".getBytes();
        r.lane().request(TeeLane.INVOKE, BuiltinTas.HELLO_ECHO, 0, null, 0, null,
                TeeWire.MEMREF_TEMP_INPUT | TeeWire.MEMREF_TEMP_OUTPUT << 4);
        MemorySegment.copy(MemorySegment.ofArray(msg), 0, r.lane().data(0, msg.length), 0, msg.length);
        r.lane().param(0, 0, 0, msg.length);
        r.lane().data(1024, 64).fill((byte) 0x55);
        r.lane().param(1, 1024, 0, 64);
        r.call();
        assertEquals(TeeWire.SUCCESS, r.lane().replyRet());
        assertEquals(msg.length, r.lane().replyC(1));
        assertEquals(new String(msg), new String(r.lane().data(1024, msg.length).toArray(
                java.lang.foreign.ValueLayout.JAVA_BYTE)));
        close(r);
    }

    @Test
    void theJavaClientInvokesOnALaneAndTheHostStillCountsTheInvokes() {
        long before = host.counters("bob").calls(Op.TEE_INVOKE);
        try (TeeContext ctx = bob.tee(); TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            assertTrue(s.direct(), "a process guest's session gets a direct lane");
            for (int i = 0; i < 10; i++) {
                TeeOperation op = TeeOperation.of(TeeParam.valueInout(i, 0));
                s.invoke(BuiltinTas.HELLO_INCREMENT, op);
                assertEquals(i + 1, op.value(0).a());
            }
        }
        assertEquals(before + 10, host.counters("bob").calls(Op.TEE_INVOKE),
                "ferry_tee_invocations counts the invokes no host session saw");
    }

    @Test
    void malformedRequestsAreRefusedWithoutRunningAndTheLaneKeepsServing() throws Exception {
        Raw r = direct(mallory, BuiltinTas.HELLO);
        long[][] bad = {
                // kind, types, a0, c0
                {TeeLane.OPEN, TeeWire.VALUE_INOUT, 1, 0},                      // not an invoke
                {TeeLane.ATTACH, TeeWire.VALUE_INOUT, 0, 4096},                 // the host's kind
                {TeeLane.INVOKE, 0x4, 0, 0},                                    // type 4 does not exist
                {TeeLane.INVOKE, TeeWire.MEMREF_WHOLE, 0, 16},                  // registered kinds are the guest's
                {TeeLane.INVOKE, 0x1_0000 | TeeWire.VALUE_INOUT, 1, 0},         // bits above the four types
                {TeeLane.INVOKE, TeeWire.VALUE_INOUT, 1L << 32, 0},             // a value wider than 32 bits
                {TeeLane.INVOKE, TeeWire.MEMREF_TEMP_INOUT, 60 * 1024, 8192},   // past the data area
                {TeeLane.INVOKE, TeeWire.MEMREF_TEMP_INOUT, -64, 16},           // before it
                {TeeLane.INVOKE, TeeWire.MEMREF_TEMP_INOUT, 0, -1},             // a negative size
                {TeeLane.INVOKE, TeeWire.MEMREF_TEMP_INOUT, Long.MAX_VALUE, 16},// overflowing
                {TeeLane.INVOKE, TeeWire.MEMREF_TEMP_OUTPUT, TeeLane.NULL_MEMREF, 2L << 20}, // a null memref over 1 MiB
        };
        for (long[] b : bad) {
            r.lane().request((int) b[0], 0, 0, null, 0, null, (int) b[1]);
            r.lane().param(0, b[2], 0, b[3]);
            r.call();
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, r.lane().replyRet(), "kind " + b[0] + " types 0x"
                    + Long.toHexString(b[1]) + " a " + b[2] + " c " + b[3]);
            assertEquals(TeeWire.ORIGIN_COMMS, r.lane().replyOrigin());
        }
        assertEquals(8, r.increment(7), "the lane serves on after its guest's bad requests");
        close(r);
    }

    @Test
    void theHostAttachesOnlyWhatItChecked() {
        TeeTransport t = mallory.teeTransport();
        long handle = open(t, BuiltinTas.HELLO);
        try (TeeTransport.HeapMemory block = t.allocate(2 * TeeLane.DIRECT_LANE_BYTES)) {
            long at = block.offset();
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, attach(t, handle, at + 64, TeeLane.DIRECT_LANE_BYTES),
                    "an offset not on a page");
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, attach(t, handle, at, 4096), "smaller than 8 KiB");
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, attach(t, handle, at, 12 * 1024 + 8), "not whole pages");
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, attach(t, handle, 16L << 20, TeeLane.DIRECT_LANE_BYTES),
                    "past the heap");
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, attach(t, handle, -4096, TeeLane.DIRECT_LANE_BYTES),
                    "before the heap");
            assertEquals(TeeWire.SUCCESS, attach(t, handle, at, TeeLane.DIRECT_LANE_BYTES));
            assertEquals(TeeWire.ERROR_BAD_STATE, attach(t, handle, at + TeeLane.DIRECT_LANE_BYTES,
                    TeeLane.DIRECT_LANE_BYTES), "a second lane for one session");
            t.call(Op.TEE_CLOSE_SESSION, null, handle);
        }
        // a session whose policy limits its commands keeps every invoke on the host's checked path
        long limited = open(t, BuiltinTas.STORAGE);
        try (TeeTransport.HeapMemory block = t.allocate(TeeLane.DIRECT_LANE_BYTES)) {
            assertEquals(TeeWire.ERROR_NOT_SUPPORTED, attach(t, limited, block.offset(), TeeLane.DIRECT_LANE_BYTES));
            t.call(Op.TEE_CLOSE_SESSION, null, limited);
        }
    }

    @Test
    void anInstanceThatDiesAnswersItsLaneTargetDeadAndOtherGuestsGoOn() throws Exception {
        Raw bobs = direct(bob, SPIN);
        Raw r = direct(mallory, SPIN);
        assertEquals(2, r.increment(1));
        // SpinTa 2: System.exit in the middle of the call
        r.lane().request(TeeLane.INVOKE, 2, 0, null, 0, null, 0);
        r.call();
        assertEquals(TeeWire.ERROR_TARGET_DEAD, r.lane().replyRet());
        assertEquals(TeeWire.ORIGIN_TEE, r.lane().replyOrigin());
        assertTrue(r.lane().closed(), "the host closed the lane");
        assertEquals(11, bobs.increment(10), "bob's instance of the same TA is his own");
        close(bobs);
        r.t().call(Op.TEE_CLOSE_SESSION, null, r.handle());
        r.block().close();
    }

    @Test
    void aDirectCallPastTheCallLimitEndsTheInstanceWithTargetDead() throws Exception {
        Raw r = direct(mallory, SPIN);
        long t0 = System.nanoTime();
        r.lane().request(TeeLane.INVOKE, 1, 0, null, 0, null, 0); // SpinTa 1: spins forever
        r.call();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(TeeWire.ERROR_TARGET_DEAD, r.lane().replyRet());
        assertTrue(ms >= CALL_LIMIT_MILLIS - 100, "ended after " + ms + " ms, the limit is " + CALL_LIMIT_MILLIS);
        r.t().call(Op.TEE_CLOSE_SESSION, null, r.handle());
        r.block().close();
        // the next session of that guest to that TA gets a new instance, with a lane of its own
        Raw again = direct(mallory, SPIN);
        assertEquals(6, again.increment(5));
        close(again);
    }

    @Test
    void afterCloseTheLaneIsClosedAndItsMemoryTheGuestsAgain() throws Exception {
        Raw r = direct(mallory, BuiltinTas.HELLO);
        assertEquals(3, r.increment(2));
        long seq = r.lane().replySeq();
        r.t().call(Op.TEE_CLOSE_SESSION, null, r.handle());
        assertTrue(r.lane().closed());
        // nobody serves it now: a request published after close gets no answer from the instance
        r.lane().request(TeeLane.INVOKE, 0, 0, null, 0, null, TeeWire.VALUE_INOUT);
        r.lane().publishRequest(seq + 1);
        Thread.sleep(200);
        assertNotEquals(seq + 1, r.lane().replySeq());
        r.block().close();
    }

    @Test
    void anUnsandboxedInstanceServesALaneToo() throws Exception {
        Path d = Files.createTempDirectory("ferry-tee-direct-none");
        DevTee.Setup setup = DevTee.prepare(d.resolve("tee"), 2);
        try (TeeServiceFactory t = new TeeServiceFactory(TeeBackends.open(setup.config().withSandboxed(false),
                "soft-tee"), TeePolicy.parse("allow guest=* ta=" + BuiltinTas.HELLO + " login=public"), TeeLimits.DEFAULT);
             FerryHost h = FerryHost.start(new HostConfig(d.resolve("regions"), true, List.of(),
                     List.of(new HostConfig.GuestConfig("carol", 16L << 20))), Devices.of(List.of(), List.of()), t);
             Ferry carol = Ferry.connect(h.guestSocket(), "carol", h.secret("carol"))) {
            Raw r = direct(carol, BuiltinTas.HELLO); // isolation: none (tests only): the region reaches it the same way
            assertEquals(43, r.increment(42));
            close(r);
        } finally {
            try (Stream<Path> files = Files.walk(d)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static void close(Raw r) {
        r.t().call(Op.TEE_CLOSE_SESSION, null, r.handle());
        r.block().close();
    }
}
