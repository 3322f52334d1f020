package io.ferry.host.compute;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The work-group shapes at which each kernel of a session has been launched, for a device that compiles a kernel's
 * code at its first launch at a shape (PoCL builds its work-group functions then: seconds for a large kernel, which
 * the overrun limit would take for a kernel that never ends). Such a launch is hinted {@code compiles}, and the
 * watchdog allows it the compile time limit. At most {@link #MAX_SHAPES} shapes of a kernel count: launches at
 * further shapes get the overrun limit, so varying shapes does not stretch a guest's limit without end. Session
 * thread only.
 */
final class FirstLaunches {
    static final int MAX_SHAPES = 16;

    private final Map<Long, Set<Long>> shapes = new HashMap<>();

    /**
     * Whether this is kernel {@code kernel}'s first launch at this shape (counted then). The shape is what PoCL
     * specialises on: the local size, or the global size where the device chooses the local size, and whether an
     * offset is given.
     */
    boolean first(long kernel, int dims, long[] offset, long[] global, long[] local) {
        long shape = dims;
        boolean offsets = false;
        for (int i = 0; i < dims; i++) {
            shape = shape * 1_000_003 + (local == null ? ~global[i] : local[i]);
            offsets |= offset != null && offset[i] != 0;
        }
        shape = shape * 31 + (offsets ? 1 : 0);
        Set<Long> seen = shapes.computeIfAbsent(kernel, k -> new HashSet<>());
        return seen.size() < MAX_SHAPES && seen.add(shape);
    }

    /** The kernel (or another object) {@code handle} was released. */
    void released(long handle) {
        shapes.remove(handle);
    }
}
