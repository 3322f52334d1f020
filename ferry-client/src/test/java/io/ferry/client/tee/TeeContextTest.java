package io.ferry.client.tee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The client API against a scripted transport: what goes on the wire, and what comes back into the operation. */
class TeeContextTest {
    final MemorySegment heap = Arena.ofAuto().allocate(1 << 20, 4096);
    final List<long[]> sent = new ArrayList<>();
    final List<MemorySegment> blocks = new ArrayList<>();
    Function<MemorySegment, TeeTransport.Reply> answer = b -> new TeeTransport.Reply(0, 4, 0, 0, b.toArray(ValueLayout.JAVA_BYTE));
    long next = 0;
    boolean open = true;

    final TeeTransport transport = new TeeTransport() {
        @Override
        public Reply call(Op op, byte[] blob, long... args) {
            sent.add(args);
            if (blob == null) {
                return new Reply(0, 1, 0, 0, new byte[0]);
            }
            MemorySegment b = MemorySegment.ofArray(blob.clone());
            blocks.add(b);
            return answer.apply(b);
        }

        @Override
        public void send(Op op, long... args) {
            sent.add(args);
        }

        @Override
        public HeapMemory allocate(long bytes) {
            if (next + bytes > heap.byteSize()) {
                throw new FerryException(Status.QUOTA_EXCEEDED, "heap exhausted");
            }
            long off = next;
            next += (bytes + 4095) & -4096L;
            MemorySegment seg = heap.asSlice(off, bytes);
            return new HeapMemory() {
                public long offset() {
                    return off;
                }

                public MemorySegment segment() {
                    return seg;
                }

                public void close() {
                }
            };
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public long heapOffset(MemorySegment s) {
            long off = s.address() - heap.address();
            return s.isNative() && off >= 0 && off + s.byteSize() <= heap.byteSize() ? off : -1;
        }
    };

    @Test
    void valuesAndHeapMemrefsTravelAsTheBlockSays() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        MemorySegment inHeap = transport.allocate(64).segment();
        s.invoke(3, TeeOperation.of(TeeParam.valueInput(5, 6), TeeParam.input(inHeap)));
        MemorySegment b = blocks.getLast();
        assertEquals(TeeWire.types(TeeWire.VALUE_INPUT, TeeWire.MEMREF_TEMP_INPUT, 0, 0), TeeWire.blockTypes(b));
        assertEquals(5, TeeWire.field(b, 0, TeeWire.A));
        assertEquals(6, TeeWire.field(b, 0, TeeWire.B));
        assertEquals(transport.heapOffset(inHeap), TeeWire.field(b, 1, TeeWire.A));
        assertEquals(64, TeeWire.field(b, 1, TeeWire.C));
        assertEquals(3, sent.getLast()[1]);
    }

