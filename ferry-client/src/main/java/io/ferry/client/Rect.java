package io.ferry.client;

/**
 * The region of a rectangular transfer ({@code clEnqueue*BufferRect}): {@code widthBytes} bytes per row, {@code
 * height} rows, {@code depth} slices, each at least 1. Where each side's rectangle starts, and how its rows and
 * slices are spaced, is an {@link At}.
 *
 * <pre>{@code
 * // a 4 x 3 float tile at column 2, row 1 of a 16-float-wide matrix, into a packed 4-wide array
 * queue.readRect(matrix, Rect.at(2 * 4, 1, 16 * 4), tile, Rect.at(0, 0, 4 * 4), Rect.of(4 * 4, 3));
 * }</pre>
 *
 * @param widthBytes bytes per row (OpenCL's {@code region[0]})
 * @param height     rows ({@code region[1]})
 * @param depth      slices ({@code region[2]})
 */
public record Rect(long widthBytes, long height, long depth) {

    /** A 2D region of one slice. */
    public static Rect of(long widthBytes, long height) {
        return new Rect(widthBytes, height, 1);
    }

    /** A 3D region. */
    public static Rect of(long widthBytes, long height, long depth) {
        return new Rect(widthBytes, height, depth);
    }

    /**
     * One side of a rectangular transfer: its origin (byte {@code x} in the row, row {@code y}, slice {@code z})
     * and its pitches in bytes. A pitch of 0 takes OpenCL's default: the row pitch is the region's width, the slice
     * pitch the region's height times the row pitch. The byte at (x, y, z) lies at {@code z * slicePitch +
     * y * rowPitch + x} from the start of the buffer or memory segment.
     */
    public record At(long x, long y, long z, long rowPitch, long slicePitch) {
    }

    /** A 2D origin in rows of {@code rowPitch} bytes. */
    public static At at(long x, long y, long rowPitch) {
        return new At(x, y, 0, rowPitch, 0);
    }

    /** A 3D origin. */
    public static At at(long x, long y, long z, long rowPitch, long slicePitch) {
        return new At(x, y, z, rowPitch, slicePitch);
    }
}
