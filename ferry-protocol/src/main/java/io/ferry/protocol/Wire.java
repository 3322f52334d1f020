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
 *
 * <p>Records are read and written through the flyweights {@link CallRecord} (with the named per-opcode views in
 * {@link Calls}) and {@link CompletionRecord}. The static accessors here are kept for code not yet moved to them and
 * are <b>deprecated, for removal</b>: each is a thin delegate of the flyweights' layout.
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
    /** The host serves TEE_DIRECT (docs/protocol.md, "Direct TEE lanes"): a client asks for a lane only then. */
    public static final long CAP_TEE_DIRECT = 1L << 3;
    public static final long CAPABILITIES = CAP_COMPUTE | CAP_HEAP_BUFFERS | CAP_STICKY_ERRORS | CAP_TEE_DIRECT;

    public static final int LENGTH_OFFSET = CallRecord.LENGTH_OFFSET;
    public static final int OP_OFFSET = CallRecord.OP_OFFSET;
    public static final int SEQ_OFFSET = CallRecord.SEQ_OFFSET;
    public static final int FLAGS_OFFSET = CallRecord.FLAGS_OFFSET;
    public static final int STATUS_OFFSET = CompletionRecord.STATUS_OFFSET;
    public static final int BLOB_LENGTH_OFFSET = CallRecord.BLOB_LENGTH_OFFSET;
    public static final int ARGS_OFFSET = CallRecord.ARGS_OFFSET;
    public static final int CALL_HEADER_LENGTH = CallRecord.HEADER_LENGTH;
    public static final int RESULT_WORDS = CompletionRecord.RESULT_WORDS;
    public static final int COMPLETION_HEADER_LENGTH = CompletionRecord.HEADER_LENGTH;

    /** Call flag: the guest wants a completion for this call (always set on SYNC calls). */
    public static final int FLAG_REPLY = 1;
    /** Flags this version understands; others are a protocol violation. */
    public static final int KNOWN_FLAGS = FLAG_REPLY;

    /**
     * Completion type (in the op field) of the host's closing notice: the host ended the session; the status says
     * why and the blob gives the reason. The notice has sequence number 0.
     */
    public static final int SESSION_CLOSED_TYPE = 0x7fff;

    /**
     * Requests of the host's device-worker hop that are no guest call (the hop otherwise carries the guest's own
     * opcodes and records): a range of their own, far from {@link Op}'s codes, that a guest's ring never carries.
     * Both take no arguments and no blob.
     */
    public static final int WORKER_FIRST = 0x7f00;
    /** Worker request: answer once every earlier request has been served (a barrier). */
    public static final int WORKER_PING = WORKER_FIRST;
    /** Worker request: release everything and exit. */
    public static final int WORKER_CLOSE = WORKER_FIRST + 1;
    public static final int WORKER_LAST = WORKER_CLOSE;

    /** Largest blob a completion carries (longer messages and logs are cut, with a note). */
    public static final int MAX_COMPLETION_BLOB = 16 * 1024;

    /** Queue flag: collect profiling timestamps for events. */
    public static final int QUEUE_PROFILING = 1;
    /** Queue flag: out-of-order execution (commands ordered only by their wait lists, markers and barriers). */
    public static final int QUEUE_OUT_OF_ORDER = 2;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    public static int align8(int n) {
        return (n + 7) & ~7;
    }

    /** Record length of a call of {@code op} with a blob of {@code blobLength} bytes. */
    public static int callLength(Op op, int blobLength) {
        return CallRecord.length(op, blobLength);
    }

    // ---- deprecated, for removal: use CallRecord (writing a call) ----

    public static void putCallHeader(MemorySegment s, long at, long seq, int flags, int blobLength) {
        s.set(LONG, at + SEQ_OFFSET, seq);
        s.set(INT, at + FLAGS_OFFSET, flags);
        s.set(INT, at + BLOB_LENGTH_OFFSET, blobLength);
    }

    public static void putArg(MemorySegment s, long at, int index, long value) {
        s.set(LONG, at + ARGS_OFFSET + 8L * index, value);
    }

    // ---- deprecated, for removal: use CallRecord (reading a call, on a private copy) ----

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

    // ---- completions (deprecated accessors, for removal: use CompletionRecord) ----

    public static int completionLength(int blobLength) {
        return CompletionRecord.length(blobLength);
    }

    /** Deprecated, for removal: {@link CompletionRecord#put}. */
    public static void putCompletion(MemorySegment s, long at, long seq, int status, long r0, long r1, long r2,
                                     long r3, byte[] blob, int blobLength) {
        new CompletionRecord().wrap(s, at).put(seq, status, r0, r1, r2, r3, blob, blobLength);
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
