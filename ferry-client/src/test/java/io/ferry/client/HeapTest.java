package io.ferry.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class HeapTest {
    private static final long MiB = 1 << 20;

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
            long at = inFlight.offset();
            long pin = heap.pin(at + 100); // a one-way read into the block is on its way
            inFlight.close();
            try (HeapBlock other = heap.allocate(1 << 15)) {
                assertNotEquals(at, other.offset());
            }
            assertThrows(FerryException.class, () -> heap.allocate(1 << 16));
            heap.unpin(pin); // the queue finished
            try (HeapBlock all = heap.allocate(1 << 16)) {
                assertEquals(0, all.offset());
            }
        }
    }

    @Test
    void closingABlockThatATransferStillUsesClosesItsSegmentAtOnce() {
        try (Arena arena = Arena.ofConfined()) {
            Heap heap = new Heap(arena.allocate(1 << 16, 4096));
            HeapBlock inFlight = heap.allocate(1 << 15);
            MemorySegment s = inFlight.segment();
            long pin = heap.pin(inFlight.offset());
            inFlight.close();
            assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(1 << 15, heap.usedBytes()); // the space waits for the transfer
            heap.unpin(pin);
            assertEquals(0, heap.usedBytes());
        }
    }

    @Test
    void blocksAreAlignedForTheirSize() {
        try (Arena arena = Arena.ofConfined()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            try (HeapBlock small = heap.allocate(10);
                 HeapBlock large = heap.allocate(64 * 1024)) {
                assertEquals(0, small.offset() % 64);
                assertEquals(0, large.offset() % 4096);
            }
        }
    }

    @Test
    void usingTheSegmentOfAClosedBlockOrASliceOfItThrows() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            HeapBlock block = heap.allocate(4096);
            MemorySegment s = block.segment();
            MemorySegment slice = s.asSlice(128, 64);
            s.set(ValueLayout.JAVA_INT, 0, 42);
            block.close();
            assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_INT, 0));
            assertThrows(IllegalStateException.class, () -> slice.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            assertThrows(IllegalStateException.class, () -> MemorySegment.copy(s, 0, MemorySegment.ofArray(new byte[8]), 0, 8));
            assertThrows(IllegalStateException.class, block::offset);
            block.close(); // closing again does nothing
        }
    }

    @Test
    void theHeapFindsScopedSegmentsByAddressAndRefusesOnesOfClosedBlocks() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            HeapBlock block = heap.allocate(4096);
            long at = block.offset();
            MemorySegment slice = block.segment().asSlice(64, 128);
            assertEquals(at, heap.offsetOf(block.segment()));
            assertEquals(at + 64, heap.offsetOf(slice));
            assertEquals(-1, heap.offsetOf(arena.allocate(64)));
            block.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.offsetOf(slice));
            assertTrue(e.getMessage().contains("closed heap block"), e.getMessage());
        }
    }

    @Test
    void stagingBlocksAreOrdinaryBlocksWithoutAScopeOfTheirOwn() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            HeapBlock staging = heap.allocateStaging(1000);
            assertEquals(staging.offset(), heap.offsetOf(staging.segment()));
            assertEquals(1024, heap.usedBytes());
            staging.close();
            assertEquals(0, heap.usedBytes());
            assertThrows(IllegalStateException.class, staging::offset);
        }
    }

    @Test
    void aRequestLargerThanTheWholeHeapSaysItCanNeverFitAndDoesNotBlameFragmentation() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(64 * MiB, 4096));
            FerryException e = assertThrows(FerryException.class, () -> heap.allocate(128 * MiB));
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            String m = e.getMessage();
            assertTrue(m.contains("the heap is 64 MiB, so a block of 128 MiB can never fit"), m);
            assertTrue(m.contains("CommandQueue.write"), m);
            assertTrue(m.contains("--region-size 256MiB"), m);
            assertFalse(m.contains("fragment"), m);
        }
    }

    @Test
    void aRequestLargerThanTheFreeSpaceNamesWhatIsUsedAndFree() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(4 * MiB, 4096));
            HeapBlock a = heap.allocate(3 * MiB);
            FerryException e = assertThrows(FerryException.class, () -> heap.allocate(2 * MiB));
            String m = e.getMessage();
            assertTrue(m.contains("heap allocation of 2 MiB"), m);
            assertTrue(m.contains("exhausted: 3 MiB of the 4 MiB heap in use in 1 blocks"), m);
            assertTrue(m.contains("1 MiB free"), m);
            assertFalse(m.contains("fragment"), m);
            a.close();
        }
    }

    @Test
    void aRequestThatFitsTheFreeSpaceButNoFreeRangeSaysFragmentedWithTheLargestRange() {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(4 * MiB, 4096));
            List<HeapBlock> blocks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                blocks.add(heap.allocate(MiB));
            }
            blocks.get(0).close();
            blocks.get(2).close(); // free: two ranges of 1 MiB, 2 MiB in all
            FerryException e = assertThrows(FerryException.class, () -> heap.allocate(2 * MiB));
            String m = e.getMessage();
            assertTrue(m.contains("2 MiB free but fragmented: the largest free range is 1 MiB"), m);
            assertFalse(m.contains("can never fit"), m);
            blocks.forEach(HeapBlock::close);
        }
    }

    @Test
    void anUnreachableUnclosedBlockIsFreedByTheCleanerAndWarnedAboutOnce() throws InterruptedException {
        Logger log = Logger.getLogger("io.ferry.client");
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                if (r.getMessage().contains("HeapBlock")) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            for (int i = 0; i < 100; i++) {
                heap.allocate(4096).segment().set(ValueLayout.JAVA_INT, 0, i); // never closed
            }
            for (int tries = 0; tries < 200 && heap.usedBytes() > 0; tries++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, heap.usedBytes());
            synchronized (capture) {
                assertEquals(1, records.size(), records.toString());
                String m = records.getFirst().getMessage();
                assertTrue(m.startsWith("a HeapBlock (heap offset"), m);
                assertTrue(m.contains("was not closed; Ferry released it when it became unreachable"), m);
                assertTrue(m.contains("docs/client.md#lifetimes"), m);
            }
        } finally {
            log.removeHandler(capture);
        }
    }

    @Test
    void aBlockWhoseSegmentIsStillReachableIsNotFreedUntilTheSegmentIsDroppedToo() throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            Heap heap = new Heap(arena.allocate(1 << 20, 4096));
            MemorySegment kept = heap.allocate(4096).segment().asSlice(0, 16); // the block itself is dropped
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(4096, heap.usedBytes());
            kept.set(ValueLayout.JAVA_LONG, 0, 7L);
            assertEquals(7L, kept.get(ValueLayout.JAVA_LONG, 0));
            kept = null;
            for (int tries = 0; tries < 200 && heap.usedBytes() > 0; tries++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, heap.usedBytes());
        }
    }
}
