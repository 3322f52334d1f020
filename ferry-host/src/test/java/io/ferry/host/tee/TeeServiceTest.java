package io.ferry.host.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.session.CallException;
import io.ferry.host.session.SessionContext;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import io.ferry.protocol.Wire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The TEE mediator against a scripted backend: validation, limits, policy, write-back. */
class TeeServiceTest {
    static final UUID TA = UUID.fromString("11111111-2222-3333-4444-555555555555");
    static final long HEAP = 4 << 20;

    final MemorySegment heap = Arena.ofAuto().allocate(HEAP, 4096);
    byte[] reply;
    final FakeBackend backend = new FakeBackend();
    TeePolicy policy = TeePolicy.of(List.of(new TeePolicy.Rule("g", TA, 0b111, 0, 10, List.of(7L))));
    final long[] results = new long[4];

    final SessionContext ctx = new SessionContext() {
        @Override
        public String guest() {
            return "g";
        }

        @Override
        public long sessionId() {
            return 1;
        }

        @Override
        public MemorySegment heap() {
            return heap;
        }

        @Override
        public void replyBytes(byte[] bytes) {
            reply = bytes;
        }
    };

    /** Answers every invoke by letting a script fill the params. */
    static final class FakeBackend implements TeeBackend {
        interface Script {
            int run(TeeParams p);
        }

        Script script = p -> 0;
        int threads = 1;
        volatile int calls;
        UUID lastClient;
        String lastGuest;
        final List<MemorySegment> seen = new ArrayList<>();

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public int threads() {
            return threads;
        }

        @Override
        public TeeReturn openSession(String guest, UUID ta, int login, UUID client, TeeParams params,
                                     TeeCancellation cancel) {
            lastGuest = guest;
            lastClient = client;
            return new TeeReturn(0, TeeWire.ORIGIN_TRUSTED_APP, 99);
        }

        @Override
        public TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel) {
            calls++;
            for (int i = 0; i < 4; i++) {
                if (params.buffer(i) != null) {
                    seen.add(params.buffer(i));
                }
            }
            return TeeReturn.of(script.run(params), TeeWire.ORIGIN_TRUSTED_APP);
        }

        @Override
        public void closeSession(long session) {
        }

