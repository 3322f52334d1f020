package io.ferry.testkit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/**
 * The fuzzer's bytes, read front to back: {@code consumeInt(min, max)} takes as many bytes as the range needs
 * (little-endian) and reduces them modulo the range; {@code consumeLong} takes 8; byte arrays take what they
 * ask for. Past the end everything reads as zero (the minimum). The format is ours, not
 * {@link FuzzedDataProvider}'s (whose integer encoding is the native driver's), so {@link Seeds} can write seed
 * inputs that decode exactly; coverage guidance and comparison tracing work on raw bytes alike.
 */
final class FuzzInput {
    private final byte[] b;
    private int at;

    FuzzInput(byte[] bytes) {
        this.b = bytes;
    }

    int remainingBytes() {
        return b.length - at;
    }

    private long read(int n) {
        long r = 0;
        for (int k = 0; k < n; k++) {
            r |= (at < b.length ? b[at++] & 0xFFL : 0L) << (8 * k);
        }
        return r;
    }

    static int bytesFor(long range) {
        int n = 0;
        while (n < 8 && (range >>> (8 * n)) != 0) {
            n++;
        }
        return n;
    }

    int consumeInt(int min, int max) {
        long range = (long) max - min;
        long r = read(bytesFor(range));
        return (int) (min + Long.remainderUnsigned(r, range + 1));
    }

    int consumeInt() {
        return (int) read(4);
    }

    long consumeLong() {
        return read(8);
    }

    boolean consumeBoolean() {
        return (read(1) & 1) != 0;
    }

    byte[] consumeBytes(int n) {
        int k = Math.max(0, Math.min(n, remainingBytes()));
        byte[] out = java.util.Arrays.copyOfRange(b, at, at + k);
        at += k;
        return out;
    }
}
