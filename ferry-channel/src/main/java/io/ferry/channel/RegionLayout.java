package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.HEADER_SIZE;
import static io.ferry.channel.RegionDescriptor.MAX_LANES;
import static io.ferry.channel.RegionDescriptor.MAX_RING_CAPACITY;
import static io.ferry.channel.RegionDescriptor.MIN_HEAP_SIZE;
import static io.ferry.channel.RegionDescriptor.MIN_RING_CAPACITY;
import static io.ferry.channel.RegionDescriptor.SECTION_ALIGNMENT;
import static io.ferry.channel.RegionDescriptor.isPowerOfTwo;
import static io.ferry.channel.RegionDescriptor.sectionSizeFor;

/**
 * Sizes of the sections of a region, from which {@link Region#create} derives the offsets: the header, then each
 * lane's command ring section and completion ring section, then the heap, cut into one equal slice per lane, each
 * section 4 KiB aligned (see {@link RegionDescriptor}). The host and its device workers derive every offset from
 * this record, never from the header a guest can rewrite.
 *
 * @param commandRingCapacity    data bytes of each lane's command ring (guest to host): a power of two, at least
 *                               4 KiB, at most 1 GiB
 * @param completionRingCapacity data bytes of each lane's completion ring (host to guest): same rules
 * @param heapSize               bytes of the whole heap: a multiple of 4 KiB, at least 64 KiB per lane; each lane
 *                               gets {@link #laneHeapSize()} of it (the rest, under 4 KiB a lane, is unused)
 * @param lanes                  lanes (ring pairs and heap slices), 1 to {@link RegionDescriptor#MAX_LANES}
 */
public record RegionLayout(int commandRingCapacity, int completionRingCapacity, long heapSize, int lanes) {

    /** Default command ring capacity used by {@link #forSize}: 256 KiB. */
    public static final int DEFAULT_COMMAND_RING_CAPACITY = 256 * 1024;
    /** Default completion ring capacity used by {@link #forSize}: 64 KiB. */
    public static final int DEFAULT_COMPLETION_RING_CAPACITY = 64 * 1024;

    /** @throws IllegalArgumentException when a size breaks the rules above; the message names the rule */
    public RegionLayout {
        checkRing("command", commandRingCapacity);
        checkRing("completion", completionRingCapacity);
        if (lanes < 1 || lanes > MAX_LANES) {
            throw new IllegalArgumentException("lanes " + lanes + " must be between 1 and " + MAX_LANES);
        }
        if (heapSize % SECTION_ALIGNMENT != 0 || heapSize / lanes < MIN_HEAP_SIZE) {
            throw new IllegalArgumentException("heap size " + heapSize + " must be a multiple of " + SECTION_ALIGNMENT
                    + " and at least " + MIN_HEAP_SIZE + " bytes per lane (" + lanes + " lanes)");
        }
        if (heapSize > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("heap size " + heapSize + " is absurdly large");
        }
    }

    /** A one-lane layout (the worker's control region, and layout version 1's shape). */
    public RegionLayout(int commandRingCapacity, int completionRingCapacity, long heapSize) {
        this(commandRingCapacity, completionRingCapacity, heapSize, 1);
    }

    /** {@link #forSize(long, int)} with one lane. */
    public static RegionLayout forSize(long regionSize) {
        return forSize(regionSize, 1);
    }

