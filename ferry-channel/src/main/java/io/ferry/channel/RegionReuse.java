package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.channel.os.Memfd;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Set;

/**
 * Host side: a region that outlives the host process (docs/protocol.md, "Epochs and host restarts"). A host that
 * starts again finds the region it served before, a region file or a sealed memfd kept for it, and takes it
 * over in place, so that a guest that maps it (a process through its descriptor or file, a VM through its BAR)
 * keeps its mapping:
 * <ul>
 *   <li><b>reopened</b> when its header is a valid region of the same guest and the same layout: the header,
 *       the credential (unless the caller gives another) and the heap stay; every lane's CONNECT_REQUEST,
 *       CONNECT_ACK, SESSION_ID and claim are cleared, so no session of the old host is resumed and no old
 *       nonce is taken as a new request;</li>
 *   <li><b>re-initialised</b> in place when it is of the right size but not such a region (corrupt, another
 *       layout, another guest): header and rings written anew, as a fresh region;</li>
 *   <li><b>created</b> anew otherwise (absent, another size, not a regular file): a new file or memfd.</li>
 * </ul>
 * The caller publishes the new epoch and heartbeat right after.
 */
public final class RegionReuse {
    private RegionReuse() {
    }

    /** What became of the region. */
    public enum How { REOPENED, REINITIALISED, CREATED }

    /**
     * The region and what was done to get it.
     *
     * @param why why it was not reopened (null when it was)
     */
    public record Result(Region region, How how, String why) {
    }

