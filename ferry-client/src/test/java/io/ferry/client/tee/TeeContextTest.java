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
}
