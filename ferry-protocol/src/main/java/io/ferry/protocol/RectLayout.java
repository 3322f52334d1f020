package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The rectangle of a rectangular transfer ({@link Op#BUFFER_WRITE_RECT}, {@link Op#BUFFER_READ_RECT},
 * {@link Op#BUFFER_COPY_RECT}): the payload that follows the wait list in the call's blob. A flyweight: wrap it at
 * the payload's first byte, then read or write fields in place.
 *
 * <pre>
 *  0              8              16             24
 *  +--------------+--------------+--------------+
 *  | region[0]    | region[1]    | region[2]    |   bytes per row, rows, slices (each &gt;= 1)
 *  +--------------+--------------+--------------+--------------+--------------+
 *  | a.origin[0]  | a.origin[1]  | a.origin[2]  | a.row pitch  | a.slice pitch|   side A, from 24
 *  +--------------+--------------+--------------+--------------+--------------+
 *  | b.origin[0]  | b.origin[1]  | b.origin[2]  | b.row pitch  | b.slice pitch|   side B, from 64
 *  +--------------+--------------+--------------+--------------+--------------+   104
 * </pre>
 * All u64, little endian. Origins are (byte in row, row, slice); a pitch of 0 takes OpenCL's default (row pitch =
 * region[0], slice pitch = region[1] x row pitch). Side A is the buffer (write and read) or the source (copy); side
 * B the heap range (write and read) or the destination (copy). The byte at origin (x, y, z) of a side lies at
 * {@code z * slicePitch + y * rowPitch + x} from the start of its buffer (or of the call's heap range).
 */
public final class RectLayout {
    public static final int REGION_OFFSET = 0;
    public static final int SIDE_A_OFFSET = 24;
    public static final int SIDE_B_OFFSET = 64;
    /** Within a side: the origin's three words, then the row pitch and the slice pitch. */
    public static final int ORIGIN_OFFSET = 0, ROW_PITCH_OFFSET = 24, SLICE_PITCH_OFFSET = 32;
    /** Bytes of the rectangle. */
    public static final int LENGTH = 104;
    /** Side A (the buffer, or a copy's source) and side B (the heap range, or a copy's destination). */
    public static final int A = 0, B = 1;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private MemorySegment segment;
    private long at;

    /** Points this flyweight at a rectangle that starts at {@code at} of {@code segment}. */
    public RectLayout wrap(MemorySegment segment, long at) {
        this.segment = segment;
        this.at = at;
        return this;
    }

    public long region(int i) {
        return segment.get(LONG, at + REGION_OFFSET + 8L * Calls.check(i, 3));
    }

    public RectLayout region(int i, long v) {
        segment.set(LONG, at + REGION_OFFSET + 8L * Calls.check(i, 3), v);
        return this;
    }

    public long origin(int side, int i) {
        return segment.get(LONG, side(side) + ORIGIN_OFFSET + 8L * Calls.check(i, 3));
    }

    public RectLayout origin(int side, int i, long v) {
        segment.set(LONG, side(side) + ORIGIN_OFFSET + 8L * Calls.check(i, 3), v);
        return this;
    }

    public long rowPitch(int side) {
        return segment.get(LONG, side(side) + ROW_PITCH_OFFSET);
    }

    public RectLayout rowPitch(int side, long v) {
        segment.set(LONG, side(side) + ROW_PITCH_OFFSET, v);
        return this;
    }

    public long slicePitch(int side) {
        return segment.get(LONG, side(side) + SLICE_PITCH_OFFSET);
    }

    public RectLayout slicePitch(int side, long v) {
        segment.set(LONG, side(side) + SLICE_PITCH_OFFSET, v);
        return this;
    }

    private long side(int side) {
        return at + (Calls.check(side, 2) == A ? SIDE_A_OFFSET : SIDE_B_OFFSET);
    }
}
