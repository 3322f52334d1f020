package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A flyweight over one call record (layout in {@link Wire} and docs/protocol.md §2.1): the header (length, op, seq,
 * flags, blob length), the op's fixed 64-bit arguments and its blob. The same object reads and writes; {@link #wrap}
 * points it at a record, so one instance serves many records and nothing is allocated per call.
 *
 * <p>The per-opcode views in {@link Calls} extend this class with named arguments ({@code Launch.kernel()}); a test
 * checks them against the {@link Op} catalogue. A plain {@code CallRecord} reads any call by index.
 *
 * <p>Readers of untrusted records call {@link #problem(int)} first, on a private copy: the accessors themselves do
 * not validate (an argument index past the record fails with the segment's bounds check, never reads elsewhere).
 */
public class CallRecord {
    public static final int LENGTH_OFFSET = 0;
    public static final int OP_OFFSET = 4;
    public static final int SEQ_OFFSET = 8;
    public static final int FLAGS_OFFSET = 16;
    public static final int BLOB_LENGTH_OFFSET = 20;
    public static final int ARGS_OFFSET = 24;
    /** Bytes before the first argument. */
    public static final int HEADER_LENGTH = 24;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final Op spec;
    private MemorySegment segment;
    private long at;

    /** A reader of any call. */
    public CallRecord() {
        this(null);
    }

    /** A view of calls of {@code spec}. */
    protected CallRecord(Op spec) {
        this.spec = spec;
    }

    /** Points this flyweight at the record that starts at {@code at} of {@code segment}. */
    public CallRecord wrap(MemorySegment segment, long at) {
        this.segment = segment;
        this.at = at;
        return this;
    }

    /** A view of calls of {@code op} whose arguments are reached by index only (ops without a named view). */
    public static CallRecord of(Op op) {
        return new CallRecord(op);
    }

    /** The opcode this view is for; null for a plain reader. */
    public Op spec() {
        return spec;
    }

    /** Record length of a call of {@code op} with a blob of {@code blobLength} bytes (padding excluded). */
    public static int length(Op op, int blobLength) {
        return length(op.argCount(), blobLength);
    }

    /** Record length of a call of {@code argCount} arguments and a blob of {@code blobLength} bytes. */
    public static int length(int argCount, int blobLength) {
        return HEADER_LENGTH + 8 * argCount + blobLength;
    }

    // ---- header ----

    /** The frame's length field (written by the ring when the record is claimed). */
    public int length() {
        return segment.get(INT, at + LENGTH_OFFSET);
    }

    /** The frame's type field: the opcode. */
    public int op() {
        return segment.get(INT, at + OP_OFFSET);
    }

    public long seq() {
        return segment.get(LONG, at + SEQ_OFFSET);
    }

    public int flags() {
        return segment.get(INT, at + FLAGS_OFFSET);
    }

    public boolean wantsReply() {
        return (flags() & Wire.FLAG_REPLY) != 0;
    }

    public int blobLength() {
        return segment.get(INT, at + BLOB_LENGTH_OFFSET);
    }

    /** Writes seq, flags and blob length (the ring's claim wrote length and op). */
    public CallRecord header(long seq, int flags, int blobLength) {
        segment.set(LONG, at + SEQ_OFFSET, seq);
        segment.set(INT, at + FLAGS_OFFSET, flags);
        segment.set(INT, at + BLOB_LENGTH_OFFSET, blobLength);
        return this;
    }

    // ---- arguments ----

    /** Argument {@code index} (0-based, catalogue order). */
    public long arg(int index) {
        return segment.get(LONG, at + ARGS_OFFSET + 8L * index);
    }

    /** Writes argument {@code index}. */
    public CallRecord arg(int index, long value) {
        segment.set(LONG, at + ARGS_OFFSET + 8L * index, value);
        return this;
    }

    @SuppressWarnings("unchecked")
    protected final <V extends CallRecord> V set(int index, long value) {
        arg(index, value);
        return (V) this;
    }

    // ---- blob ----

    /** Offset of the blob from the record's start; the argument count is this view's op's, or the record's. */
    public int blobOffset() {
        Op op = spec != null ? spec : Op.of(op());
        return HEADER_LENGTH + 8 * (op == null ? 0 : op.argCount());
    }

    /** The blob, as a slice of the wrapped segment. */
    public MemorySegment blob() {
        return segment.asSlice(at + blobOffset(), blobLength());
    }

    /** The blob decoded as UTF-8, malformed input replaced (never throws on hostile bytes). */
    public String blobText() {
        int n = blobLength();
        if (n == 0) {
            return "";
        }
        byte[] bytes = new byte[n];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, at + blobOffset(), bytes, 0, n);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Writes the blob (its length must have gone into {@link #header}). */
    public CallRecord blob(byte[] bytes) {
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, at + blobOffset(), bytes.length);
        return this;
    }

    /** Writes the blob from a segment. */
    public CallRecord blob(MemorySegment bytes) {
        MemorySegment.copy(bytes, 0, segment, at + blobOffset(), bytes.byteSize());
        return this;
    }

    // ---- validation ----

    /**
     * What is wrong with this record as a call of {@code length} bytes (the frame length the ring vouched for), or
     * null when its opcode is known, its length is exactly header + arguments + blob, its flags are known, and it
     * carries a blob only where the op takes one. Read on a private copy: each field is read once here.
     */
    public String problem(int length) {
        if (length < HEADER_LENGTH) {
            return "call record of " + length + " bytes is shorter than its header (" + HEADER_LENGTH + ")";
        }
        int code = op();
        Op op = Op.of(code);
        if (op == null || (spec != null && op != spec)) {
            return "unknown opcode " + code;
        }
        int flags = flags();
        if ((flags & ~Wire.KNOWN_FLAGS) != 0) {
            return op + ": unknown flags 0x" + Integer.toHexString(flags);
        }
        int blob = blobLength();
        if (blob < 0 || (blob > 0 && !op.hasBlob())) {
            return op + ": blob of " + blob + " bytes where the call takes " + (op.hasBlob() ? "one" : "none");
        }
        long expected = (long) HEADER_LENGTH + 8L * op.argCount() + blob;
        if (expected != length) {
            return op + ": record of " + length + " bytes, expected " + expected + " (" + op.argCount()
                    + " arguments, blob of " + blob + ")";
        }
        return null;
    }
}
