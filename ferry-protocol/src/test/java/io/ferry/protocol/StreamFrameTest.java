package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StreamFrameTest {
    private static MemorySegment payload(MemorySegment s) {
        return s.asSlice(StreamFrame.HEADER_LENGTH, StreamFrame.length(s, 0) - StreamFrame.HEADER_LENGTH);
    }

    @Test
    void openRoundTripsAndIsChecked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(512);
            int n = StreamFrame.putOpen(s, 0, "alice", new byte[] {1, 2, 3});
            assertEquals(n, StreamFrame.length(s, 0));
            assertEquals(StreamFrame.OPEN, StreamFrame.type(s, 0));
            assertNull(StreamFrame.checkHeader(n, StreamFrame.OPEN, 0, false));
            assertNotNull(StreamFrame.checkHeader(n, StreamFrame.OPEN, 0, true), "a host never sends OPEN");
            StreamFrame.Open open = StreamFrame.parseOpen(payload(s));
            assertEquals("alice", open.guest());
            assertArrayEquals(new byte[] {1, 2, 3}, open.credential());
            assertEquals(0, StreamFrame.parseOpen(payload(s.asSlice(0, StreamFrame.putOpen(s, 0, "bob"))))
                    .credential().length);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, 42L);
            assertThrows(StreamFrame.Malformed.class, () -> StreamFrame.parseOpen(payload(s)));
        }
    }

    @Test
    void openedClosedHeapWords() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(StreamFrame.HEADER_PAGE);
            page.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1234L);
            MemorySegment s = arena.allocate(8192);
            int n = StreamFrame.putOpened(s, 0, 3, page);
            assertNull(StreamFrame.checkHeader(n, StreamFrame.OPENED, 0, true));
            StreamFrame.Opened opened = StreamFrame.parseOpened(payload(s));
            assertEquals(3, opened.lane());
            assertEquals(0x1234L, opened.headerPage().get(ValueLayout.JAVA_LONG_UNALIGNED, 0));

            n = StreamFrame.putClosed(s, 0, Status.BAD_CREDENTIAL.code(), "no such guest");
            StreamFrame.Closed closed = StreamFrame.parseClosed(payload(s));
            assertEquals(Status.BAD_CREDENTIAL, closed.statusEnum());
            assertEquals("no such guest", closed.reason());

            n = StreamFrame.putHeap(s, 0, 4096, 100);
            assertEquals(StreamFrame.HEADER_LENGTH + 8 + 100, n);
            assertNull(StreamFrame.checkHeader(n, StreamFrame.HEAP, 0, false));
            assertEquals(4096, StreamFrame.heapOffset(payload(s)));

            n = StreamFrame.putWords(s, 0, new long[] {256, 264}, new long[] {7, 8}, 2);
            List<long[]> words = new ArrayList<>();
            StreamFrame.forEachWord(payload(s), (o, v) -> words.add(new long[] {o, v}));
            assertEquals(2, words.size());
            assertEquals(264, words.get(1)[0]);
            assertEquals(8, words.get(1)[1]);
        }
    }

    @Test
    void headerChecksRefuseWhatIsOutOfRule() {
        assertNotNull(StreamFrame.checkHeader(4, StreamFrame.RECORD, 0, false));
        assertNotNull(StreamFrame.checkHeader(-1, StreamFrame.RECORD, 0, false));
        assertNotNull(StreamFrame.checkHeader(StreamFrame.HEADER_LENGTH + StreamFrame.MAX_PAYLOAD + 1,
                StreamFrame.HEAP, 0, false));
        assertNotNull(StreamFrame.checkHeader(64, StreamFrame.RECORD, 1, false));
        assertNotNull(StreamFrame.checkHeader(64, 99, 0, false));
        assertNotNull(StreamFrame.checkHeader(64 + 4, StreamFrame.RECORD, 0, false), "not 8-aligned");
        assertNotNull(StreamFrame.checkHeader(64, StreamFrame.COMPLETION, 0, false), "a guest never sends one");
        assertNull(StreamFrame.checkHeader(64, StreamFrame.RECORD, 0, false));
        assertNotNull(StreamFrame.checkHeader(StreamFrame.HEADER_LENGTH + 8, StreamFrame.HEAP, 0, true), "no bytes");
    }

    /** Seeded: random payloads never make a parser throw anything but Malformed. */
    @Test
    void parsersFailOnlyWithMalformed() {
        SplittableRandom random = new SplittableRandom(16);
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < 20_000; i++) {
                byte[] b = new byte[random.nextInt(0, 80)];
                random.nextBytes(b);
                if (random.nextBoolean() && b.length >= 16) {
                    MemorySegment.ofArray(b).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, StreamFrame.OPEN_MAGIC);
                    MemorySegment.ofArray(b).set(ValueLayout.JAVA_INT_UNALIGNED, 8, StreamFrame.VERSION);
                }
                MemorySegment p = arena.allocate(Math.max(1, b.length)).asSlice(0, b.length);
                MemorySegment.copy(b, 0, p, ValueLayout.JAVA_BYTE, 0, b.length);
                for (Runnable r : List.<Runnable>of(() -> StreamFrame.parseOpen(p), () -> StreamFrame.parseOpened(p),
                        () -> StreamFrame.parseClosed(p), () -> StreamFrame.heapOffset(p),
                        () -> StreamFrame.forEachWord(p, (o, v) -> { }))) {
                    try {
                        r.run();
                    } catch (StreamFrame.Malformed expected) {
                        // the one failure a parser may have
                    }
                }
            }
        }
    }
}
