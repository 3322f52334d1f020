package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.HEADER_SIZE;
import static io.ferry.channel.RegionDescriptor.MAX_RING_CAPACITY;
import static io.ferry.channel.RegionDescriptor.MIN_HEAP_SIZE;
import static io.ferry.channel.RegionDescriptor.MIN_RING_CAPACITY;
import static io.ferry.channel.RegionDescriptor.SECTION_ALIGNMENT;
import static io.ferry.channel.RegionDescriptor.isPowerOfTwo;
import static io.ferry.channel.RegionDescriptor.sectionSizeFor;

/**
 * Sizes of the sections of a region, from which {@link Region#create} derives the offsets: header, command
 * ring section, completion ring section and heap, in that order, each 4 KiB aligned (see
 * {@link RegionDescriptor}).
 *
 * @param commandRingCapacity    data bytes of the command ring (guest to host): a power of two, at least 4 KiB,
 *                               at most 1 GiB
 * @param completionRingCapacity data bytes of the completion ring (host to guest): same rules
 * @param heapSize               bytes of the heap: at least 64 KiB and a multiple of 4 KiB
 */
public record RegionLayout(int commandRingCapacity, int completionRingCapacity, long heapSize) {

    /** Default command ring capacity used by {@link #forSize}: 256 KiB. */
    public static final int DEFAULT_COMMAND_RING_CAPACITY = 256 * 1024;
    /** Default completion ring capacity used by {@link #forSize}: 64 KiB. */
    public static final int DEFAULT_COMPLETION_RING_CAPACITY = 64 * 1024;

    /** @throws IllegalArgumentException when a size breaks the rules above; the message names the rule */
    public RegionLayout {
        checkRing("command", commandRingCapacity);
        checkRing("completion", completionRingCapacity);
        if (heapSize < MIN_HEAP_SIZE || heapSize % SECTION_ALIGNMENT != 0) {
            throw new IllegalArgumentException("heap size " + heapSize + " must be at least " + MIN_HEAP_SIZE
                    + " bytes and a multiple of " + SECTION_ALIGNMENT);
        }
        if (heapSize > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("heap size " + heapSize + " is absurdly large");
        }
    }

    /**
     * The default layout for a region of exactly {@code regionSize} bytes: a 256 KiB command ring, a 64 KiB
     * completion ring, and the rest heap.
     *
     * @throws IllegalArgumentException when {@code regionSize} is not a multiple of 4 KiB or is below
     *                                  {@link #minimumRegionSize()}
     */
    public static RegionLayout forSize(long regionSize) {
        long minimum = minimumRegionSize();
        if (regionSize < minimum) {
            throw new IllegalArgumentException("region size " + regionSize + " is too small: the default layout"
                    + " needs at least " + minimum + " bytes (" + (minimum / 1024) + " KiB)");
        }
        if (regionSize % SECTION_ALIGNMENT != 0) {
            throw new IllegalArgumentException("region size " + regionSize + " must be a multiple of "
                    + SECTION_ALIGNMENT);
        }
        long heap = regionSize - HEADER_SIZE - sectionSizeFor(DEFAULT_COMMAND_RING_CAPACITY)
                - sectionSizeFor(DEFAULT_COMPLETION_RING_CAPACITY);
        return new RegionLayout(DEFAULT_COMMAND_RING_CAPACITY, DEFAULT_COMPLETION_RING_CAPACITY, heap);
    }

    /** Smallest region {@link #forSize} accepts: default rings plus the minimum heap. */
    public static long minimumRegionSize() {
        return HEADER_SIZE + sectionSizeFor(DEFAULT_COMMAND_RING_CAPACITY)
                + sectionSizeFor(DEFAULT_COMPLETION_RING_CAPACITY) + MIN_HEAP_SIZE;
    }

    /** Offset of the command ring section. */
    public long commandRingOffset() {
        return HEADER_SIZE;
    }

    /** Offset of the completion ring section. */
    public long completionRingOffset() {
        return commandRingOffset() + sectionSizeFor(commandRingCapacity);
    }

    /** Offset of the heap. */
    public long heapOffset() {
        return completionRingOffset() + sectionSizeFor(completionRingCapacity);
    }

    /** Total bytes of the region: header, both ring sections and the heap. */
    public long regionSize() {
        return heapOffset() + heapSize;
    }

    private static void checkRing(String which, long capacity) {
        if (!isPowerOfTwo(capacity) || capacity < MIN_RING_CAPACITY || capacity > MAX_RING_CAPACITY) {
            throw new IllegalArgumentException(which + " ring capacity " + capacity
                    + " must be a power of two between " + MIN_RING_CAPACITY + " and " + MAX_RING_CAPACITY);
        }
    }
}
