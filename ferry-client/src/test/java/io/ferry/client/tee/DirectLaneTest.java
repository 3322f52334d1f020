package io.ferry.client.tee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeLane;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The direct lane against an in-memory TA: a scripted transport whose TEE_DIRECT starts a thread that plays the TA
 * process's side of the {@link TeeLane} in the fake heap. What the request carries (types normalized, values, memref
 * slots), what comes back (values, sizes, data within the window), CLOSED, cancellation, fallbacks and closing.
 */
class DirectLaneTest {
    /** The TA's side of one call: reads the request, writes the reply; true publishes it. */
    interface Ta {
        boolean serve(TeeLane lane, long seq) throws Exception;
    }

    final MemorySegment heap = Arena.ofShared().allocate(4 << 20, 4096);
    final List<String> log = Collections.synchronizedList(new ArrayList<>());
    /** What the fake TA found wrong in a request (its checks fail the test, not only the call). */
    final List<Throwable> taFailures = Collections.synchronizedList(new ArrayList<>());
    volatile Ta ta = (lane, seq) -> {
        lane.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
        return true;
    };
    volatile int directAnswer = TeeResult.SUCCESS;
    volatile boolean open = true;
    volatile boolean alive = true;
    volatile boolean sharesHeap = true;
    volatile TeeLane lane;
    final AtomicInteger ringInvokes = new AtomicInteger();
    final List<Thread> taThreads = new ArrayList<>();
    volatile boolean stop;
    long next;

