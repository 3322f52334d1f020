package io.ferry.host.compute;

/**
 * The work-group shapes at which a kernel has been launched, for a device that compiles a kernel's code at its first
 * launch at a shape (PoCL builds its work-group functions then: seconds for a large kernel, which the overrun limit
 * would take for a kernel that never ends). Such a launch is hinted {@code compiles}, and the watchdog allows its
 * compile the compile time limit. At most {@link #MAX_SHAPES} shapes of a kernel count: launches at further shapes
 * get the overrun limit, so varying shapes does not stretch a guest's limit without end. The shapes live in the
 * kernel's handle entry (made at its first launch, gone with it), so a launch allocates nothing; session thread only.
 */
final class FirstLaunches {
    static final int MAX_SHAPES = 16;

    private FirstLaunches() {
    }

    /** A kernel's record of shapes, none yet ({@code HandleTable.Entry.launchShapes}). */
    static long[] none() {
        return new long[MAX_SHAPES + 1];
    }

    /**
     * Whether this is a first launch at this shape of the kernel whose record is {@code seen} (counted then). The
     * shape is what PoCL specialises on: the local size, or the global size where the device chooses the local size,
     * and whether an offset is given.
     */
    static boolean first(long[] seen, int dims, long[] offset, long[] global, long[] local) {
        long shape = dims;
        boolean offsets = false;
        for (int i = 0; i < dims; i++) {
            shape = shape * 1_000_003 + (local == null ? ~global[i] : local[i]);
            offsets |= offset != null && offset[i] != 0;
        }
        shape = shape * 31 + (offsets ? 1 : 0);
        int n = (int) seen[0]; // how many shapes follow
        for (int i = 1; i <= n; i++) {
            if (seen[i] == shape) {
                return false;
            }
        }
        if (n >= MAX_SHAPES) {
            return false;
        }
        seen[n + 1] = shape;
        seen[0] = n + 1;
        return true;
    }
}
