package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The static part of a region header, read once and validated ({@link Region#open}). Once a region is open
 * only this snapshot is used, never the shared bytes again: a hostile peer may rewrite the header at any time.
 *
 * @param layoutVersion the layout version (always {@link RegionDescriptor#LAYOUT_VERSION})
 * @param regionSize    bytes of the region
 * @param lanes         each lane's sections (lane 0 first), 1 to {@link RegionDescriptor#MAX_LANES}
 * @param guestName     the guest the region was provisioned for
 */
public record RegionHeader(int layoutVersion, long regionSize, List<Lane> lanes, String guestName) {

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Guest names: a letter or digit, then up to 62 letters, digits, '_', '.' or '-'. */
    static final Pattern GUEST_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

    /**
     * One lane's sections, as validated: both rings and its heap slice lie inside the region and overlap no other
     * section of any lane.
     */
    public record Lane(long commandRingOffset, int commandRingCapacity, long completionRingOffset,
                       int completionRingCapacity, long heapOffset, long heapSize) {
    }

    public RegionHeader {
        lanes = List.copyOf(lanes);
    }

    /** How many lanes the region has. */
    public int laneCount() {
        return lanes.size();
    }

    /** Lane 0's command ring offset. */
    public long commandRingOffset() {
        return lanes.getFirst().commandRingOffset();
    }

    /** Lane 0's command ring capacity (every lane's, in a region the host laid out). */
    public int commandRingCapacity() {
        return lanes.getFirst().commandRingCapacity();
    }

    /** Lane 0's completion ring offset. */
    public long completionRingOffset() {
        return lanes.getFirst().completionRingOffset();
    }

    /** Lane 0's completion ring capacity. */
    public int completionRingCapacity() {
        return lanes.getFirst().completionRingCapacity();
    }

    /** Lane 0's heap slice offset. */
    public long heapOffset() {
        return lanes.getFirst().heapOffset();
    }

    /** Lane 0's heap slice size (every lane's, in a region the host laid out). */
    public long heapSize() {
        return lanes.getFirst().heapSize();
    }

    /** The section sizes of this header as a layout (lane 0's ring capacities, its heap slice times the lanes). */
    public RegionLayout layout() {
        return new RegionLayout(commandRingCapacity(), completionRingCapacity(), heapSize() * laneCount(),
                laneCount());
    }

    /** Writes a fresh header for {@code layout}; MAGIC is left for the caller to publish last. */
    static void write(MemorySegment segment, RegionLayout layout, String guestName, byte[] credential) {
        segment.set(INT, LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
        segment.set(INT, HEADER_SIZE_OFFSET, HEADER_SIZE);
        segment.set(LONG, REGION_SIZE_OFFSET, layout.regionSize());
        segment.set(INT, LANE_COUNT_OFFSET, layout.lanes());
        for (int i = 0; i < layout.lanes(); i++) {
            long at = laneSectionsOffset(i);
            segment.set(LONG, at + LANE_COMMAND_RING_OFFSET_OFFSET, layout.commandRingOffset(i));
            segment.set(LONG, at + LANE_COMMAND_RING_CAPACITY_OFFSET, layout.commandRingCapacity());
            segment.set(LONG, at + LANE_COMPLETION_RING_OFFSET_OFFSET, layout.completionRingOffset(i));
            segment.set(LONG, at + LANE_COMPLETION_RING_CAPACITY_OFFSET, layout.completionRingCapacity());
            segment.set(LONG, at + LANE_HEAP_OFFSET_OFFSET, layout.laneHeapOffset(i));
            segment.set(LONG, at + LANE_HEAP_SIZE_OFFSET, layout.laneHeapSize());
        }
        byte[] name = guestName.getBytes(StandardCharsets.UTF_8);
        segment.asSlice(GUEST_NAME_OFFSET, GUEST_NAME_LENGTH).fill((byte) 0);
        MemorySegment.copy(name, 0, segment, ValueLayout.JAVA_BYTE, GUEST_NAME_OFFSET, name.length);
        MemorySegment.copy(credential, 0, segment, ValueLayout.JAVA_BYTE, CREDENTIAL_OFFSET, CREDENTIAL_LENGTH);
    }

    /** Throws unless {@code name} is a valid guest name. */
    static void checkGuestName(String name) {
        if (name == null || !GUEST_NAME.matcher(name).matches()) {
            throw new RegionException(Status.INVALID_ARGUMENT, "guest name '" + name + "' is not valid: use 1 to "
                    + GUEST_NAME_MAX_LENGTH + " characters from A-Z a-z 0-9 _ . - starting with a letter or digit");
        }
    }

    /**
     * Reads every header field once and validates the values against each other and against the
     * {@code mappedSize} bytes that are actually mapped.
     *
     * @param what names the file in messages
     */
    static RegionHeader read(MemorySegment segment, long mappedSize, String what) {
        if (mappedSize < HEADER_SIZE) {
            throw bad(what + " is too small to be a Ferry region: " + mappedSize + " bytes, a header alone needs "
                    + HEADER_SIZE + "; re-provision the guest");
        }
        // Acquire pairs with the release store of MAGIC in Region.create: a region whose magic we see has
        // its other header fields written.
        long magic = (long) Region.LONG_HANDLE.getAcquire(segment, (long) MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw bad(what + " is not a Ferry region: bad magic 0x" + Long.toHexString(magic) + " (expected 0x"
                    + Long.toHexString(MAGIC) + "); it was not provisioned by ferry or was overwritten");
        }
        int version = segment.get(INT, LAYOUT_VERSION_OFFSET);
        if (version != LAYOUT_VERSION) {
            throw new RegionException(Status.VERSION_MISMATCH, what + " has layout version " + version
                    + ", this library speaks " + LAYOUT_VERSION + "; use a guest library of the host's version");
        }
        int headerSize = segment.get(INT, HEADER_SIZE_OFFSET);
        long regionSize = segment.get(LONG, REGION_SIZE_OFFSET);
        int laneCount = segment.get(INT, LANE_COUNT_OFFSET);
        byte[] nameBytes = segment.asSlice(GUEST_NAME_OFFSET, GUEST_NAME_LENGTH).toArray(ValueLayout.JAVA_BYTE);

        if (headerSize != HEADER_SIZE) {
            throw bad(what + " has header size " + headerSize + ", expected " + HEADER_SIZE);
        }
        if (regionSize < HEADER_SIZE || regionSize > mappedSize) {
            throw bad(what + " claims region size " + regionSize + " but " + mappedSize
                    + " bytes are mapped; the file is truncated or the header is corrupt");
        }
        if (regionSize % SECTION_ALIGNMENT != 0) {
            throw bad(what + " has region size " + regionSize + ", not a multiple of " + SECTION_ALIGNMENT);
        }
        if (laneCount < 1 || laneCount > MAX_LANES) {
            throw bad(what + " has lane count " + laneCount + ", expected 1 to " + MAX_LANES);
        }
        List<Lane> lanes = new ArrayList<>(laneCount);
        List<Section> sections = new ArrayList<>();
        sections.add(new Section("header", 0, HEADER_SIZE));
        for (int i = 0; i < laneCount; i++) {
            // each field read once into a local, validated, then kept
            long at = laneSectionsOffset(i);
            long cmdOffset = segment.get(LONG, at + LANE_COMMAND_RING_OFFSET_OFFSET);
            long cmdCapacity = segment.get(LONG, at + LANE_COMMAND_RING_CAPACITY_OFFSET);
            long cplOffset = segment.get(LONG, at + LANE_COMPLETION_RING_OFFSET_OFFSET);
            long cplCapacity = segment.get(LONG, at + LANE_COMPLETION_RING_CAPACITY_OFFSET);
            long heapOffset = segment.get(LONG, at + LANE_HEAP_OFFSET_OFFSET);
            long heapSize = segment.get(LONG, at + LANE_HEAP_SIZE_OFFSET);
            String lane = laneCount == 1 ? "" : "lane " + i + "'s ";
            checkRingCapacity(what, lane + "command", cmdCapacity);
            checkRingCapacity(what, lane + "completion", cplCapacity);
            if (heapSize < MIN_HEAP_SIZE || heapSize % SECTION_ALIGNMENT != 0) {
                throw bad(what + " has " + lane + "heap size " + heapSize + ", expected at least " + MIN_HEAP_SIZE
                        + " and a multiple of " + SECTION_ALIGNMENT);
            }
            sections.add(section(what, lane + "command ring", cmdOffset, sectionSizeFor(cmdCapacity), regionSize));
            sections.add(section(what, lane + "completion ring", cplOffset, sectionSizeFor(cplCapacity), regionSize));
            sections.add(section(what, lane + "heap", heapOffset, heapSize, regionSize));
            lanes.add(new Lane(cmdOffset, (int) cmdCapacity, cplOffset, (int) cplCapacity, heapOffset, heapSize));
        }
        sections.sort(Comparator.comparingLong(Section::offset));
        for (int i = 1; i < sections.size(); i++) {
            Section prev = sections.get(i - 1);
            Section next = sections.get(i);
            if (prev.offset + prev.size > next.offset) {
                throw bad(what + " has overlapping sections: " + prev + " overlaps " + next);
            }
        }
        int nul = 0;
        while (nul < GUEST_NAME_LENGTH && nameBytes[nul] != 0) {
            nul++;
        }
        if (nul == GUEST_NAME_LENGTH) {
            throw bad(what + " has a guest name that is not NUL terminated within " + GUEST_NAME_LENGTH + " bytes");
        }
        String guestName = new String(nameBytes, 0, nul, StandardCharsets.UTF_8);
        if (!GUEST_NAME.matcher(guestName).matches()) {
            throw bad(what + " has an invalid guest name '" + guestName + "'");
        }
        return new RegionHeader(version, regionSize, lanes, guestName);
    }

    private static void checkRingCapacity(String what, String ring, long capacity) {
        if (!isPowerOfTwo(capacity) || capacity < MIN_RING_CAPACITY || capacity > MAX_RING_CAPACITY) {
            throw bad(what + " has " + ring + " ring capacity " + capacity + ", expected a power of two between "
                    + MIN_RING_CAPACITY + " and " + MAX_RING_CAPACITY);
        }
    }

    private static Section section(String what, String name, long offset, long size, long regionSize) {
        if (offset < 0 || offset % SECTION_ALIGNMENT != 0) {
            throw bad(what + " has " + name + " offset " + offset + ", not a multiple of " + SECTION_ALIGNMENT);
        }
        if (offset > regionSize || size > regionSize - offset) {
            throw bad(what + " has " + name + " section [" + offset + ", +" + size + ") outside the region of "
                    + regionSize + " bytes");
        }
        return new Section(name, offset, size);
    }

    private static RegionException bad(String message) {
        return new RegionException(Status.PROTOCOL_VIOLATION, message);
    }

    private record Section(String name, long offset, long size) {
        @Override
        public String toString() {
            return name + " [" + offset + ", " + (offset + size) + ")";
        }
    }
}
