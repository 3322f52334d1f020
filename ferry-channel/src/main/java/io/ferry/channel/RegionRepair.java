package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.HEADER_SIZE;
import static io.ferry.channel.RegionDescriptor.MAGIC;
import static io.ferry.channel.RegionDescriptor.MAGIC_OFFSET;
import static io.ferry.channel.RegionDescriptor.REGION_SIZE_OFFSET;
import static io.ferry.channel.RegionDescriptor.RING_CONTROL_SIZE;

import java.lang.foreign.MemorySegment;

/**
 * Host side: checks a region's live header against what the host wrote, and re-initialises a region in place.
 *
 * <p>The guest can write every byte of its region. The host never trusts the live header (it serves from the
 * snapshot {@link Region#header()} taken at creation), but a fresh client of the guest reads it: a header the guest
 * overwrote locks every later client out ("bad magic ... not a Ferry region") until the host re-initialises it.
 */
public final class RegionRepair {
    private RegionRepair() {
    }

    /**
     * What is wrong with the live header of {@code region}, or null when it still describes the region as the host
     * mapped it: magic, version, sizes, lane table and guest name, each field read once, validated and compared.
     * The credential is not compared: a client checks it against its secret at each handshake and refuses a region
     * whose credential differs ("stale or belongs to another guest"), which is the answer for a tampered one.
     */
    public static String headerProblem(Region region) {
        MemorySegment segment = region.segment();
        RegionHeader header = region.header();
        RegionHeader live;
        try {
            live = RegionHeader.read(segment, segment.byteSize(), "the region of guest '" + header.guestName() + "'");
        } catch (RegionException e) {
            return e.getMessage();
        }
        if (!live.equals(header)) {
            return "its header was overwritten: it now describes " + live + " instead of " + header;
        }
        return null;
    }

    /**
     * Re-initialises {@code region} in place, as {@link Region#create} wrote it: the header page (MAGIC cleared
     * first, published last), every lane's ring control block (positions, waiting flag, doorbell) and the host's
     * ring views of every lane; the heap is left as it is. Same memory, same file or memfd: a VM or a process that
     * maps the region keeps its mapping, and a fresh client finds a valid header. Call only while no endpoint
     * serves any lane. The host epoch and heartbeat are zero afterwards: the caller publishes a new epoch.
     *
     * @throws IllegalStateException when the region is closed
     */
    public static void reinitialize(Region region) {
        MemorySegment segment = region.segment();
        RegionHeader header = region.header();
        byte[] credential = region.credential();
        Region.LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, 0L);
        segment.asSlice(Long.BYTES, HEADER_SIZE - Long.BYTES).fill((byte) 0);
        RegionHeader.write(segment, header.layout(), header.guestName(), credential);
        // the region as created may be larger than its layout needs (a size rounded down to whole sections)
        segment.set(RegionHeader.LONG, REGION_SIZE_OFFSET, header.regionSize());
        for (int i = 0; i < region.laneCount(); i++) {
            Region lane = region.lane(i);
            for (SpscRing ring : new SpscRing[] {lane.commandRing(), lane.completionRing()}) {
                ring.segment().asSlice(0, RING_CONTROL_SIZE).fill((byte) 0);
                ring.reset();
            }
        }
        // Release: every header field above is visible before MAGIC, as in Region.create.
        Region.LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, MAGIC);
    }
}
