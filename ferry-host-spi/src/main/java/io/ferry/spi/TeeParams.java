package io.ferry.spi;

import java.lang.foreign.MemorySegment;

/**
 * The four parameters of one TEE call, as the host hands them to a backend after validation. Types are the
 * normalized kinds below (registered and whole memrefs are resolved to their direction); memrefs are host-owned
 * buffers the backend may read and write freely (the host copies guest data in before and out after, within the
 * buffer). Mutable and reused per call; not thread-safe.
 */
public final class TeeParams {
    public static final int COUNT = 4;
    public static final int NONE = 0;
    public static final int VALUE_INPUT = 1;
    public static final int VALUE_OUTPUT = 2;
    public static final int VALUE_INOUT = 3;
    public static final int MEMREF_INPUT = 5;
    public static final int MEMREF_OUTPUT = 6;
    public static final int MEMREF_INOUT = 7;

    private final int[] type = new int[COUNT];
    private final long[] a = new long[COUNT];
    private final long[] b = new long[COUNT];
    private final MemorySegment[] buffer = new MemorySegment[COUNT];
    private final long[] size = new long[COUNT];

    public void clear() {
        for (int i = 0; i < COUNT; i++) {
            type[i] = NONE;
            a[i] = 0;
            b[i] = 0;
            buffer[i] = null;
            size[i] = 0;
        }
    }

    public int type(int i) {
        return type[i];
    }

    public static boolean isValue(int t) {
        return t >= VALUE_INPUT && t <= VALUE_INOUT;
    }

    public static boolean isMemref(int t) {
        return t >= MEMREF_INPUT && t <= MEMREF_INOUT;
    }

    public void value(int i, int t, long valueA, long valueB) {
        type[i] = t;
        a[i] = valueA & 0xFFFF_FFFFL;
        b[i] = valueB & 0xFFFF_FFFFL;
    }

    /** A memref; {@code buf} null is a null memref of {@code bytes} (0 for a plain null). */
    public void memref(int i, int t, MemorySegment buf, long bytes) {
        type[i] = t;
        buffer[i] = buf;
        size[i] = bytes;
    }

    public long a(int i) {
        return a[i];
    }

    public long b(int i) {
        return b[i];
    }

    /** Sets an output value (the TEE's answer). */
    public void setValue(int i, long valueA, long valueB) {
        a[i] = valueA & 0xFFFF_FFFFL;
        b[i] = valueB & 0xFFFF_FFFFL;
    }

    /** The memref's buffer, or null for a null memref. */
    public MemorySegment buffer(int i) {
        return buffer[i];
    }

    /** In: the memref's size; out: the size the TEE reported (may exceed the buffer: SHORT_BUFFER). */
    public long size(int i) {
        return size[i];
    }

    public void setSize(int i, long bytes) {
        size[i] = bytes;
    }
}
