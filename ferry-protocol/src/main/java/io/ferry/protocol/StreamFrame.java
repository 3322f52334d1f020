package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * PLACEHOLDER on branch net-host until the lead's StreamFrame lands on main (net-spec.md's API); replaced at the
 * merge.
 */
public final class StreamFrame {
    public static final int HEADER_LENGTH = 8;
    public static final int MAX_PAYLOAD = (1 << 20) + 64;
    public static final int MAX_CHUNK = 256 * 1024;
    public static final long OPEN_MAGIC = 0x5445_4e59_5252_4546L;
    public static final int VERSION = 1;
    public static final int HEADER_PAGE = 4096;
    public static final int OPEN = 1, OPENED = 2, CLOSED = 3, RECORD = 4, COMPLETION = 5, HEAP = 6, WORDS = 7,
            FIGURES = 8;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private StreamFrame() {
    }

    public static int length(MemorySegment s, long at) {
        return s.get(INT, at);
    }

    public static int type(MemorySegment s, long at) {
        return s.get(SHORT, at + 4) & 0xffff;
    }

    public static int flags(MemorySegment s, long at) {
        return s.get(SHORT, at + 6) & 0xffff;
    }

    public static String checkHeader(int length, int type, int flags, boolean fromHost) {
        if (length < HEADER_LENGTH || length > HEADER_LENGTH + MAX_PAYLOAD) {
            return "frame length " + Integer.toUnsignedString(length) + " outside 8.." + (HEADER_LENGTH + MAX_PAYLOAD);
        }
        if (flags != 0) {
            return "frame flags " + flags + " must be 0";
        }
        boolean ok = fromHost ? type >= OPENED && type <= FIGURES && type != RECORD
                : type == OPEN || type == CLOSED || type == RECORD || type == HEAP || type == WORDS;
        return ok ? null : "frame type " + type + " is not one the " + (fromHost ? "host" : "client") + " sends";
    }

    public static int putHeader(MemorySegment s, long at, int type, int payloadLength) {
        int length = HEADER_LENGTH + payloadLength;
        s.set(INT, at, length);
        s.set(SHORT, at + 4, (short) type);
        s.set(SHORT, at + 6, (short) 0);
        return length;
    }

    public static int putOpen(MemorySegment s, long at, String guest) {
        byte[] n = guest.getBytes(StandardCharsets.UTF_8);
        int len = putHeader(s, at, OPEN, 16 + n.length);
        s.set(LONG, at + 8, OPEN_MAGIC);
        s.set(INT, at + 16, VERSION);
        s.set(INT, at + 20, 0);
        MemorySegment.copy(n, 0, s, ValueLayout.JAVA_BYTE, at + 24, n.length);
        return len;
    }

    public static int putOpened(MemorySegment s, long at, int lane, MemorySegment headerPage) {
        int len = putHeader(s, at, OPENED, 16 + HEADER_PAGE);
        s.set(INT, at + 8, lane);
        s.set(INT, at + 12, 0);
        s.set(LONG, at + 16, MAX_CHUNK);
        MemorySegment.copy(headerPage, 0, s, at + 24, HEADER_PAGE);
        return len;
    }

    public static int putClosed(MemorySegment s, long at, int status, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        int len = putHeader(s, at, CLOSED, 4 + r.length);
        s.set(INT, at + 8, status);
        MemorySegment.copy(r, 0, s, ValueLayout.JAVA_BYTE, at + 12, r.length);
        return len;
    }

    public static int putHeap(MemorySegment s, long at, long heapOffset, int bytes) {
        putHeader(s, at, HEAP, 8 + bytes);
        s.set(LONG, at + 8, heapOffset);
        return 16;
    }

    public static int putWords(MemorySegment s, long at, long[] offsets, long[] values, int n) {
        int len = putHeader(s, at, WORDS, 16 * n);
        for (int i = 0; i < n; i++) {
            s.set(INT, at + 8 + 16L * i, (int) offsets[i]);
            s.set(INT, at + 12 + 16L * i, 0);
            s.set(LONG, at + 16 + 16L * i, values[i]);
        }
        return len;
    }

    public record Open(String guest) {
    }

    public record Opened(int lane, long chunkLimit, MemorySegment headerPage) {
    }

    public record Closed(int status, String reason) {
    }

    public interface WordSink {
        void word(int offset, long value);
    }

    public static Open parseOpen(MemorySegment p) {
        if (p.byteSize() < 17 || p.byteSize() > 16 + 63) {
            throw new Malformed("OPEN payload of " + p.byteSize() + " bytes");
        }
        if (p.get(LONG, 0) != OPEN_MAGIC) {
            throw new Malformed("OPEN magic");
        }
        if (p.get(INT, 8) != VERSION) {
            throw new Malformed("OPEN version " + p.get(INT, 8));
        }
        return new Open(new String(p.asSlice(16).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
    }

    public static Opened parseOpened(MemorySegment p) {
        if (p.byteSize() != 16 + HEADER_PAGE) {
            throw new Malformed("OPENED payload");
        }
        return new Opened(p.get(INT, 0), p.get(LONG, 8), p.asSlice(16, HEADER_PAGE));
    }

    public static Closed parseClosed(MemorySegment p) {
        if (p.byteSize() < 4) {
            throw new Malformed("CLOSED payload");
        }
        return new Closed(p.get(INT, 0), new String(p.asSlice(4).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
    }

    public static long heapOffset(MemorySegment payload) {
        if (payload.byteSize() < 9) {
            throw new Malformed("HEAP payload");
        }
        return payload.get(LONG, 0);
    }

    public static void forEachWord(MemorySegment payload, WordSink sink) {
        if (payload.byteSize() == 0 || payload.byteSize() % 16 != 0) {
            throw new Malformed("WORDS payload of " + payload.byteSize() + " bytes");
        }
        for (long i = 0; i < payload.byteSize(); i += 16) {
            if (payload.get(INT, i + 4) != 0) {
                throw new Malformed("WORDS reserved");
            }
            sink.word(payload.get(INT, i), payload.get(LONG, i + 8));
        }
    }

    public static final class Malformed extends RuntimeException {
        public Malformed(String reason) {
            super(reason);
        }
    }
}
