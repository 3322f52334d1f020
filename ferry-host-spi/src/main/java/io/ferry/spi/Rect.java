package io.ferry.spi;

/**
 * The rectangle of a rectangular transfer, as the host validated it: {@code region} is (bytes per row, rows,
 * slices), each at least 1; side A is the buffer (a copy's source), side B the heap (a copy's destination). Origins
 * are (byte, row, slice); pitches are resolved (never 0): {@code rowPitch >= region[0]}, {@code slicePitch >=
 * region[1] * rowPitch} and a multiple of it, and every byte the rectangle touches lies inside its buffer or heap
 * range. Arrays hold exactly three values; a backend does not change them.
 */
public record Rect(long[] region,
                   long[] originA, long rowPitchA, long slicePitchA,
                   long[] originB, long rowPitchB, long slicePitchB) {

    /** Bytes of side A from its start to just past the last byte the rectangle touches (the host checked it). */
    public long endA() {
        return end(originA, rowPitchA, slicePitchA);
    }

    /** Bytes of side B from its start to just past the last byte the rectangle touches (the host checked it). */
    public long endB() {
        return end(originB, rowPitchB, slicePitchB);
    }

    private long end(long[] origin, long rowPitch, long slicePitch) {
        return (origin[2] + region[2] - 1) * slicePitch + (origin[1] + region[1] - 1) * rowPitch + origin[0]
                + region[0];
    }
}