    final TeeTransport transport = new TeeTransport() {
        @Override
        public Reply call(Op op, byte[] blob, long... args) {
            log.add(op.name());
            if (!alive) {
                throw new FerryException(Status.HOST_UNAVAILABLE, "no heartbeat from the host");
            }
            switch (op) {
                case TEE_DIRECT -> {
                    assertEquals(TeeLane.DIRECT_LANE_BYTES, args[2]);
                    assertEquals(0, args[1] % 4096);
                    if (directAnswer == TeeResult.SUCCESS) {
                        startTa(heap.asSlice(args[1], args[2]));
                    }
                    return new Reply(directAnswer & 0xFFFF_FFFFL, TeeResult.ORIGIN_COMMS, 0, 0, new byte[0]);
                }
                case TEE_INVOKE -> {
                    ringInvokes.incrementAndGet();
                    return new Reply(0, TeeResult.ORIGIN_TRUSTED_APP, 0, 0, blob);
                }
                default -> {
                    return new Reply(0, TeeResult.ORIGIN_COMMS, 0, 0, blob == null ? new byte[0] : blob);
                }
            }
        }

        @Override
        public void send(Op op, long... args) {
            log.add(op.name());
        }

        @Override
        public synchronized HeapMemory allocate(long bytes) {
            long align = bytes >= 64 * 1024 ? 4096 : 64;
            long off = (next + align - 1) & -align;
            if (off + bytes > heap.byteSize()) {
                throw new FerryException(Status.QUOTA_EXCEEDED, "heap exhausted");
            }
            next = off + bytes;
            MemorySegment seg = heap.asSlice(off, bytes);
            return new HeapMemory() {
                public long offset() {
                    return off;
                }

                public MemorySegment segment() {
                    return seg;
                }

                public void close() {
                    log.add("free " + off + "+" + bytes);
                }
            };
        }

        @Override
        public long heapOffset(MemorySegment s) {
            long off = s.address() - heap.address();
            return s.isNative() && off >= 0 && off + s.byteSize() <= heap.byteSize() ? off : -1;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public boolean sharesHeap() {
            return sharesHeap;
        }

        @Override
        public void checkAlive() {
            if (!alive) {
                throw new FerryException(Status.HOST_UNAVAILABLE, "no heartbeat from the host");
            }
        }
    };

    /** The TA process's lane thread: serves each published request with {@link #ta}. */
    void startTa(MemorySegment block) {
        TeeLane wire = new TeeLane(block);
        lane = wire;
        Thread t = Thread.ofPlatform().daemon().name("fake-ta").start(() -> {
            long last = 0;
            while (!stop) {
                long s = wire.requestSeq();
                if (s == last) {
                    if (!wire.awaitRequest(s, 1_000_000)) {
                        Thread.onSpinWait();
                    }
                    continue;
                }
                last = s;
                try {
                    if (ta.serve(wire, s)) {
                        wire.publishReply(s);
                    }
                } catch (Throwable e) {
                    taFailures.add(e);
                    wire.reply(TeeResult.ERROR_GENERIC, TeeResult.ORIGIN_TEE, 0);
                    wire.publishReply(s);
                }
            }
        });
        taThreads.add(t);
    }

    @AfterEach
    void stopTas() throws InterruptedException {
        stop = true;
        for (Thread t : taThreads) {
            t.join(5000);
        }
        System.clearProperty("ferry.tee.direct");
        assertTrue(taFailures.isEmpty(), "the TA's checks failed: " + taFailures);
    }

    TeeSession open(TeeContext ctx) {
        TeeSession s = ctx.openSession(UUID.randomUUID());
        assertTrue(s.direct());
        return s;
    }

    static byte[] bytes(TeeLane lane, long offset, long size) {
        return lane.data(offset, size).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void valuesGoThroughTheLaneAsUnsignedWordsAndComeBack() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            assertEquals(TeeLane.INVOKE, w.kind());
            assertEquals(7, w.command());
            assertEquals(0, w.session());
            assertEquals(TeeWire.types(TeeWire.VALUE_INOUT, TeeWire.VALUE_INPUT, TeeWire.NONE, TeeWire.VALUE_OUTPUT),
                    w.types());
            assertEquals(41, w.paramA(0));
            assertEquals(0xFFFF_FFFFL, w.paramA(1));
            assertEquals(0x8000_0000L, w.paramB(1));
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, w.paramA(0) + 1, 5, 0);
            w.replyParam(3, 0xFFFF_FFFEL, 9, 0);
            return true;
        };
        TeeOperation op = TeeOperation.of(TeeParam.valueInout(41, 0), TeeParam.valueInput(-1, Integer.MIN_VALUE),
                null, TeeParam.valueOutput());
        s.invoke(7, op);
        assertEquals(42, op.value(0).a());
        assertEquals(5, op.value(0).b());
        assertEquals(-2, op.value(3).a());
        assertEquals(-1, op.value(1).a(), "an input value is left as it was");
        assertEquals(0, ringInvokes.get());
        assertFalse(log.contains(Op.TEE_INVOKE.name()));
    }

    @Test
    void memrefsTravelInAlignedSlotsWithRegisteredOnesNormalizedByDirection() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        TeeSharedMemory shm = ctx.allocateSharedMemory(128, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
        shm.segment().fill((byte) 0x11);
        MemorySegment inout = transport.allocate(16).segment(); // region heap memory: copied into the lane all the same
        inout.copyFrom(MemorySegment.ofArray("inout-data-here!".getBytes()));
        byte[] out = new byte[8];
        Arrays.fill(out, (byte) 0x77);
        ta = (w, seq) -> {
            assertEquals(TeeWire.types(5, 6, 7, 6), w.types());
            long[] at = {w.paramA(0), w.paramA(1), w.paramA(2), w.paramA(3)};
            long[] size = {w.paramC(0), w.paramC(1), w.paramC(2), w.paramC(3)};
            assertArrayEquals(new long[] {3, 8, 16, 32}, size);
            for (int i = 0; i < 4; i++) {
                assertEquals(0, at[i] % 64, "slot " + i);
                assertTrue(i == 0 || at[i] >= at[i - 1] + size[i - 1], "slots do not overlap");
            }
            assertArrayEquals("abc".getBytes(), bytes(w, at[0], 3));
            assertArrayEquals(new byte[8], bytes(w, at[1], 8), "an output-only slot is zeroed");
            assertArrayEquals("inout-data-here!".getBytes(), bytes(w, at[2], 16));
            assertArrayEquals(new byte[32], bytes(w, at[3], 32));
            w.data(at[1], 8).fill((byte) 1);
            w.data(at[2], 16).fill((byte) 2);
            w.data(at[3], 32).fill((byte) 3);
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 0, 0, 99); // an input memref's size is not the TA's to change
            w.replyParam(1, 0, 0, 4);
            w.replyParam(2, 0, 0, 16);
            w.replyParam(3, 0, 0, 32);
            return true;
        };
        TeeOperation op = TeeOperation.of(TeeParam.input(MemorySegment.ofArray("abc".getBytes())),
                TeeParam.output(MemorySegment.ofArray(out)), TeeParam.inout(inout),
                TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, shm, 16, 32));
        s.invoke(1, op);
        assertEquals(3, op.size(0));
        assertEquals(4, op.size(1));
        assertArrayEquals(new byte[] {1, 1, 1, 1, 0x77, 0x77, 0x77, 0x77}, out, "4 bytes reported, 4 copied");
        assertArrayEquals(filled(16, 2), inout.toArray(ValueLayout.JAVA_BYTE));
        byte[] mem = shm.segment().toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(filled(16, 0x11), Arrays.copyOfRange(mem, 0, 16));
        assertArrayEquals(filled(32, 3), Arrays.copyOfRange(mem, 16, 48));
        assertArrayEquals(filled(80, 0x11), Arrays.copyOfRange(mem, 48, 128));

        TeeSharedMemory in = ctx.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        in.segment().fill((byte) 9);
        ta = (w, seq) -> {
            assertEquals(TeeWire.types(7, 5, TeeWire.NONE, 5), w.types());
            assertEquals(128, w.paramC(0));
            assertEquals(64, w.paramC(1));
            assertArrayEquals(filled(8, 9), bytes(w, w.paramA(1) + 8, 8));
            assertEquals(TeeLane.NULL_MEMREF, w.paramA(3));
            assertEquals(4096, w.paramC(3));
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 0, 0, 128);
            return true;
        };
        s.invoke(2, TeeOperation.of(TeeParam.whole(shm), TeeParam.whole(in), null,
                new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_INPUT, null, 4096)));
        assertEquals(0, ringInvokes.get());
    }

    @Test
    void anOverReportSetsTheSizeButCopiesOnlyTheWindow() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        TeeSharedMemory shm = ctx.allocateSharedMemory(64, TeeSharedMemory.OUTPUT);
        byte[] buf = new byte[16];
        ta = (w, seq) -> {
            w.data(w.paramA(0), 8).fill((byte) 0x55);
            w.data(w.paramA(1), 8).fill((byte) 0x66);
            // Past each window: the lane holds more, which the TA may write; none of it reaches the caller.
            w.data(w.paramA(0) + 8, 56).fill((byte) 0x55);
            w.data(w.paramA(1) + 8, 56).fill((byte) 0x66);
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 0, 0, 100);
            w.replyParam(1, 0, 0, 40);
            return true;
        };
        TeeOperation op = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(buf).asSlice(0, 8)),
                TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, shm, 16, 8));
        s.invoke(0, op);
        assertEquals(100, op.size(0));
        assertEquals(40, op.size(1));
        assertArrayEquals(new byte[] {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0, 0, 0, 0, 0, 0, 0, 0}, buf);
        byte[] mem = shm.segment().toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(new byte[16], Arrays.copyOfRange(mem, 0, 16));
        assertArrayEquals(filled(8, 0x66), Arrays.copyOfRange(mem, 16, 24));
        assertArrayEquals(new byte[40], Arrays.copyOfRange(mem, 24, 64));

        ta = (w, seq) -> {
            w.data(w.paramA(0), 8).fill((byte) 0x44);
            w.reply(TeeResult.ERROR_SHORT_BUFFER, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 0, 0, 100);
            return true;
        };
        byte[] small = new byte[8];
        TeeOperation shortOp = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(small)));
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, shortOp));
        assertEquals(TeeResult.ERROR_SHORT_BUFFER, e.code());
        assertEquals(TeeResult.ORIGIN_TRUSTED_APP, e.origin());
        assertEquals(100, shortOp.size(0), "the size says how much the TA needs");
        assertArrayEquals(new byte[8], small, "no data comes back unless SUCCESS");
    }

    @Test
    void aReadOnlyOutputIsRefusedBeforeTheLaneIsTouched() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        long before = lane.requestSeq();
        MemorySegment ro = MemorySegment.ofArray(new byte[8]).asReadOnly();
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, TeeOperation.of(TeeParam.output(ro))));
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, e.code());
        assertEquals(TeeResult.ORIGIN_API, e.origin());
        assertEquals(before, lane.requestSeq());
    }

    @Test
    void aClosedLaneAnswersTargetDeadWithoutCalling() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        s.invoke(0);
        long before = lane.requestSeq();
        lane.markClosed();
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0));
        assertEquals(TeeResult.ERROR_TARGET_DEAD, e.code());
        assertEquals(TeeResult.ORIGIN_TEE, e.origin());
        assertEquals(before, lane.requestSeq(), "nothing was published");
        assertEquals(0, ringInvokes.get());
    }

    @Test
    void anInstanceThatDiesDuringACallAnswersTargetDead() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 1234, 0, 0);
            return true;
        };
        TeeOperation first = TeeOperation.of(TeeParam.valueOutput());
        s.invoke(0, first);
        assertEquals(1234, first.value(0).a());
        // As the host does for a dead instance: CLOSED, then ret and origin only, then the reply's number.
        ta = (w, seq) -> {
            w.markClosed();
            w.reply(TeeResult.ERROR_TARGET_DEAD, TeeResult.ORIGIN_TEE, 0);
            return true;
        };
        TeeOperation op = TeeOperation.of(TeeParam.valueInout(7, 8));
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, op));
        assertEquals(TeeResult.ERROR_TARGET_DEAD, e.code());
        assertEquals(TeeResult.ORIGIN_TEE, e.origin());
        assertEquals(7, op.value(0).a(), "the host's answer carries no parameters");
    }

    @Test
    void aLaneClosedWithoutAReplyDoesNotHangTheCall() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            Thread.sleep(20); // past the yields: the caller sleeps on the futex
            w.markClosed();
            return false;
        };
        TeeException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TeeException.class, () -> s.invoke(0)));
        assertEquals(TeeResult.ERROR_TARGET_DEAD, e.code());
    }

    @Test
    void aSlowReplyWakesTheSleepingCaller() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            Thread.sleep(30);
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, 77, 0, 0);
            return true;
        };
        TeeOperation op = TeeOperation.of(TeeParam.valueOutput());
        s.invoke(0, op);
        assertEquals(77, op.value(0).a());
    }

    @Test
    void aCancelDuringADirectCallWritesItsNumberToCancelSeq() throws Exception {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        CountDownLatch running = new CountDownLatch(1);
        ta = (w, seq) -> {
            running.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (w.cancelSeq() != seq && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            boolean cancelled = w.cancelSeq() == seq;
            w.reply(cancelled ? TeeResult.ERROR_CANCEL : TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            return true;
        };
        TeeOperation op = new TeeOperation();
        Thread canceller = Thread.ofPlatform().start(() -> {
            try {
                running.await();
                op.cancel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, op));
        canceller.join();
        assertEquals(TeeResult.ERROR_CANCEL, e.code());
        assertEquals(lane.requestSeq(), lane.cancelSeq());

        long cancelSeq = lane.cancelSeq();
        op.cancel(); // after the call returned: no effect, also not on the next call
        assertEquals(cancelSeq, lane.cancelSeq());
        ta = (w, seq) -> {
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            return true;
        };
        s.invoke(0, op);
        assertEquals(cancelSeq, lane.cancelSeq());
    }

    @Test
    void anOperationCancelledBeforeItsFirstUseAnswersCancelAtOnce() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        long before = lane.requestSeq();
        TeeOperation op = TeeOperation.of(TeeParam.valueInput(1, 2));
        op.cancel();
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, op));
        assertEquals(TeeResult.ERROR_CANCEL, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
        assertEquals(before, lane.requestSeq(), "nothing was published");
        s.invoke(0, op); // GP: the cancel was spent on that call
        assertEquals(before + 1, lane.requestSeq());
    }

    @Test
    void aCallWhoseMemrefsDoNotFitGoesThroughTheRing() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        long before = lane.requestSeq();
        s.invoke(0, TeeOperation.of(TeeParam.input(MemorySegment.ofArray(new byte[100 * 1024]))));
        assertEquals(1, ringInvokes.get());
        // Each fits the lane's 60 KiB data area, not both together.
        s.invoke(0, TeeOperation.of(TeeParam.input(MemorySegment.ofArray(new byte[40 * 1024])),
                TeeParam.output(MemorySegment.ofArray(new byte[40 * 1024]))));
        assertEquals(2, ringInvokes.get());
        // A null memref over 1 MiB: the host's answer to it is the ring's to give.
        s.invoke(0, TeeOperation.of(new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, null, (1 << 20) + 1)));
        assertEquals(3, ringInvokes.get());
        assertEquals(before, lane.requestSeq());
        s.invoke(0, TeeOperation.of(TeeParam.input(MemorySegment.ofArray(new byte[60 * 1024]))));
        assertEquals(3, ringInvokes.get(), "exactly the data area fits");
        assertEquals(before + 1, lane.requestSeq());
        assertTrue(s.direct());
    }

    @Test
    void aRefusalKeepsTheRingAndNotSupportedIsRememberedPerTa() {
        directAnswer = TeeResult.ERROR_NOT_SUPPORTED;
        TeeContext ctx = TeeContext.initialize(null, transport);
        UUID uuid = UUID.randomUUID();
        TeeSession s = ctx.openSession(uuid);
        assertFalse(s.direct());
        assertEquals(1, count(Op.TEE_DIRECT.name()));
        assertEquals(1, count("free "), "the offered block went back to the heap");
        s.invoke(0);
        assertEquals(1, ringInvokes.get());
        ctx.openSession(uuid);
        TeeContext.initialize(null, transport).openSession(uuid);
        assertEquals(1, count(Op.TEE_DIRECT.name()), "not asked again on this transport");
        ctx.openSession(UUID.randomUUID());
        assertEquals(2, count(Op.TEE_DIRECT.name()), "another TA may be allowed one");

        directAnswer = TeeResult.ERROR_BAD_PARAMETERS;
        UUID other = UUID.randomUUID();
        ctx.openSession(other);
        ctx.openSession(other);
        assertEquals(4, count(Op.TEE_DIRECT.name()), "only NOT_SUPPORTED is remembered");
    }

    @Test
    void directLanesCanBeTurnedOffAndNeedASharedHeap() {
        System.setProperty("ferry.tee.direct", "false");
        TeeContext ctx = TeeContext.initialize(null, transport);
        assertFalse(ctx.openSession(UUID.randomUUID()).direct());
        System.clearProperty("ferry.tee.direct");
        sharesHeap = false;
        assertFalse(ctx.openSession(UUID.randomUUID()).direct());
        assertEquals(0, count(Op.TEE_DIRECT.name()));
        sharesHeap = true;
        assertTrue(ctx.openSession(UUID.randomUUID()).direct());
    }

    @Test
    void closeClosesThroughTheHostThenFreesTheLane() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        s.invoke(0);
        log.clear();
        s.close();
        assertEquals(Op.TEE_CLOSE_SESSION.name(), log.get(0));
        assertTrue(log.get(1).startsWith("free ") && log.get(1).endsWith("+" + TeeLane.DIRECT_LANE_BYTES), log.toString());
        assertFalse(s.direct());
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0));
        assertEquals(TeeResult.ERROR_BAD_STATE, e.code());
        s.close();
        assertEquals(2, log.size(), "a second close does nothing");

        TeeSession t = open(ctx);
        log.clear();
        ctx.close();
        assertEquals(Op.TEE_CLOSE_SESSION.name(), log.get(0));
        assertNotNull(log.stream().filter(l -> l.endsWith("+" + TeeLane.DIRECT_LANE_BYTES)).findFirst().orElse(null));
        assertFalse(t.direct());
    }

    @Test
    void aHostThatDiesDuringACallFailsItWithCommunicationAndTheLaneIsNotReused() throws Exception {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> false; // never answers
        Thread killer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            alive = false;
        });
        TeeException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TeeException.class, () -> s.invoke(0)));
        killer.join();
        assertEquals(TeeResult.ERROR_COMMUNICATION, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
        assertFalse(s.direct());
        alive = true;
        long seq = lane.requestSeq();
        s.invoke(0);
        assertEquals(1, ringInvokes.get());
        assertEquals(seq, lane.requestSeq());

        alive = false;
        log.clear();
        s.close();
        assertFalse(log.stream().anyMatch(l -> l.startsWith("free ")), "a lane the host may not have detached is kept");
    }

    @Test
    void aConnectionClosedDuringACallFailsItWithCommunication() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            open = false;
            return false;
        };
        TeeException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TeeException.class, () -> s.invoke(0)));
        assertEquals(TeeResult.ERROR_COMMUNICATION, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
    }

    @Test
    void callersOnOneLaneTakeTurns() throws Exception {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = open(ctx);
        ta = (w, seq) -> {
            long in = w.paramA(0);
            w.data(w.paramA(1), 8).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, in * 3);
            w.reply(TeeResult.SUCCESS, TeeResult.ORIGIN_TRUSTED_APP, 0);
            w.replyParam(0, in + 1, 0, 0);
            w.replyParam(1, 0, 0, 8);
            return true;
        };
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 1000;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 200; i++) {
                        MemorySegment out = Arena.ofAuto().allocate(8);
                        TeeOperation op = TeeOperation.of(TeeParam.valueInout(base + i, 0), TeeParam.output(out));
                        s.invoke(0, op);
                        assertEquals(base + i + 1, op.value(0).a());
                        assertEquals(3L * (base + i), out.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(failures.isEmpty(), failures.toString());
        assertEquals(800, lane.requestSeq());
        assertEquals(0, ringInvokes.get());
    }

    long count(String prefix) {
        synchronized (log) {
            return log.stream().filter(l -> l.startsWith(prefix)).count();
        }
    }

    static byte[] filled(int n, int b) {
        byte[] a = new byte[n];
        Arrays.fill(a, (byte) b);
        return a;
    }
}
