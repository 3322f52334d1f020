package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.spi.Rect;
import java.util.Arrays;

/**
 * Validates the rectangle of a rectangular transfer ({@link RectLayout}) as a hostile guest may have written it:
 * every figure is read once, pitches take OpenCL's defaults and rules, and the last byte each side touches is
 * computed with exact arithmetic (an overflow is refused, never wrapped), then held against that side's buffer or
 * heap range. What it returns is what the backend may trust ({@link Rect}).
 */
final class RectChecks {
    private RectChecks() {
    }

    /** One side as checked: what it is called, how many bytes it has, and the status for a rectangle past them. */
    record Side(String name, long size, Status outside) {
    }

    /**
     * The rectangle at {@code r}, checked against side A and side B. {@code call} names the call for messages.
     */
    static Rect read(RectLayout r, String call, Side a, Side b) throws CallException {
        long[] region = new long[3];
        for (int i = 0; i < 3; i++) {
            region[i] = r.region(i);
            if (region[i] < 1) {
                throw new CallException(Status.INVALID_ARGUMENT, call + ": region[" + i + "] is " + region[i]
                        + "; each of the region's figures (bytes per row, rows, slices) must be at least 1");
            }
        }
        long[] originA = origin(r, RectLayout.A, call, a);
        long[] originB = origin(r, RectLayout.B, call, b);
        long rowA = rowPitch(r.rowPitch(RectLayout.A), region, call, a);
        long rowB = rowPitch(r.rowPitch(RectLayout.B), region, call, b);
        long sliceA = slicePitch(r.slicePitch(RectLayout.A), rowA, region, call, a);
        long sliceB = slicePitch(r.slicePitch(RectLayout.B), rowB, region, call, b);
        checkExtent(originA, region, rowA, sliceA, call, a);
        checkExtent(originB, region, rowB, sliceB, call, b);
        return new Rect(region, originA, rowA, sliceA, originB, rowB, sliceB);
    }

    private static long[] origin(RectLayout r, int side, String call, Side s) throws CallException {
        long[] o = new long[3];
        for (int i = 0; i < 3; i++) {
            o[i] = r.origin(side, i);
            if (o[i] < 0) {
                throw new CallException(s.outside(), call + ": " + s.name() + " origin[" + i + "] is " + o[i]
                        + " (negative, or above 2^63 as unsigned); origins count bytes, rows and slices from 0");
            }
        }
        return o;
    }

    private static long rowPitch(long pitch, long[] region, String call, Side s) throws CallException {
        if (pitch == 0) {
            return region[0];
        }
        if (pitch < region[0]) {
            throw new CallException(Status.INVALID_ARGUMENT, call + ": " + s.name() + " row pitch " + pitch
                    + " is less than region[0] = " + region[0] + " bytes per row; give at least " + region[0]
                    + ", or 0 for exactly that");
        }
        return pitch;
    }

    private static long slicePitch(long pitch, long row, long[] region, String call, Side s) throws CallException {
        long least;
        try {
            least = Math.multiplyExact(region[1], row);
        } catch (ArithmeticException e) {
            throw new CallException(s.outside(), call + ": " + s.name() + " region[1] " + region[1] + " x row pitch "
                    + row + " overflows 64 bits: the rectangle cannot fit in any " + s.name());
        }
        if (pitch == 0) {
            return least;
        }
        if (pitch < least || pitch % row != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, call + ": " + s.name() + " slice pitch " + pitch
                    + " must be at least region[1] x row pitch = " + least + " and a multiple of the row pitch "
                    + row + " (or 0 for exactly " + least + ")");
        }
        return pitch;
    }

    /** The byte after the last one the rectangle touches, exactly, must be within the side's size. */
    private static void checkExtent(long[] o, long[] region, long row, long slice, String call, Side s)
            throws CallException {
        long end;
        try {
            long lastSlice = Math.multiplyExact(Math.addExact(o[2], region[2] - 1), slice);
            long lastRow = Math.multiplyExact(Math.addExact(o[1], region[1] - 1), row);
            end = Math.addExact(Math.addExact(lastSlice, lastRow), Math.addExact(o[0], region[0]));
        } catch (ArithmeticException e) {
            throw new CallException(s.outside(), call + ": the rectangle's extent in the " + s.name()
                    + " overflows 64 bits (origin " + Arrays.toString(o) + ", region " + Arrays.toString(region)
                    + ", row pitch " + row + ", slice pitch " + slice + "); it cannot fit in the " + s.size()
                    + " bytes there");
        }
        if (end > s.size()) {
            throw new CallException(s.outside(), call + ": the rectangle reaches byte " + end + " of the " + s.name()
                    + ", which has " + s.size() + " bytes (origin " + Arrays.toString(o) + ", region "
                    + Arrays.toString(region) + ", row pitch " + row + ", slice pitch " + slice + ")");
        }
    }
}
