package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.channel.os.Memfd;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A local copy of a host's region for the stream transport (docs/network.md): the guest library makes one from the
 * header page the host sends (OPENED) and runs its ordinary code on it, while a pump replays one lane over the
 * stream. The mirror is anonymous shared memory (a memfd) of the region's size, so every offset is the host's; its
 * pages cost nothing until touched.
 *
 * <p>The header page comes from the host and is untrusted: it is validated as any region header is
 * ({@link RegionHeader#read}) before anything is sliced from it. Every lane's connect words and claim start at 0
 * (the host's values there are its own business), and the ring sections start empty.
 */
public final class RegionMirror {
    /** Largest region a mirror is made for (a host announcing more is not believed). */
    public static final long MAX_REGION_SIZE = 64L << 30;

    private RegionMirror() {
    }

    /**
     * A mirror of the region whose {@value RegionDescriptor#HEADER_SIZE}-byte header page is {@code headerPage}:
     * a memfd named {@code ferry-mirror-GUEST} of REGION_SIZE bytes, the page copied in, then validated.
     *
     * @param what names the source in messages (the host's address)
     * @throws RegionException PROTOCOL_VIOLATION when the page is not a valid region header, INTERNAL when the
     *                         memory cannot be made
     */
    public static Region create(MemorySegment headerPage, String what) {
        if (headerPage.byteSize() < HEADER_SIZE) {
            throw new RegionException(Status.PROTOCOL_VIOLATION, "the header page from " + what + " has "
                    + headerPage.byteSize() + " bytes, not " + HEADER_SIZE);
        }
        long size = headerPage.get(ValueLayout.JAVA_LONG_UNALIGNED, REGION_SIZE_OFFSET);
        if (size < HEADER_SIZE || size > MAX_REGION_SIZE || size % SECTION_ALIGNMENT != 0) {
            throw new RegionException(Status.PROTOCOL_VIOLATION, "the region from " + what + " claims "
                    + size + " bytes: not a multiple of " + SECTION_ALIGNMENT + " between " + HEADER_SIZE + " and "
                    + MAX_REGION_SIZE);
        }
        int fd = -1;
        Arena arena = Arena.ofShared();
        try {
            fd = Memfd.create("ferry-mirror");
            Memfd.truncate(fd, size);
            Path path = Memfd.procPath(fd);
            MemorySegment segment;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            Memfd.addSeals(fd, Memfd.SEALS_FIXED_SIZE);
            MemorySegment.copy(headerPage, 0, segment, 0, HEADER_SIZE);
            RegionHeader header = RegionHeader.read(segment, size, what);
            for (int i = 0; i < header.laneCount(); i++) {
                long w = laneWordsOffset(i);
                for (long o : new long[] {LANE_CONNECT_REQUEST_OFFSET, LANE_GUEST_PID_OFFSET,
                        LANE_GUEST_HEARTBEAT_OFFSET, LANE_CLAIM_WORD_OFFSET, LANE_CONNECT_ACK_OFFSET,
                        LANE_SESSION_ID_OFFSET}) {
                    Region.LONG_HANDLE.setRelease(segment, w + o, 0L);
                }
            }
            return Region.mapped(path, fd, arena, segment, header);
        } catch (IOException | RuntimeException e) {
            arena.close();
            Memfd.closeQuietly(fd);
            if (e instanceof RegionException re) {
                throw re.status() != Status.PROTOCOL_VIOLATION ? re : new RegionException(Status.PROTOCOL_VIOLATION,
                        "the host at " + what + " sent a header page that is not a valid region: " + re.getMessage(),
                        re);
            }
            throw new RegionException(Status.INTERNAL, "cannot make the local mirror of the region from " + what
                    + ": " + e.getMessage() + "; Ferry needs Linux 3.17+ with memfd_create", e);
        }
    }
}
