package io.ferry.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

class HeapTest {

    @Test
    void freedSpaceIsReusedAndCoalesced() {
        try (Arena arena = Arena.ofConfined()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            HeapBlock a = heap.allocate(1000);
            HeapBlock b = heap.allocate(1000);
            long first = a.offset();
            a.close();
            b.close();
            assertEquals(0, heap.usedBytes());
            try (HeapBlock whole = heap.allocate(1 << 20)) {
                assertEquals(first, whole.offset()); // the two freed blocks and the rest merged again
            }
        }
    }

    @Test
    void aBlockClosedWhileATransferStillUsesItIsNotHandedOutUntilTheTransferIsFinished() {
        try (Arena arena = Arena.ofConfined()) {
            Heap heap = new Heap(arena.allocate(1 << 16, 4096));
            HeapBlock inFlight = heap.allocate(1 << 15);
            long pin = heap.pin(inFlight.offset() + 100); // a one-way read into the block is on its way
            inFlight.close();
            try (HeapBlock other = heap.allocate(1 << 15)) {
                assertNotEquals(inFlight.offset(), other.offset());
            }
            assertThrows(FerryException.class, () -> heap.allocate(1 << 16));
            heap.unpin(pin); // the queue finished
            try (HeapBlock all = heap.allocate(1 << 16)) {
                assertEquals(0, all.offset());
            }
        }
    }

    @Test
    void blocksAreAlignedForTheirSize() {
        try (Arena arena = Arena.ofConfined()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            HeapBlock small = heap.allocate(10);
            HeapBlock large = heap.allocate(64 * 1024);
            assertEquals(0, small.offset() % 64);
            assertEquals(0, large.offset() % 4096);
        }
    }
}