    /**
     * The default layout for a region of exactly {@code regionSize} bytes with {@code lanes} lanes: a 256 KiB
     * command ring and a 64 KiB completion ring per lane, and the rest heap.
     *
     * @throws IllegalArgumentException when {@code regionSize} is not a multiple of 4 KiB or is below
     *                                  {@link #minimumRegionSize(int)}
     */
    public static RegionLayout forSize(long regionSize, int lanes) {
        if (lanes < 1 || lanes > MAX_LANES) {
            throw new IllegalArgumentException("lanes " + lanes + " must be between 1 and " + MAX_LANES);
        }
        long minimum = minimumRegionSize(lanes);
        if (regionSize < minimum) {
            throw new IllegalArgumentException("region size " + regionSize + " is too small: the default layout"
                    + " of " + lanes + " lane(s) needs at least " + minimum + " bytes (" + (minimum / 1024) + " KiB)");
        }
        if (regionSize % SECTION_ALIGNMENT != 0) {
            throw new IllegalArgumentException("region size " + regionSize + " must be a multiple of "
                    + SECTION_ALIGNMENT);
        }
        long heap = regionSize - HEADER_SIZE - lanes * ringsPerLane();
        return new RegionLayout(DEFAULT_COMMAND_RING_CAPACITY, DEFAULT_COMPLETION_RING_CAPACITY, heap, lanes);
    }

    /**
     * The most lanes, up to {@code wanted}, that a region of {@code regionSize} bytes holds with default rings and
     * at least {@code minLaneHeap} bytes of heap per lane; at least 1.
     */
    public static int lanesThatFit(long regionSize, int wanted, long minLaneHeap) {
        int n = Math.max(1, Math.min(wanted, MAX_LANES));
        while (n > 1 && (regionSize - HEADER_SIZE - n * ringsPerLane()) / n < Math.max(minLaneHeap, MIN_HEAP_SIZE)) {
            n--;
        }
        return n;
    }

    /** Smallest region {@link #forSize(long)} accepts: default rings plus the minimum heap. */
    public static long minimumRegionSize() {
        return minimumRegionSize(1);
    }

    /** Smallest region {@link #forSize(long, int)} accepts for {@code lanes} lanes. */
    public static long minimumRegionSize(int lanes) {
        return HEADER_SIZE + lanes * (ringsPerLane() + MIN_HEAP_SIZE);
    }

    private static long ringsPerLane() {
        return sectionSizeFor(DEFAULT_COMMAND_RING_CAPACITY) + sectionSizeFor(DEFAULT_COMPLETION_RING_CAPACITY);
    }

    /** Offset of lane 0's command ring section. */
    public long commandRingOffset() {
        return commandRingOffset(0);
    }

    /** Offset of lane 0's completion ring section. */
    public long completionRingOffset() {
        return completionRingOffset(0);
    }

    /** Offset of the heap (lane 0's slice starts there). */
    public long heapOffset() {
        return HEADER_SIZE + lanes * (sectionSizeFor(commandRingCapacity) + sectionSizeFor(completionRingCapacity));
    }

    /** Offset of lane {@code lane}'s command ring section. */
    public long commandRingOffset(int lane) {
        checkLane(lane);
        return HEADER_SIZE + lane * (sectionSizeFor(commandRingCapacity) + sectionSizeFor(completionRingCapacity));
    }

    /** Offset of lane {@code lane}'s completion ring section. */
    public long completionRingOffset(int lane) {
        return commandRingOffset(lane) + sectionSizeFor(commandRingCapacity);
    }

    /** Bytes of each lane's heap slice: the heap divided evenly, rounded down to the section alignment. */
    public long laneHeapSize() {
        return heapSize / lanes & -SECTION_ALIGNMENT;
    }

    /** Offset of lane {@code lane}'s heap slice. */
    public long laneHeapOffset(int lane) {
        checkLane(lane);
        return heapOffset() + lane * laneHeapSize();
    }

    /** Total bytes of the region: header, every lane's ring sections and the heap. */
    public long regionSize() {
        return heapOffset() + heapSize;
    }

    private void checkLane(int lane) {
        if (lane < 0 || lane >= lanes) {
            throw new IllegalArgumentException("lane " + lane + " is not between 0 and " + (lanes - 1));
        }
    }

    private static void checkRing(String which, long capacity) {
        if (!isPowerOfTwo(capacity) || capacity < MIN_RING_CAPACITY || capacity > MAX_RING_CAPACITY) {
            throw new IllegalArgumentException(which + " ring capacity " + capacity
                    + " must be a power of two between " + MIN_RING_CAPACITY + " and " + MAX_RING_CAPACITY);
        }
    }
}
