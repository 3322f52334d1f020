package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A flyweight over one completion record (docs/protocol.md §2.2): length, op answered, seq, status, blob length,
 * four result words and the blob. Writers and readers in one class; {@link #wrap} points it at a record.
 * Readers of untrusted records call {@link #problem(int)} first.
 */
public final class CompletionRecord {
    public static final int LENGTH_OFFSET = CallRecord.LENGTH_OFFSET;
    public static final int OP_OFFSET = CallRecord.OP_OFFSET;
    public static final int SEQ_OFFSET = CallRecord.SEQ_OFFSET;
    public static final int STATUS_OFFSET = 16;
    public static final int BLOB_LENGTH_OFFSET = CallRecord.BLOB_LENGTH_OFFSET;
    public static final int RESULTS_OFFSET = 24;
    /** Result words every completion carries. */
    public static final int RESULT_WORDS = 4;
    /** Bytes before the blob. */
    public static final int HEADER_LENGTH = RESULTS_OFFSET + 8 * RESULT_WORDS;

    private MemorySegment segment;
    private long at;

    /** Points this flyweight at the record that starts at {@code at} of {@code segment}. */
    public CompletionRecord wrap(MemorySegment segment, long at) {
        this.segment = segment;
        this.at = at;
        return this;
    }

    /** Record length of a completion with a blob of {@code blobLength} bytes. */
    public static int length(int blobLength) {
        return HEADER_LENGTH + blobLength;
    }

    public int length() {
        return segment.get(CallRecord.INT, at + LENGTH_OFFSET);
    }

    /** The opcode answered (the frame type), or {@link Wire#SESSION_CLOSED_TYPE}. */
    public int op() {
        return segment.get(CallRecord.INT, at + OP_OFFSET);
    }

    public long seq() {
        return segment.get(CallRecord.LONG, at + SEQ_OFFSET);
    }

    /** The status code as sent; see {@link #knownStatus()}. */
    public int status() {
        return segment.get(CallRecord.INT, at + STATUS_OFFSET);
    }

    /** The status, or null when the code is none of {@link Status}. */
    public Status knownStatus() {
        int code = status();
        Status s = Status.of(code);
        return s.code() == code ? s : null; // Status.of maps unknown codes to INTERNAL
    }

    public int blobLength() {
        return segment.get(CallRecord.INT, at + BLOB_LENGTH_OFFSET);
    }

    /** Result word {@code index} (0–3; names in {@link Op#resultNames()}). */
    public long result(int index) {
        return segment.get(CallRecord.LONG, at + RESULTS_OFFSET + 8L * index);
    }

    /** The blob decoded as UTF-8, malformed input replaced. */
    public String text() {
        int n = blobLength();
        if (n == 0) {
            return "";
        }
        byte[] bytes = new byte[n];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, at + HEADER_LENGTH, bytes, 0, n);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A copy of the blob. */
    public byte[] blobBytes() {
        return segment.asSlice(at + HEADER_LENGTH, blobLength()).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * What is wrong with the framing of this completion of {@code length} bytes (the length the ring vouched for),
     * or null when its header fits and its blob lies within it.
     */
    public String problem(int length) {
        if (length < HEADER_LENGTH) {
            return "completion of " + length + " bytes is shorter than its header (" + HEADER_LENGTH + ")";
        }
        int blob = blobLength();
        if (blob < 0 || HEADER_LENGTH + (long) blob > length) {
            return "completion blob length " + blob + " exceeds the record of " + length + " bytes";
        }
        return null;
    }

    /** Writes everything after the frame header (which the ring's claim wrote). */
    public CompletionRecord put(long seq, int status, long r0, long r1, long r2, long r3, byte[] blob,
                                int blobLength) {
        segment.set(CallRecord.LONG, at + SEQ_OFFSET, seq);
        segment.set(CallRecord.INT, at + STATUS_OFFSET, status);
        segment.set(CallRecord.INT, at + BLOB_LENGTH_OFFSET, blobLength);
        segment.set(CallRecord.LONG, at + RESULTS_OFFSET, r0);
        segment.set(CallRecord.LONG, at + RESULTS_OFFSET + 8, r1);
        segment.set(CallRecord.LONG, at + RESULTS_OFFSET + 16, r2);
        segment.set(CallRecord.LONG, at + RESULTS_OFFSET + 24, r3);
        if (blobLength > 0) {
            MemorySegment.copy(blob, 0, segment, ValueLayout.JAVA_BYTE, at + HEADER_LENGTH, blobLength);
        }
        return this;
    }
}
