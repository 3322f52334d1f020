package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HeapTrafficTest {
    /** Ops that name a heap offset without moving bytes at the call (HeapTraffic's Javadoc says why). */
    private static final Set<Op> NO_TRAFFIC = Set.of(Op.BUFFER_CREATE, Op.TEE_SHM_REGISTER, Op.TEE_DIRECT);

    @Test
    void everyOpNamingAHeapOffsetIsClassified() {
        for (Op op : Op.values()) {
            boolean named = op.argNames().contains("heap offset");
            if (named && !NO_TRAFFIC.contains(op)) {
                assertTrue(HeapTraffic.hasHeapRanges(op), op + " names a heap offset but HeapTraffic has no range");
            }
            if (!named && op != Op.TEE_OPEN_SESSION && op != Op.TEE_INVOKE) {
                assertFalse(HeapTraffic.hasHeapRanges(op), op + " has a range but names no heap offset");
            }
        }
    }

    private static MemorySegment record(Arena arena, Op op, int blob, long... args) {
        MemorySegment rec = arena.allocate(CallRecord.length(op, blob) + 8L);
        new CallRecord().wrap(rec, 0);
        rec.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, CallRecord.OP_OFFSET, op.code());
        rec.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, CallRecord.BLOB_LENGTH_OFFSET, blob);
        for (int i = 0; i < args.length; i++) {
            rec.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, CallRecord.ARGS_OFFSET + 8L * i, args[i]);
        }
        return rec;
    }

    private static List<HeapTraffic.Range> ranges(MemorySegment rec, HeapTraffic.SharedMemory shm) {
        List<HeapTraffic.Range> out = new ArrayList<>();
        HeapTraffic.ranges(rec, shm, out::add);
        return out;
    }

    @Test
    void argumentRangesAndQueueAndEvent() {
        try (Arena arena = Arena.ofConfined()) {
            // BUFFER_READ: queue, buffer, offset, size, heap offset, event, waits
            MemorySegment read = record(arena, Op.BUFFER_READ, 0, 7, 9, 0, 4096, 8192, 11, 0);
            assertEquals(List.of(new HeapTraffic.Range(8192, 4096, HeapTraffic.Direction.OUT)), ranges(read, null));
            assertEquals(7, HeapTraffic.queue(read));
            assertEquals(11, HeapTraffic.event(read));
            MemorySegment write = record(arena, Op.BUFFER_WRITE, 0, 7, 9, 0, 16, 64, 0, 0);
            assertEquals(List.of(new HeapTraffic.Range(64, 16, HeapTraffic.Direction.IN)), ranges(write, null));
            MemorySegment empty = record(arena, Op.BUFFER_WRITE, 0, 7, 9, 0, 0, 64, 0, 0);
            assertTrue(ranges(empty, null).isEmpty());
            MemorySegment nop = record(arena, Op.NOP, 0, 5);
            assertTrue(ranges(nop, null).isEmpty());
            assertEquals(0, HeapTraffic.queue(nop));
            MemorySegment create = record(arena, Op.BUFFER_CREATE, 0, 1, 2, 4096, 0, 128);
            assertEquals(128, HeapTraffic.heapResident(create));
        }
    }

    @Test
    void teeMemrefsByTypeAndSharedMemoryFlags() {
        try (Arena arena = Arena.ofConfined()) {
            // TEE_INVOKE: session, command, cancel word; blob: parameter block
            MemorySegment rec = record(arena, Op.TEE_INVOKE, TeeWire.BLOCK_LENGTH, 1, 2, -1);
            MemorySegment block = rec.asSlice(CallRecord.HEADER_LENGTH + 8L * 3, TeeWire.BLOCK_LENGTH);
            TeeWire.blockTypes(block, TeeWire.types(TeeWire.MEMREF_TEMP_INPUT, TeeWire.MEMREF_TEMP_INOUT,
                    TeeWire.MEMREF_WHOLE, TeeWire.MEMREF_PARTIAL_OUTPUT));
            TeeWire.field(block, 0, TeeWire.A, 100);
            TeeWire.field(block, 0, TeeWire.C, 10);
            TeeWire.field(block, 1, TeeWire.A, 200);
            TeeWire.field(block, 1, TeeWire.C, 20);
            TeeWire.field(block, 2, TeeWire.A, 5); // shm 5: offset 4096, size 64, input only
            TeeWire.field(block, 3, TeeWire.A, 6); // shm 6: offset 8192, size 100; window [10, 30)
            TeeWire.field(block, 3, TeeWire.B, 10);
            TeeWire.field(block, 3, TeeWire.C, 20);
            HeapTraffic.SharedMemory shm = new HeapTraffic.SharedMemory() {
                public long offset(long h) {
                    return h == 5 ? 4096 : h == 6 ? 8192 : -1;
                }

                public long size(long h) {
                    return h == 5 ? 64 : h == 6 ? 100 : -1;
                }

                public int flags(long h) {
                    return h == 5 ? TeeWire.MEM_INPUT : TeeWire.MEM_INPUT | TeeWire.MEM_OUTPUT;
                }
            };
            assertEquals(List.of(
                    new HeapTraffic.Range(100, 10, HeapTraffic.Direction.IN),
                    new HeapTraffic.Range(200, 20, HeapTraffic.Direction.IN),
                    new HeapTraffic.Range(200, 20, HeapTraffic.Direction.OUT),
                    new HeapTraffic.Range(4096, 64, HeapTraffic.Direction.IN),
                    new HeapTraffic.Range(8202, 20, HeapTraffic.Direction.OUT)), ranges(rec, shm));
            // an unknown shared memory, or a window outside it, moves nothing (the host refuses the call)
            TeeWire.field(block, 3, TeeWire.B, 90);
            assertEquals(4, ranges(rec, shm).size());
            assertEquals(2, ranges(rec, null).size() - 1);
        }
    }

    @Test
    void withinRejectsWhatLiesOutside() {
        assertTrue(new HeapTraffic.Range(0, 10, HeapTraffic.Direction.IN).within(10));
        assertFalse(new HeapTraffic.Range(1, 10, HeapTraffic.Direction.IN).within(10));
        assertFalse(new HeapTraffic.Range(-1, 1, HeapTraffic.Direction.IN).within(10));
        assertFalse(new HeapTraffic.Range(Long.MAX_VALUE, Long.MAX_VALUE, HeapTraffic.Direction.IN).within(10));
        assertFalse(new HeapTraffic.Range(0, 0, HeapTraffic.Direction.IN).within(10));
    }
}