    /**
     * The region file of {@code guestName} at {@code file}: reopened, re-initialised or created (see the class).
     * Never follows a link: a link (or anything not a regular file) at {@code file} is removed and a file made.
     *
     * @param credential the credential to store, or null to keep the one a reopened region holds
     * @param fresh      the credential of a region re-initialised or created when {@code credential} is null
     */
    public static Result file(Path file, String guestName, RegionLayout layout, byte[] credential, byte[] fresh) {
        long size = layout.regionSize();
        String why;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isRegularFile() && a.size() == size) {
                Arena arena = Arena.ofShared();
                try {
                    MemorySegment segment;
                    try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.READ,
                            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS))) {
                        if (ch.size() != size) {
                            throw new IOException("its size changed to " + ch.size() + " while it was opened");
                        }
                        segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                    }
                    return adopt(file, -1, arena, segment, guestName, layout, credential, fresh);
                } catch (IOException | RuntimeException e) {
                    arena.close();
                    throw e;
                }
            }
            why = !a.isRegularFile() ? "it is not a regular file" : "its size is " + a.size() + " bytes, the layout"
                    + " needs " + size;
            Files.delete(file); // unlink never follows a link
        } catch (NoSuchFileException e) {
            why = "there was none";
        } catch (IOException e) {
            throw new RegionException(Status.INTERNAL, "cannot reopen region file " + file + ": " + e, e);
        }
        return new Result(Region.create(file, guestName, layout, credential != null ? credential : fresh),
                How.CREATED, why);
    }

    /**
     * A sealed region from {@code held}, a memfd kept across the host's restart (or -1 for none): reopened or
     * re-initialised in place when it is sealed to a fixed size of exactly the layout's bytes, else a new sealed
     * region is created ({@link Region#createSealed}). The result owns {@code held} when it maps it; otherwise
     * {@code held} is closed here.
     */
    public static Result sealed(int held, String guestName, RegionLayout layout, byte[] credential, byte[] fresh) {
        String why = "none was kept";
        if (held >= 0) {
            long size = layout.regionSize();
            Arena arena = Arena.ofShared();
            try {
                int seals = Memfd.seals(held);
                Path path = Memfd.procPath(held);
                if ((seals & Memfd.SEALS_FIXED_SIZE) != Memfd.SEALS_FIXED_SIZE) {
                    why = "the kept descriptor is not sealed to a fixed size (seals 0x" + Integer.toHexString(seals)
                            + ")";
                } else {
                    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        if (ch.size() == size) {
                            MemorySegment segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                            return adopt(path, held, arena, segment, guestName, layout, credential, fresh);
                        }
                        why = "the kept memfd has " + ch.size() + " bytes, the layout needs " + size;
                    }
                }
            } catch (IOException | RuntimeException e) {
                why = "the kept descriptor could not be mapped: " + e.getMessage();
            }
            arena.close();
            Memfd.closeQuietly(held);
        }
        return new Result(Region.createSealed(guestName, layout, credential != null ? credential : fresh),
                How.CREATED, why);
    }

    private static Result adopt(Path path, int fd, Arena arena, MemorySegment segment, String guestName,
                                RegionLayout layout, byte[] credential, byte[] fresh) {
        long size = layout.regionSize();
        // The live header is read once: the guest may still map the region and write it while the host decides.
        // A region reopened is served from that validated copy; one re-initialised, from what the host wrote.
        RegionHeader live = null;
        String why;
        try {
            live = RegionHeader.read(segment, segment.byteSize(), path.toString());
            why = !live.guestName().equals(guestName) ? "it is the region of guest '" + live.guestName() + "'"
                    : mismatch(live, layout);
        } catch (RegionException e) {
            why = e.getMessage();
        }
        How how;
        RegionHeader header;
        if (why == null) {
            byte[] stored = segment.asSlice(CREDENTIAL_OFFSET, CREDENTIAL_LENGTH).toArray(ValueLayout.JAVA_BYTE);
            if (credential != null && !Arrays.equals(stored, credential)) {
                MemorySegment.copy(credential, 0, segment, ValueLayout.JAVA_BYTE, CREDENTIAL_OFFSET,
                        CREDENTIAL_LENGTH);
            }
            clearLanes(segment, layout.lanes());
            how = How.REOPENED;
            header = live;
        } else {
            initialise(segment, layout, guestName, credential != null ? credential : fresh);
            how = How.REINITIALISED;
            header = RegionHeader.read(segment, size, path.toString());
        }
        return new Result(Region.mapped(path, fd, arena, segment, header), how, why);
    }

    private static String mismatch(RegionHeader h, RegionLayout layout) {
        if (h.regionSize() != layout.regionSize() || h.laneCount() != layout.lanes()) {
            return "its layout differs (" + h.laneCount() + " lane(s) in " + h.regionSize() + " bytes)";
        }
        for (int i = 0; i < layout.lanes(); i++) {
            RegionHeader.Lane l = h.lanes().get(i);
            if (l.commandRingOffset() != layout.commandRingOffset(i)
                    || l.commandRingCapacity() != layout.commandRingCapacity()
                    || l.completionRingOffset() != layout.completionRingOffset(i)
                    || l.completionRingCapacity() != layout.completionRingCapacity()
                    || l.heapOffset() != layout.laneHeapOffset(i) || l.heapSize() != layout.laneHeapSize()) {
                return "its layout differs (lane " + i + "'s sections)";
            }
        }
        return null;
    }

    /** Every lane's connect words and claim to 0: no session, no pending request, no holder. */
    private static void clearLanes(MemorySegment segment, int lanes) {
        for (int i = 0; i < lanes; i++) {
            long w = laneWordsOffset(i);
            Region.LONG_HANDLE.setRelease(segment, w + LANE_CONNECT_ACK_OFFSET, 0L);
            Region.LONG_HANDLE.setRelease(segment, w + LANE_SESSION_ID_OFFSET, 0L);
            Region.LONG_HANDLE.setRelease(segment, w + LANE_CONNECT_REQUEST_OFFSET, 0L);
            Region.LONG_HANDLE.setRelease(segment, w + LANE_CLAIM_WORD_OFFSET, 0L);
        }
    }

    /** A fresh header and zeroed rings in place: MAGIC cleared first and published last. */
    private static void initialise(MemorySegment segment, RegionLayout layout, String guestName, byte[] credential) {
        if (credential == null || credential.length != CREDENTIAL_LENGTH) {
            throw new IllegalArgumentException("a credential of " + CREDENTIAL_LENGTH + " bytes is needed");
        }
        Region.LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, 0L);
        segment.asSlice(MAGIC_OFFSET + 8, layout.heapOffset() - MAGIC_OFFSET - 8).fill((byte) 0);
        RegionHeader.write(segment, layout, guestName, credential);
        Region.LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, MAGIC);
    }
}
