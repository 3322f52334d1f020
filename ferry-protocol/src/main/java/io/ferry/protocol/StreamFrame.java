package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The frames of Ferry's stream transport (TCP, TLS, vsock; docs/network.md): how one lane of a guest's region is
 * mirrored over a byte stream. All fields little-endian; frames are not padded.
 * <pre>
 *  0        4        6        8
 *  +--------+--------+--------+------------------------------------------+
 *  | length | type   | flags  | payload (length - 8 bytes)               |
 *  | u32    | u16    | u16 = 0|                                          |
 *  +--------+--------+--------+------------------------------------------+
 * </pre>
 * <table>
 * <caption>Frame types</caption>
 * <tr><th>type</th><th>name</th><th>from</th><th>payload</th></tr>
 * <tr><td>1</td><td>OPEN</td><td>guest</td><td>u64 {@link #OPEN_MAGIC}, u32 {@link #VERSION}, u32 0, the guest's
 *     name (UTF-8, 1..63 bytes), then optionally a NUL and a credential (bytes; the vsock socket's secret)</td></tr>
 * <tr><td>2</td><td>OPENED</td><td>host</td><td>u32 lane, u32 0, u64 heap chunk limit, the region's
 *     {@value #HEADER_PAGE}-byte header page</td></tr>
 * <tr><td>3</td><td>CLOSED</td><td>either</td><td>u32 {@link Status} code, then the reason (UTF-8); the sender
 *     closes the stream after it</td></tr>
 * <tr><td>4</td><td>RECORD</td><td>guest</td><td>one command record, as in the command ring</td></tr>
 * <tr><td>5</td><td>COMPLETION</td><td>host</td><td>one completion record, as in the completion ring</td></tr>
 * <tr><td>6</td><td>HEAP</td><td>either</td><td>u64 offset in the lane's heap slice, then 1..{@link #MAX_CHUNK}
 *     bytes</td></tr>
 * <tr><td>7</td><td>WORDS</td><td>either</td><td>n times (u32 offset in the region, u32 0, u64 value): region words
 *     the sender owns</td></tr>
 * <tr><td>8</td><td>FIGURES</td><td>host</td><td>the HOST_FIGURES block of the region header</td></tr>
 * </table>
 * Readers take the 8-byte header once, check it ({@link #checkHeader}), read exactly the payload into memory of
 * their own, parse it with the validating parsers here, then act. The writers here put a whole frame (or, for
 * HEAP, the header and offset before the bytes) into a segment and return its length.
 */
public final class StreamFrame {
    private StreamFrame() {
    }

    public static final int HEADER_LENGTH = 8;
    /** Largest payload: a 1 MiB record or chunk and its few header words. */
    public static final int MAX_PAYLOAD = (1 << 20) + 64;
    /** Largest number of heap bytes in one HEAP frame. */
    public static final int MAX_CHUNK = 256 * 1024;
    /** "FERRYNET", little-endian. */
    public static final long OPEN_MAGIC = 0x5445_4e59_5252_4546L;
    public static final int VERSION = 1;
    /** Bytes of the region header page carried by OPENED. */
    public static final int HEADER_PAGE = 4096;
    /** Longest guest name, in UTF-8 bytes (the region header's GUEST_NAME field holds 63 and a NUL). */
    public static final int MAX_GUEST_NAME = 63;
    /** Longest credential after the name in OPEN. */
    public static final int MAX_CREDENTIAL = 256;
    /** Longest CLOSED reason, in UTF-8 bytes; longer ones are cut. */
    public static final int MAX_REASON = 4096;

    public static final int OPEN = 1;
    public static final int OPENED = 2;
    public static final int CLOSED = 3;
    public static final int RECORD = 4;
    public static final int COMPLETION = 5;
    public static final int HEAP = 6;
    public static final int WORDS = 7;
    public static final int FIGURES = 8;
    /** Bytes of one WORDS entry. */
    public static final int WORD_ENTRY = 16;

    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int FLAGS_OFFSET = 6;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** A frame that breaks the rules; the message says which. */
    public static final class Malformed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Malformed(String reason) {
            super(reason);
        }
    }

    /** OPEN's payload. {@code credential} is empty when none was sent. */
    public record Open(String guest, byte[] credential) {
    }

    /** OPENED's payload: the lane the host's proxy claimed, its chunk limit and the region's header page. */
    public record Opened(int lane, long chunkLimit, MemorySegment headerPage) {
    }

    /** CLOSED's payload. */
    public record Closed(int status, String reason) {
        /** The status as an enum; {@link Status#INTERNAL} for a code this version does not know. */
        public Status statusEnum() {
            Status s = Status.of(status);
            return s == null ? Status.INTERNAL : s;
        }
    }

    /** Receives the entries of a WORDS frame. */
    @FunctionalInterface
    public interface WordSink {
        void word(int offset, long value);
    }

    // ---- header ----

    public static int length(MemorySegment s, long at) {
        return s.get(INT, at + LENGTH_OFFSET);
    }

    public static int type(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(SHORT, at + TYPE_OFFSET));
    }

    public static int flags(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(SHORT, at + FLAGS_OFFSET));
    }

    /**
     * Checks a frame header read by the side that receives it: null when it is acceptable, else the reason.
     * {@code fromHost}: the frame came from the host (a guest's check) or from a guest (the host's).
     */
    public static String checkHeader(int length, int type, int flags, boolean fromHost) {
        if (length < HEADER_LENGTH || length - HEADER_LENGTH > MAX_PAYLOAD) {
            return "frame length " + Integer.toUnsignedString(length) + " is outside " + HEADER_LENGTH + ".."
                    + (HEADER_LENGTH + MAX_PAYLOAD);
        }
        if (flags != 0) {
            return "frame flags 0x" + Integer.toHexString(flags) + " are not known";
        }
        boolean ok = switch (type) {
            case OPEN, RECORD -> !fromHost;
            case OPENED, COMPLETION, FIGURES -> fromHost;
            case CLOSED, HEAP, WORDS -> true;
            default -> false;
        };
        if (!ok) {
            return "frame type " + type + (type >= OPEN && type <= FIGURES
                    ? " is not sent by the " + (fromHost ? "host" : "guest") : " is not known");
        }
        int payload = length - HEADER_LENGTH;
        String small = switch (type) {
            case OPEN -> payload < 17 ? "OPEN" : null;
            case OPENED -> payload != 16 + HEADER_PAGE ? "OPENED" : null;
            case CLOSED -> payload < 4 ? "CLOSED" : null;
            case RECORD -> payload < CallRecord.HEADER_LENGTH || payload % 8 != 0 ? "RECORD" : null;
            case COMPLETION -> payload < 8 || payload % 8 != 0 ? "COMPLETION" : null;
            case HEAP -> payload <= 8 || payload - 8 > MAX_CHUNK ? "HEAP" : null;
            case WORDS -> payload == 0 || payload % WORD_ENTRY != 0 ? "WORDS" : null;
            default -> null;
        };
        return small == null ? null : small + " frame of " + payload + " payload bytes has the wrong size";
    }

    // ---- writers ----

    /** Writes a frame header for {@code payloadLength} bytes that the caller puts after it; returns the frame length. */
    public static int putHeader(MemorySegment s, long at, int type, int payloadLength) {
        if (payloadLength < 0 || payloadLength > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payloadLength + " bytes");
        }
        int length = HEADER_LENGTH + payloadLength;
        s.set(INT, at + LENGTH_OFFSET, length);
        s.set(SHORT, at + TYPE_OFFSET, (short) type);
        s.set(SHORT, at + FLAGS_OFFSET, (short) 0);
        return length;
    }

    public static int putOpen(MemorySegment s, long at, String guest) {
        return putOpen(s, at, guest, new byte[0]);
    }

    /** OPEN with a credential after the name (empty: none). */
    public static int putOpen(MemorySegment s, long at, String guest, byte[] credential) {
        byte[] name = guest.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length > MAX_GUEST_NAME || guest.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("guest name '" + guest + "' must be 1.." + MAX_GUEST_NAME
                    + " UTF-8 bytes without NUL");
        }
        if (credential.length > MAX_CREDENTIAL) {
            throw new IllegalArgumentException("credential of " + credential.length + " bytes");
        }
        int payload = 16 + name.length + (credential.length == 0 ? 0 : 1 + credential.length);
        int length = putHeader(s, at, OPEN, payload);
        long p = at + HEADER_LENGTH;
        s.set(LONG, p, OPEN_MAGIC);
        s.set(INT, p + 8, VERSION);
        s.set(INT, p + 12, 0);
        MemorySegment.copy(name, 0, s, ValueLayout.JAVA_BYTE, p + 16, name.length);
        if (credential.length > 0) {
            s.set(ValueLayout.JAVA_BYTE, p + 16 + name.length, (byte) 0);
            MemorySegment.copy(credential, 0, s, ValueLayout.JAVA_BYTE, p + 17 + name.length, credential.length);
        }
        return length;
    }

    public static int putOpened(MemorySegment s, long at, int lane, MemorySegment headerPage) {
        if (headerPage.byteSize() < HEADER_PAGE) {
            throw new IllegalArgumentException("header page of " + headerPage.byteSize() + " bytes");
        }
        int length = putHeader(s, at, OPENED, 16 + HEADER_PAGE);
        long p = at + HEADER_LENGTH;
        s.set(INT, p, lane);
        s.set(INT, p + 4, 0);
        s.set(LONG, p + 8, MAX_CHUNK);
        MemorySegment.copy(headerPage, 0, s, p + 16, HEADER_PAGE);
        return length;
    }

    /** CLOSED; a reason over {@link #MAX_REASON} bytes is cut. */
    public static int putClosed(MemorySegment s, long at, int status, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(text.length, MAX_REASON);
        int length = putHeader(s, at, CLOSED, 4 + n);
        s.set(INT, at + HEADER_LENGTH, status);
        MemorySegment.copy(text, 0, s, ValueLayout.JAVA_BYTE, at + HEADER_LENGTH + 4, n);
        return length;
    }

    /** The header and offset of a HEAP frame of {@code bytes} bytes (16 bytes); the caller puts the bytes after. */
    public static int putHeap(MemorySegment s, long at, long heapOffset, int bytes) {
        if (bytes <= 0 || bytes > MAX_CHUNK) {
            throw new IllegalArgumentException("heap chunk of " + bytes + " bytes");
        }
        int length = putHeader(s, at, HEAP, 8 + bytes);
        s.set(LONG, at + HEADER_LENGTH, heapOffset);
        return length;
    }

    public static int putWords(MemorySegment s, long at, long[] offsets, long[] values, int n) {
        if (n <= 0 || n * WORD_ENTRY > MAX_PAYLOAD) {
            throw new IllegalArgumentException(n + " words");
        }
        int length = putHeader(s, at, WORDS, n * WORD_ENTRY);
        long p = at + HEADER_LENGTH;
        for (int i = 0; i < n; i++) {
            s.set(INT, p + (long) i * WORD_ENTRY, Math.toIntExact(offsets[i]));
            s.set(INT, p + (long) i * WORD_ENTRY + 4, 0);
            s.set(LONG, p + (long) i * WORD_ENTRY + 8, values[i]);
        }
        return length;
    }

    // ---- validating parsers (payload: the bytes after the header, in the reader's own memory) ----

    public static Open parseOpen(MemorySegment payload) {
        if (payload.byteSize() < 17) {
            throw new Malformed("OPEN of " + payload.byteSize() + " bytes is too short");
        }
        long magic = payload.get(LONG, 0);
        if (magic != OPEN_MAGIC) {
            throw new Malformed("OPEN magic 0x" + Long.toHexString(magic) + " is not Ferry's: is this a Ferry guest?");
        }
        int version = payload.get(INT, 8);
        if (version != VERSION) {
            throw new Malformed("stream version " + version + " is not supported (this host speaks " + VERSION
                    + "): update the guest library or the host");
        }
        byte[] rest = payload.asSlice(16).toArray(ValueLayout.JAVA_BYTE);
        int nul = 0;
        while (nul < rest.length && rest[nul] != 0) {
            nul++;
        }
        if (nul == 0 || nul > MAX_GUEST_NAME) {
            throw new Malformed("OPEN guest name of " + nul + " bytes must be 1.." + MAX_GUEST_NAME);
        }
        String guest = utf8(rest, 0, nul, "OPEN guest name");
        byte[] credential = new byte[nul < rest.length ? rest.length - nul - 1 : 0];
        if (credential.length > MAX_CREDENTIAL) {
            throw new Malformed("OPEN credential of " + credential.length + " bytes is too long");
        }
        System.arraycopy(rest, rest.length - credential.length, credential, 0, credential.length);
        return new Open(guest, credential);
    }

    public static Opened parseOpened(MemorySegment payload) {
        if (payload.byteSize() != 16 + HEADER_PAGE) {
            throw new Malformed("OPENED of " + payload.byteSize() + " bytes; expected " + (16 + HEADER_PAGE));
        }
        int lane = payload.get(INT, 0);
        long chunk = payload.get(LONG, 8);
        if (lane < 0 || chunk <= 0 || chunk > MAX_CHUNK) {
            throw new Malformed("OPENED lane " + lane + " or chunk limit " + chunk + " is out of range");
        }
        return new Opened(lane, chunk, payload.asSlice(16, HEADER_PAGE));
    }

    public static Closed parseClosed(MemorySegment payload) {
        if (payload.byteSize() < 4) {
            throw new Malformed("CLOSED of " + payload.byteSize() + " bytes is too short");
        }
        byte[] text = payload.asSlice(4, Math.min(payload.byteSize() - 4, MAX_REASON))
                .toArray(ValueLayout.JAVA_BYTE);
        return new Closed(payload.get(INT, 0), new String(text, StandardCharsets.UTF_8));
    }

    /** HEAP: the heap offset (the bytes are {@code payload[8..]}); unchecked against the heap: use Range.within. */
    public static long heapOffset(MemorySegment payload) {
        if (payload.byteSize() <= 8 || payload.byteSize() - 8 > MAX_CHUNK) {
            throw new Malformed("HEAP of " + payload.byteSize() + " bytes");
        }
        return payload.get(LONG, 0);
    }

    /** WORDS: each entry to {@code sink}; the receiver checks that the sender owns each offset. */
    public static void forEachWord(MemorySegment payload, WordSink sink) {
        long n = payload.byteSize();
        if (n == 0 || n % WORD_ENTRY != 0) {
            throw new Malformed("WORDS of " + n + " bytes is not a whole number of entries");
        }
        for (long p = 0; p < n; p += WORD_ENTRY) {
            int offset = payload.get(INT, p);
            if (payload.get(INT, p + 4) != 0 || offset < 0 || offset % 8 != 0) {
                throw new Malformed("WORDS entry at " + p + " (offset " + offset + ") is malformed");
            }
            sink.word(offset, payload.get(LONG, p + 8));
        }
    }

    private static String utf8(byte[] b, int from, int n, String what) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b, from, n)).toString();
        } catch (CharacterCodingException e) {
            throw new Malformed(what + " is not UTF-8");
        }
    }
}