        @Override
        public void close() {
        }
    }

    TeeService service() {
        return new TeeService(ctx, backend, policy, TeeLimits.DEFAULT, new Semaphore(1));
    }

    static MemorySegment record(Op op, byte[] blob, long... args) {
        int len = Wire.callLength(op, blob == null ? 0 : blob.length);
        MemorySegment rec = Arena.ofAuto().allocate(len, 8);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, Wire.LENGTH_OFFSET, len);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, Wire.OP_OFFSET, op.code());
        Wire.putCallHeader(rec, 0, 1, Wire.FLAG_REPLY, blob == null ? 0 : blob.length);
        for (int i = 0; i < args.length; i++) {
            Wire.putArg(rec, 0, i, args[i]);
        }
        if (blob != null) {
            MemorySegment.copy(blob, 0, rec, ValueLayout.JAVA_BYTE, op.fixedLength(), blob.length);
        }
        return rec;
    }

    static byte[] block(int types, long[][] fields) {
        MemorySegment b = MemorySegment.ofArray(new byte[TeeWire.BLOCK_LENGTH]);
        TeeWire.blockTypes(b, types);
        for (int i = 0; i < fields.length; i++) {
            TeeWire.field(b, i, TeeWire.A, fields[i][0]);
            TeeWire.field(b, i, TeeWire.B, fields[i][1]);
            TeeWire.field(b, i, TeeWire.C, fields[i][2]);
        }
        return b.toArray(ValueLayout.JAVA_BYTE);
    }

    void open(TeeService s, long handle, int login, long gid) throws CallException {
        s.call(Op.TEE_OPEN_SESSION, record(Op.TEE_OPEN_SESSION, block(0, new long[0][]), handle,
                TA.getMostSignificantBits(), TA.getLeastSignificantBits(), login, gid, -1), results, ctx);
    }

    void invoke(TeeService s, long command, int types, long[]... fields) throws CallException {
        s.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(types, fields), 1, command, -1), results, ctx);
    }

    @Test
    void unknownParameterTypeIsBadParametersFromComms() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        invoke(s, 0, 0x4);
        assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0]);
        assertEquals(TeeWire.ORIGIN_COMMS, results[1]);
        assertEquals(0, backend.calls);
    }

    @Test
    void memrefsOutsideTheHeapAreRefusedBeforeTheBackend() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {HEAP - 10, 0, 11});
        assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0]);
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {Long.MAX_VALUE - 4, 0, 16});
        assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0]);
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {0, 0, -1});
        assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0]);
        assertEquals(0, backend.calls);
    }

    @Test
    void aHugeNullMemrefIsRefusedNotWrappedToANegativePageCount() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        // 10d: (0 + size + 4095) / 4096 overflowed for these sizes and let the memref through.
        for (long size : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 4094, Long.MAX_VALUE - 4096, 256 * 4096 + 1}) {
            invoke(s, 0, TeeWire.MEMREF_TEMP_OUTPUT, new long[] {TeeWire.NULL_MEMREF, 0, size});
            assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0], "null memref of " + size + " bytes");
            assertEquals(TeeWire.ORIGIN_COMMS, results[1]);
        }
        assertEquals(0, backend.calls);
        invoke(s, 0, TeeWire.MEMREF_TEMP_OUTPUT, new long[] {TeeWire.NULL_MEMREF, 0, 256 * 4096});
        assertEquals(0, (int) results[0], "a null memref of exactly the limit passes");
    }

    /** Issue 20, item 11: the limit is 1 MiB of data at any offset, though 1 MiB from offset 64 spans 257 pages. */
    @Test
    void item11_oneMiBAtAnyHeapOffsetIsWithinTheLimitOneByteMoreIsNot() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        long mib = 1 << 20;
        assertEquals(257, TeeLimits.pages(64, mib));
        s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 5, 64, mib, 1), results, ctx);
        assertEquals(0, (int) results[0], "1 MiB registered at offset 64");
        s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 6, 64, mib + 1, 1), results, ctx);
        assertEquals(TeeWire.ERROR_OUT_OF_MEMORY, (int) results[0], "1 MiB + 1");
        assertEquals(TeeWire.ORIGIN_COMMS, results[1]);
        invoke(s, 0, TeeWire.MEMREF_WHOLE, new long[] {5, 0, 0});
        assertEquals(0, (int) results[0], "the registration as a whole memref");
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {4096 + 64, 0, mib});
        assertEquals(0, (int) results[0], "1 MiB temporary memref at an unaligned offset");
        assertEquals(mib, backend.seen.getLast().byteSize());
        int calls = backend.calls;
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {4096 + 64, 0, mib + 1});
        assertEquals(TeeWire.ERROR_EXCESS_DATA, (int) results[0]);
        assertEquals(calls, backend.calls, "refused before the backend");
        // Page accounting stays bounded: registrations of 1 MiB at offset 64 count 257 pages each.
        TeeService t = new TeeService(ctx, backend, policy, new TeeLimits(64, 16, mib, 3 * 257), new Semaphore(1));
        for (int i = 1; i <= 3; i++) {
            t.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, i, 64, mib, 1), results, ctx);
            assertEquals(0, (int) results[0]);
        }
        t.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 4, 0, 4096, 1), results, ctx);
        assertEquals(TeeWire.ERROR_OUT_OF_MEMORY, (int) results[0], "over the total pages");
        t.call(Op.TEE_SHM_RELEASE, record(Op.TEE_SHM_RELEASE, null, 1), results, ctx);
        t.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 4, 0, 4096, 1), results, ctx);
        assertEquals(0, (int) results[0], "a release returns its pages");
    }

    SessionContext ctx(String guest, long id) {
        return new SessionContext() {
            @Override
            public String guest() {
                return guest;
            }

            @Override
            public long sessionId() {
                return id;
            }

            @Override
            public MemorySegment heap() {
                return heap;
            }

            @Override
            public void replyBytes(byte[] bytes) {
            }
        };
    }

    @Test
    void oneGuestCannotHoldEveryTeeThreadAnotherGuestStillGetsOne() throws Exception {
        backend.threads = 2;
        java.util.concurrent.CountDownLatch inCall = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        backend.script = p -> {
            if (p.a(0) == 1) { // the hanging call
                inCall.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return 0;
        };
        long saved = TeeService.busyWaitMillis;
        TeeService.busyWaitMillis = 200;
        TeeServiceFactory f = new TeeServiceFactory(backend, TeePolicy.of(List.of(
                new TeePolicy.Rule("g", TA, 0b111, 0, 10, List.of()), new TeePolicy.Rule("h", TA, 0b111, 0, 10, List.of()))),
                TeeLimits.DEFAULT);
        try {
            TeeService g1 = (TeeService) f.open(ctx("g", 1));
            TeeService g2 = (TeeService) f.open(ctx("g", 2));
            TeeService h = (TeeService) f.open(ctx("h", 3));
            long[] r1 = new long[4];
            long[] r2 = new long[4];
            long[] r3 = new long[4];
            g1.call(Op.TEE_OPEN_SESSION, record(Op.TEE_OPEN_SESSION, block(0, new long[0][]), 1,
                    TA.getMostSignificantBits(), TA.getLeastSignificantBits(), 0, 0, -1), r1, ctx("g", 1));
            g2.call(Op.TEE_OPEN_SESSION, record(Op.TEE_OPEN_SESSION, block(0, new long[0][]), 1,
                    TA.getMostSignificantBits(), TA.getLeastSignificantBits(), 0, 0, -1), r2, ctx("g", 2));
            h.call(Op.TEE_OPEN_SESSION, record(Op.TEE_OPEN_SESSION, block(0, new long[0][]), 1,
                    TA.getMostSignificantBits(), TA.getLeastSignificantBits(), 0, 0, -1), r3, ctx("h", 3));
            Thread hang = Thread.ofPlatform().start(() -> {
                try {
                    g1.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(TeeWire.VALUE_INPUT, new long[][] {{1, 0, 0}}),
                            1, 0, -1), r1, ctx("g", 1));
                } catch (CallException e) {
                    throw new IllegalStateException(e);
                }
            });
            inCall.await();
            g2.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(TeeWire.VALUE_INPUT, new long[][] {{2, 0, 0}}), 1, 0, -1),
                    r2, ctx("g", 2));
            assertEquals(TeeWire.ERROR_BUSY, (int) r2[0], "g's second call finds g at its cap");
            h.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(TeeWire.VALUE_INPUT, new long[][] {{3, 0, 0}}), 1, 0, -1),
                    r3, ctx("h", 3));
            assertEquals(0, (int) r3[0], "h is served while g's call hangs");
            release.countDown();
            hang.join();
            assertEquals(0, (int) r1[0]);
        } finally {
            release.countDown();
            TeeService.busyWaitMillis = saved;
        }
    }

    @Test
    void theBackendHearsTheSessionsGuestNotAnythingTheGuestSays() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        assertEquals("g", backend.lastGuest);
    }

    @Test
    void theBackendSeesAHostCopyNotGuestMemory() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        heap.set(ValueLayout.JAVA_BYTE, 100, (byte) 5);
        backend.script = p -> {
            heap.set(ValueLayout.JAVA_BYTE, 100, (byte) 9); // the guest changes its memory during the call
            return p.buffer(0).get(ValueLayout.JAVA_BYTE, 0) == 5 ? 0 : 1;
        };
        invoke(s, 0, TeeWire.MEMREF_TEMP_INPUT, new long[] {100, 0, 1});
        assertEquals(0, (int) results[0]);
        assertTrue(backend.seen.stream().noneMatch(m -> m.address() == heap.address() + 100));
    }

    @Test
    void outputSizeIsWrittenBackOnShortBufferAndNoDataBeyondTheBuffer() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        heap.asSlice(200, 32).fill((byte) 0);
        backend.script = p -> {
            p.buffer(0).fill((byte) 7);
            p.setSize(0, 64);
            return TeeWire.ERROR_SHORT_BUFFER;
        };
        invoke(s, 0, TeeWire.MEMREF_TEMP_OUTPUT, new long[] {200, 0, 16});
        assertEquals(TeeWire.ERROR_SHORT_BUFFER, (int) results[0]);
        assertEquals(64, TeeWire.field(MemorySegment.ofArray(reply), 0, TeeWire.C));
        assertEquals(0, heap.get(ValueLayout.JAVA_BYTE, 216));
        backend.script = p -> {
            p.buffer(0).fill((byte) 7);
            p.setSize(0, 1000);
            return 0;
        };
        invoke(s, 0, TeeWire.MEMREF_TEMP_OUTPUT, new long[] {200, 0, 16});
        assertEquals(7, heap.get(ValueLayout.JAVA_BYTE, 215));
        assertEquals(0, heap.get(ValueLayout.JAVA_BYTE, 216), "copy-back stops at the buffer's end");
    }

    @Test
    void policyDeniesOpenAndCommandsOutsideTheRangeWithAnAuditLine() throws Exception {
        List<String> lines = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger("ferry.audit").addHandler(h);
        try {
            policy = TeePolicy.denyAll();
            TeeService denied = service();
            open(denied, 1, 0, 0);
            assertEquals(TeeWire.ERROR_ACCESS_DENIED, (int) results[0]);
            policy = TeePolicy.of(List.of(new TeePolicy.Rule("g", TA, 1, 0, 10, List.of())));
            TeeService s = service();
            open(s, 1, 0, 0);
            invoke(s, 11, 0);
            assertEquals(TeeWire.ERROR_ACCESS_DENIED, (int) results[0]);
            assertEquals(2, lines.size(), "audit: " + lines);
            assertTrue(lines.get(1).contains("command=11"));
        } finally {
            Logger.getLogger("ferry.audit").removeHandler(h);
        }
    }

    @Test
    void loginsResolveToHostVouchedIdentities() throws Exception {
        TeeService s = service();
        open(s, 1, TeeWire.LOGIN_USER, 0);
        assertEquals(TeeWire.uuidV5(TeeWire.LOGIN_NAMESPACE, "guest=g"), backend.lastClient);
        open(s, 2, TeeWire.LOGIN_GROUP, 8);
        assertEquals(TeeWire.ERROR_ACCESS_DENIED, (int) results[0], "gid 8 is not granted");
        open(s, 3, TeeWire.LOGIN_APPLICATION, 0);
        assertEquals(TeeWire.ERROR_NOT_SUPPORTED, (int) results[0]);
    }

    @Test
    void sharedMemoryRegistrationsAreLimitedLikeXens() throws Exception {
        TeeService s = service();
        for (int i = 1; i <= 16; i++) {
            s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, i, 4096L * i, 4096, 1), results, ctx);
            assertEquals(0, (int) results[0]);
        }
        s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 17, 0, 4096, 1), results, ctx);
        assertEquals(TeeWire.ERROR_OUT_OF_MEMORY, (int) results[0]);
        assertEquals(TeeWire.ORIGIN_COMMS, results[1]);
        s.call(Op.TEE_SHM_RELEASE, record(Op.TEE_SHM_RELEASE, null, 1), results, ctx);
        s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 18, 0, 257 * 4096, 1), results, ctx);
        assertEquals(TeeWire.ERROR_OUT_OF_MEMORY, (int) results[0], "more pages than one buffer may span");
        s.call(Op.TEE_SHM_REGISTER, record(Op.TEE_SHM_REGISTER, null, 19, 0, 64, 4), results, ctx);
        assertEquals(TeeWire.ERROR_BAD_PARAMETERS, (int) results[0], "unknown flag");
    }

    @Test
    void aCancelRequestedBeforeTheCallAnswersCancel() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        heap.set(ValueLayout.JAVA_LONG, 512, 1L);
        s.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(0, new long[0][]), 1, 0, 512), results, ctx);
        assertEquals(TeeWire.ERROR_CANCEL, (int) results[0]);
        assertEquals(0, backend.calls);
    }

    @Test
    void reusedAndUnknownHandlesAreFerryErrors() throws Exception {
        TeeService s = service();
        open(s, 1, 0, 0);
        assertEquals(Status.HANDLE_IN_USE, assertThrows(CallException.class, () -> open(s, 1, 0, 0)).status());
        assertEquals(Status.UNKNOWN_HANDLE, assertThrows(CallException.class, () ->
                s.call(Op.TEE_INVOKE, record(Op.TEE_INVOKE, block(0, new long[0][]), 5, 0, -1), results, ctx)).status());
    }
}
