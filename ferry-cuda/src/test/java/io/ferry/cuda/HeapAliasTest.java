package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** A second view of a shared mapping, as a session's further device contexts register it: real mremap, no GPU. */
class HeapAliasTest {
    @Test
    void aViewSharesThePagesAtAnotherAddress() throws IOException {
        Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : null;
        Path file = Files.createTempFile(dir, "ferry-alias", ".heap");
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            MemorySegment region = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4 << 20, arena);
            MemorySegment heap = region.asSlice(1 << 20, 2 << 20); // a lane's slice, as the host hands it
            MemorySegment view = HeapAlias.of(heap);
            try {
                assertNotEquals(heap.address(), view.address());
                assertEquals(heap.byteSize(), view.byteSize());
                heap.set(JAVA_LONG, 4096, 0x0123456789abcdefL);
                assertEquals(0x0123456789abcdefL, view.get(JAVA_LONG, 4096), "written through the heap, read in the view");
                view.set(JAVA_LONG, heap.byteSize() - 8, 42L);
                assertEquals(42L, heap.get(JAVA_LONG, heap.byteSize() - 8), "and the other way");
            } finally {
                HeapAlias.release(view);
            }
            assertEquals(0x0123456789abcdefL, heap.get(JAVA_LONG, 4096), "the heap outlives its view");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void privateMemoryHasNoSecondView() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment anonymous = arena.allocate(1 << 16, 4096);
            assertThrows(IllegalStateException.class, () -> HeapAlias.of(anonymous));
        }
    }
}
