package io.ferry.tee.ta;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The four parameters of a call as a TA sees them. Values are two unsigned 32-bit words; a memref is TEE-owned
 * memory (a copy of the client's buffer) the TA may read and, for output memrefs, write; {@link #setSize} reports
 * how many bytes the answer has (more than the buffer holds says how much is needed: return SHORT_BUFFER).
 */
public final class TaParams {
    private final int[] type = new int[4];
    private final int[] a = new int[4];
    private final int[] b = new int[4];
    private final MemorySegment[] buffer = new MemorySegment[4];
    private final long[] size = new long[4];

    /** Sets parameter {@code i} (by the TEE). */
    public void set(int i, int kind, int valueA, int valueB, MemorySegment buf, long bytes) {
        type[i] = kind;
        a[i] = valueA;
        b[i] = valueB;
        buffer[i] = buf;
        size[i] = bytes;
    }

    public int type(int i) {
        return type[i];
    }

    /** Packed types, 4 bits per parameter, for a quick check: {@code p.types() == TaParams.types(...)}. */
    public int types() {
        return type[0] | type[1] << 4 | type[2] << 8 | type[3] << 12;
    }

    public static int types(int p0, int p1, int p2, int p3) {
        return p0 | p1 << 4 | p2 << 8 | p3 << 12;
    }

    public int a(int i) {
        return a[i];
    }

    public int b(int i) {
        return b[i];
    }

    public void setValue(int i, int valueA, int valueB) {
        a[i] = valueA;
        b[i] = valueB;
    }

    /** The memref's memory (null for a null memref). */
    public MemorySegment memref(int i) {
        return buffer[i];
    }

    /** A copy of the memref's bytes (empty for a null memref). */
    public byte[] bytes(int i) {
        return buffer[i] == null ? new byte[0] : buffer[i].toArray(ValueLayout.JAVA_BYTE);
    }

    public long size(int i) {
        return size[i];
    }

    public void setSize(int i, long bytes) {
        size[i] = bytes;
    }

    /**
     * Writes {@code data} as the answer of output memref {@code i}: copies it when it fits and sets the size to its
     * length either way. Returns whether it fit (if not, answer SHORT_BUFFER).
     */
    public boolean output(int i, byte[] data) {
        size[i] = data.length;
        MemorySegment buf = buffer[i];
        if (buf == null || data.length > buf.byteSize()) {
            return false;
        }
        MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
        return true;
    }
}
