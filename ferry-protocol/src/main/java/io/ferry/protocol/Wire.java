package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Byte layout of calls and completions inside ring records, and static accessors over a {@link MemorySegment}.
 *
 * <pre>
 * Call record (command ring, guest → host)
 *  0       4       8               16      20      24
 *  +-------+-------+---------------+-------+-------+---------------------+------------------+
 *  |length | op    | seq           | flags | blob  | args[n] (u64 each)  | blob, 8-padded   |
 *  |  u32  |  i32  |  u64          |  u32  |  u32  |  n = Op.argCount()  |                  |
 *  +-------+-------+---------------+-------+-------+---------------------+------------------+
 *  \__ ring frame _/
 *
 * Completion record (completion ring, host → guest)
 *  0       4       8               16      20      24                              56
 *  +-------+-------+---------------+-------+-------+-------------------------------+--------------+
 *  |length | op    | seq           |status | blob  | results[4] (u64 each)         | blob, padded |
 *  +-------+-------+---------------+-------+-------+-------------------------------+--------------+
 * </pre>
 * All fields little-endian. {@code length} counts every byte of the record from offset 0 up to the end of the
 * blob (padding excluded); {@code blob} is the blob's byte count. A completion's blob is the error message when
 * {@code status != 0}, otherwise the call's text result (a build log, device strings).
 */
public final class Wire {
    private Wire() {
    }

    /** "FERRYHI1" little-endian: sent in HELLO so a stray writer is told apart from a guest library. */
    public static final long HELLO_MAGIC = 0x3149_4859_5252_4546L;
    /** Protocol version spoken by this library. */
    public static final int PROTOCOL_VERSION = 1;

    /** Capability bits exchanged in HELLO. */
    public static final long CAP_COMPUTE = 1L;
    public static final long CAP_HEAP_BUFFERS = 1L << 1;
    public static final long CAP_STICKY_ERRORS = 1L << 2;
    public static final long CAPABILITIES = CAP_COMPUTE | CAP_HEAP_BUFFERS | CAP_STICKY_ERRORS;

    public static final int LENGTH_OFFSET = 0;
    public static final int OP_OFFSET = 4;
    public static final int SEQ_OFFSET = 8;
    public static final int FLAGS_OFFSET = 16;
    public static final int STATUS_OFFSET = 16;
    public static final int BLOB_LENGTH_OFFSET = 20;
    public static final int ARGS_OFFSET = 24;
    public static final int CALL_HEADER_LENGTH = 24;
    public static final int RESULT_WORDS = 4;
    public static final int COMPLETION_HEADER_LENGTH = ARGS_OFFSET + 8 * RESULT_WORDS;

    /** Call flag: the guest wants a completion for this call (always set on SYNC calls). */
    public static final int FLAG_REPLY = 1;
    /** Flags this version understands; others are a protocol violation. */
    public static final int KNOWN_FLAGS = FLAG_REPLY;

    /**
     * Completion type (in the op field) of the host's closing notice: the host ended the session; the status says
     * why and the blob gives the reason. The notice has sequence number 0.
     */
    public static final int SESSION_CLOSED_TYPE = 0x7fff;

    /** Largest blob a completion carries (longer messages and logs are cut, with a note). */
    public static final int MAX_COMPLETION_BLOB = 16 * 1024;

    /** Queue flag: collect profiling timestamps for events. */
    public static final int QUEUE_PROFILING = 1;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    public static int align8(int n) {
        return (n + 7) & ~7;
    }

    /** Record length of a call of {@code op} with a blob of {@code blobLength} bytes. */
    public static int callLength(Op op, int blobLength) {
        return op.fixedLength() + blobLength;
    }

    // ---- writing a call (guest) ----

    public static void putCallHeader(MemorySegment s, long at, long seq, int flags, int blobLength) {
        s.set(LONG, at + SEQ_OFFSET, seq);
        s.set(INT, at + FLAGS_OFFSET, flags);
        s.set(INT, at + BLOB_LENGTH_OFFSET, blobLength);
    }

    public static void putArg(MemorySegment s, long at, int index, long value) {
        s.set(LONG, at + ARGS_OFFSET + 8L * index, value);
    }

    // ---- reading a call (host; on a private copy) ----

    public static int length(MemorySegment s, long at) {
        return s.get(INT, at + LENGTH_OFFSET);
    }

    public static int op(MemorySegment s, long at) {
        return s.get(INT, at + OP_OFFSET);
    }

    public static long seq(MemorySegment s, long at) {
        return s.get(LONG, at + SEQ_OFFSET);
    }

    public static int flags(MemorySegment s, long at) {
        return s.get(INT, at + FLAGS_OFFSET);
    }

    public static int blobLength(MemorySegment s, long at) {
        return s.get(INT, at + BLOB_LENGTH_OFFSET);
    }

    public static long arg(MemorySegment s, long at, int index) {
        return s.get(LONG, at + ARGS_OFFSET + 8L * index);
    }

    // ---- completions ----

    public static int completionLength(int blobLength) {
        return COMPLETION_HEADER_LENGTH + blobLength;
    }

    public static void putCompletion(MemorySegment s, long at, long seq, int status, long r0, long r1, long r2,
                                     long r3, byte[] blob, int blobLength) {
        s.set(LONG, at + SEQ_OFFSET, seq);
        s.set(INT, at + STATUS_OFFSET, status);
        s.set(INT, at + BLOB_LENGTH_OFFSET, blobLength);
        s.set(LONG, at + ARGS_OFFSET, r0);
        s.set(LONG, at + ARGS_OFFSET + 8, r1);
        s.set(LONG, at + ARGS_OFFSET + 16, r2);
        s.set(LONG, at + ARGS_OFFSET + 24, r3);
        if (blobLength > 0) {
            MemorySegment.copy(blob, 0, s, ValueLayout.JAVA_BYTE, at + COMPLETION_HEADER_LENGTH, blobLength);
        }
    }

    public static int status(MemorySegment s, long at) {
        return s.get(INT, at + STATUS_OFFSET);
    }

    public static long result(MemorySegment s, long at, int index) {
        return s.get(LONG, at + ARGS_OFFSET + 8L * index);
    }

    // ---- strings ----

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes {@code length} bytes as UTF-8, replacing malformed input (never throws on hostile bytes). */
    public static String string(MemorySegment s, long at, int length) {
        byte[] bytes = new byte[length];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, bytes, 0, length);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