    @Test
    void outputsComeBackIntoTheOperationAndStagedBuffers() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        byte[] out = new byte[4];
        answer = b -> {
            TeeWire.field(b, 0, TeeWire.A, 42);
            long off = TeeWire.field(b, 1, TeeWire.A);
            heap.asSlice(off, 4).copyFrom(MemorySegment.ofArray(new byte[] {1, 2, 3, 4}));
            TeeWire.field(b, 1, TeeWire.C, 3);
            return new TeeTransport.Reply(0, 4, 0, 0, b.toArray(ValueLayout.JAVA_BYTE));
        };
        TeeOperation op = TeeOperation.of(TeeParam.valueOutput(), TeeParam.output(MemorySegment.ofArray(out)));
        s.invoke(0, op);
        assertEquals(42, op.value(0).a());
        assertEquals(3, op.size(1));
        assertArrayEquals(new byte[] {1, 2, 3, 0}, out);
    }

    @Test
    void shortBufferUpdatesTheSizeAndThrowsWithCodeAndOrigin() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        answer = b -> {
            TeeWire.field(b, 0, TeeWire.C, 100);
            return new TeeTransport.Reply(TeeResult.ERROR_SHORT_BUFFER & 0xFFFF_FFFFL, 4, 0, 0,
                    b.toArray(ValueLayout.JAVA_BYTE));
        };
        TeeOperation op = TeeOperation.of(TeeParam.output(MemorySegment.ofArray(new byte[8])));
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, op));
        assertEquals(TeeResult.ERROR_SHORT_BUFFER, e.code());
        assertEquals(TeeResult.ORIGIN_TRUSTED_APP, e.origin());
        assertEquals(100, op.size(0));
    }

    @Test
    void argumentErrorsHaveOriginApi() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        assertEquals(TeeResult.ORIGIN_API, assertThrows(TeeException.class, () -> ctx.allocateSharedMemory(8, 0)).origin());
        TeeException oom = assertThrows(TeeException.class, () -> ctx.allocateSharedMemory(1L << 40, 1));
        assertEquals(TeeResult.ERROR_OUT_OF_MEMORY, oom.code());
        assertEquals(TeeResult.ORIGIN_API, oom.origin());
        TeeSharedMemory in = ctx.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        TeeException dir = assertThrows(TeeException.class, () -> s.invoke(0,
                TeeOperation.of(TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, in, 0, 8))));
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, dir.code());
        assertEquals(TeeResult.ORIGIN_API, dir.origin());
        assertThrows(TeeException.class, () -> s.invoke(0, TeeOperation.of(TeeParam.partial(
                TeeParam.MEMREF_PARTIAL_INPUT, in, 60, 8))));
        assertThrows(TeeException.class, () -> new TeeParam.Value(TeeParam.MEMREF_WHOLE, 0, 0));
    }

    @Test
    void readOnlyMemoryRegistersForInputOnlyAndIsShadowed() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        MemorySegment ro = MemorySegment.ofArray(new byte[] {9, 8, 7}).asReadOnly();
        TeeSharedMemory m = ctx.registerSharedMemory(ro, TeeSharedMemory.INPUT);
        assertTrue(m.shadowed());
        assertThrows(TeeException.class, () -> ctx.registerSharedMemory(ro, TeeSharedMemory.OUTPUT));
        TeeSession s = ctx.openSession(UUID.randomUUID());
        s.invoke(0, TeeOperation.of(TeeParam.whole(m)));
        assertEquals(7, heap.get(ValueLayout.JAVA_BYTE, m.heapOffset() + 2), "input copied into the shadow");
    }

    @Test
    void aTransportFailureIsCommunicationFromComms() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        answer = b -> {
            throw new FerryException(Status.HOST_UNAVAILABLE, "gone");
        };
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0));
        assertEquals(TeeResult.ERROR_COMMUNICATION, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
    }

    @Test
    void aCancelledOperationCarriesItsWordToTheHost() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        TeeOperation op = new TeeOperation();
        op.cancel();
        answer = b -> {
            long word = sent.getLast()[2];
            assertEquals(1L, heap.get(ValueLayout.JAVA_LONG, word));
            return new TeeTransport.Reply(TeeResult.ERROR_CANCEL & 0xFFFF_FFFFL, 2, 0, 0, b.toArray(ValueLayout.JAVA_BYTE));
        };
        assertEquals(TeeResult.ERROR_CANCEL, assertThrows(TeeException.class, () -> s.invoke(0, op)).code());
    }

    // ---- issue 20 ----

    /** Answers SUCCESS after the script {@code fill} has played the host and the TA on the block. */
    void answerSuccess(java.util.function.Consumer<MemorySegment> fill) {
        answer = b -> {
            fill.accept(b);
            return new TeeTransport.Reply(0, 4, 0, 0, b.toArray(ValueLayout.JAVA_BYTE));
        };
    }

    @Test
    void item5_contextsOnOneTransportNeverShareAHandle() {
        TeeContext a = TeeContext.initialize(null, transport);
        TeeContext b = TeeContext.initialize(null, transport);
        a.openSession(UUID.randomUUID());
        b.openSession(UUID.randomUUID());
        a.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        b.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        java.util.Set<Long> handles = new java.util.HashSet<>();
        for (long[] args : sent) {
            assertTrue(handles.add(args[0]), "handle " + args[0] + " used twice");
        }
        sent.clear();
        a.close();
        assertEquals(2, sent.size(), "closing a sends its own session's close and its memory's release only");
        for (long[] args : sent) {
            assertTrue(handles.contains(args[0]));
        }
        b.openSession(UUID.randomUUID()).invoke(0);
    }

    @Test
    void item6_aReadOnlyTempOutputIsRefusedBeforeAnythingIsSent() {
        TeeSession s = TeeContext.initialize(null, transport).openSession(UUID.randomUUID());
        sent.clear();
        MemorySegment ro = MemorySegment.ofArray(new byte[8]).asReadOnly();
        for (int type : new int[] {TeeParam.MEMREF_TEMP_OUTPUT, TeeParam.MEMREF_TEMP_INOUT}) {
            TeeException e = assertThrows(TeeException.class, () -> s.invoke(0, TeeOperation.of(
                    TeeParam.valueInput(1, 2), new TeeParam.TempMemref(type, ro, 8))));
            assertEquals(TeeResult.ERROR_BAD_PARAMETERS, e.code());
            assertEquals(TeeResult.ORIGIN_API, e.origin());
        }
        assertTrue(sent.isEmpty(), "nothing was sent");
        s.invoke(0, TeeOperation.of(TeeParam.input(ro)));
    }

    @Test
    void item6_anOverReportIntoATempMemrefCopiesOnlyTheMemref() {
        TeeSession s = TeeContext.initialize(null, transport).openSession(UUID.randomUUID());
        answerSuccess(b -> {
            heap.asSlice(TeeWire.field(b, 0, TeeWire.A), 16).fill((byte) 7);
            TeeWire.field(b, 0, TeeWire.C, 116);
        });
        byte[] user = new byte[64];
        TeeOperation op = TeeOperation.of(new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT,
                MemorySegment.ofArray(user), 16));
        s.invoke(0, op);
        assertEquals(116, op.size(0));
        for (int i = 0; i < 64; i++) {
            assertEquals(i < 16 ? 7 : 0, user[i], "byte " + i);
        }
    }

    @Test
    void item6_aClosedConnectionIsCommunicationAndNothingIsTouched() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        TeeSharedMemory m = ctx.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        open = false;
        sent.clear();
        for (Runnable r : List.<Runnable>of(() -> s.invoke(0), () -> ctx.openSession(UUID.randomUUID()),
                () -> ctx.allocateSharedMemory(8, TeeSharedMemory.INPUT),
                () -> ctx.registerSharedMemory(MemorySegment.ofArray(new byte[8]), TeeSharedMemory.INPUT),
                () -> TeeContext.initialize(null, transport))) {
            TeeException e = assertThrows(TeeException.class, r::run);
            assertEquals(TeeResult.ERROR_COMMUNICATION, e.code());
            assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
        }
        m.close();
        s.close();
        ctx.close();
        assertTrue(sent.isEmpty());
    }

    @Test
    void item6_anUnexpectedTransportExceptionIsATeeException() {
        TeeSession s = TeeContext.initialize(null, transport).openSession(UUID.randomUUID());
        answer = b -> {
            throw new IllegalStateException("Already closed");
        };
        TeeException e = assertThrows(TeeException.class, () -> s.invoke(0));
        assertEquals(TeeResult.ORIGIN_API, e.origin());
        open = false;
        assertEquals(TeeResult.ERROR_COMMUNICATION, assertThrows(TeeException.class, () -> s.invoke(0)).code());
    }

    @Test
    void item6_misuseOfTheOperationAndParametersIsATeeException() {
        TeeOperation op = TeeOperation.of(TeeParam.valueInput(1, 2), null);
        List<Runnable> misuse = List.of(() -> op.param(4), () -> op.param(-1, TeeParam.valueOutput()),
                () -> op.size(0), () -> op.value(1), () -> TeeOperation.of(new TeeParam[5]),
                () -> new TeeParam.RegisteredMemref(TeeParam.MEMREF_WHOLE, null, 0, 0), () -> TeeParam.whole(null),
                () -> new TeeParam.TempMemref(TeeParam.VALUE_INPUT, null, 0), () -> TeeContext.bytes(null, 1),
                () -> TeeContext.bytes(MemorySegment.ofArray(new byte[4]), -1),
                () -> TeeContext.initialize("other", transport), () -> TeeContext.initialize(null, null));
        for (Runnable r : misuse) {
            assertThrows(TeeException.class, r::run);
        }
        assertEquals(TeeParam.NONE, op.param(1).type(), "null is NONE");
        TeeContext ctx = TeeContext.initialize(null, transport);
        Arena closed = Arena.ofConfined();
        MemorySegment gone = closed.allocate(8);
        closed.close();
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, assertThrows(TeeException.class,
                () -> ctx.registerSharedMemory(gone, TeeSharedMemory.INPUT)).code());
        TeeSession s = ctx.openSession(UUID.randomUUID());
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, assertThrows(TeeException.class,
                () -> s.invoke(0, TeeOperation.of(TeeParam.input(gone)))).code());
        ctx.close();
        assertEquals(TeeResult.ERROR_BAD_STATE, assertThrows(TeeException.class, () -> s.invoke(0)).code());
        assertEquals(TeeResult.ERROR_BAD_STATE, assertThrows(TeeException.class,
                () -> ctx.openSession(UUID.randomUUID())).code());
    }

    @Test
    void item7_anOverReportCopiesBackOnlyThePartialWindowOfShadowedMemory() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        TeeSession s = ctx.openSession(UUID.randomUUID());
        MemorySegment user = Arena.ofAuto().allocate(4096);
        TeeSharedMemory m = ctx.registerSharedMemory(user, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
        assertTrue(m.shadowed());
        heap.asSlice(m.heapOffset(), 4096).fill((byte) 0x33); // stale shadow
        user.fill((byte) 0x11);
        answerSuccess(b -> {
            assertEquals(100, TeeWire.field(b, 0, TeeWire.B));
            heap.asSlice(m.heapOffset() + 100, 50).fill((byte) 0x7A);
            TeeWire.field(b, 0, TeeWire.C, 1050);
        });
        TeeOperation op = TeeOperation.of(TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, m, 100, 50));
        s.invoke(0, op);
        assertEquals(1050, op.size(0));
        for (int i = 0; i < 4096; i++) {
            assertEquals(i >= 100 && i < 150 ? 0x7A : 0x11, user.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
        assertEquals(0, TeeMarshal.within(-5, 50));
        assertEquals(50, TeeMarshal.within(Long.MAX_VALUE, 50));
        assertEquals(20, TeeMarshal.within(20, 50));
    }

    @Test
    void item8_aCancelAfterTheCallReturnedDoesNotReachTheNextCall() {
        TeeSession s = TeeContext.initialize(null, transport).openSession(UUID.randomUUID());
        List<Long> words = new ArrayList<>();
        answer = b -> {
            long word = heap.get(ValueLayout.JAVA_LONG, sent.getLast()[2]);
            words.add(word);
            return new TeeTransport.Reply(word == 0 ? 0 : TeeResult.ERROR_CANCEL & 0xFFFF_FFFFL, 2, 0, 0,
                    b.toArray(ValueLayout.JAVA_BYTE));
        };
        TeeOperation op = new TeeOperation();
        s.invoke(0, op);
        op.cancel();
        s.invoke(0, op);
        TeeOperation fresh = new TeeOperation();
        fresh.cancel();
        assertEquals(TeeResult.ERROR_CANCEL, assertThrows(TeeException.class, () -> s.invoke(0, fresh)).code());
        assertEquals(List.of(0L, 0L), words.subList(0, 2), "neither call saw a cancel");
        assertEquals(1L, words.get(2), "a cancel before the first call reaches it");
    }

    @Test
    void item9_aNullMemrefsSizeTravelsUnchangedForTheHostToBound() {
        TeeSession s = TeeContext.initialize(null, transport).openSession(UUID.randomUUID());
        s.invoke(0, TeeOperation.of(new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, null, Long.MAX_VALUE)));
        assertEquals(TeeWire.NULL_MEMREF, TeeWire.field(blocks.getLast(), 0, TeeWire.A));
        assertEquals(Long.MAX_VALUE, TeeWire.field(blocks.getLast(), 0, TeeWire.C));
        assertEquals(TeeResult.ERROR_BAD_PARAMETERS, assertThrows(TeeException.class, () -> s.invoke(0,
                TeeOperation.of(new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, null, -1)))).code());
    }

    @Test
    void item10_aHostWithoutTeeForThisGuestIsAccessDeniedOrNotSupportedWithTheWayOut() {
        TeeContext ctx = TeeContext.initialize(null, transport);
        answer = b -> {
            throw new FerryException(Status.NOT_GRANTED, "TEE_OPEN_SESSION: guest 'carol' is not allowed the tee "
                    + "service (the host config lists: [compute])");
        };
        TeeException denied = assertThrows(TeeException.class, () -> ctx.openSession(UUID.randomUUID()));
        assertEquals(TeeResult.ERROR_ACCESS_DENIED, denied.code());
        assertEquals(TeeResult.ORIGIN_COMMS, denied.origin());
        assertTrue(denied.getMessage().contains("services: [compute, tee]"), denied.getMessage());
        answer = b -> {
            throw new FerryException(Status.UNSUPPORTED, "TEE_OPEN_SESSION: this host offers no TEE service");
        };
        TeeException none = assertThrows(TeeException.class, () -> ctx.openSession(UUID.randomUUID()));
        assertEquals(TeeResult.ERROR_NOT_SUPPORTED, none.code());
        assertEquals(TeeResult.ORIGIN_COMMS, none.origin());
        assertTrue(none.getMessage().contains("tee:"), none.getMessage());
    }
}
