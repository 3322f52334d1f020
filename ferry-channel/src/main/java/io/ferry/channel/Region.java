package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.channel.os.Memfd;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;

/**
 * A mapped Ferry region: the shared memory between one guest and the host (layout in
 * {@link RegionDescriptor}). The host {@linkplain #create creates} it when the guest is provisioned; the guest
 * (and the host when it re-attaches) {@linkplain #open opens} it. Holding the region is the guest's identity.
 *
 * <p>The static header is read once at open, validated and kept as a {@link RegionHeader} snapshot; the
 * sections ({@link #commandRing()}, {@link #completionRing()}, {@link #heap()}) are sliced from that snapshot,
 * never from the live header, because the peer may rewrite any byte at any time. The live header words (epoch,
 * heartbeats, connect handshake, session id) are read with acquire and written with release; each reader must
 * treat the values as untrusted.
 *
 * <p><b>Lanes.</b> A region has {@link #laneCount()} lanes (ring pairs with a heap slice and connect words, see
 * {@link RegionDescriptor}). A {@code Region} object is a view of one lane of the mapping: {@link #commandRing()},
 * {@link #completionRing()}, {@link #heap()} and the connect words (request, pid, heartbeat, claim, ack, session
 * id) are its lane's; the header, the host's epoch and heartbeat and the credential are the region's. The region
 * as mapped is lane 0's view; {@link #lane(int)} gives another lane's view of the same mapping.
 *
 * <p>{@link #close()} (of any view) unmaps the region; the ring views and the heap segment of every lane are
 * unusable after it, and a thread still using them gets an {@link IllegalStateException}.
 */
public final class Region implements AutoCloseable {

    /** Little-endian long access with explicit memory order; coordinates (MemorySegment, long offset). */
    static final VarHandle LONG_HANDLE = RegionHeader.LONG.varHandle();

    private static final String FILE_MODE = "rw-------";
    private static final String DIRECTORY_MODE = "rwx------";

    private final Path path;
    /** The mapping every lane view shares: its arena, the memfd, whether it is closed. */
    private final Mapping mapping;
    private final MemorySegment segment;
    private final RegionHeader header;
    private final byte[] credential;
    private final int lane;
    /** Offset of this lane's connect words (CONNECT_REQUEST first). */
    private final long words;
    private final SpscRing commandRing;
    private final SpscRing completionRing;
    private final MemorySegment heap;
    private final Region[] lanes;

    /** The memfd behind a sealed region (owned: closed with the region, -1 for a file region) and its arena. */
    private static final class Mapping {
        final int fd;
        final Arena arena;
        boolean closed;

        Mapping(int fd, Arena arena) {
            this.fd = fd;
            this.arena = arena;
        }
    }

    private Region(Path path, Arena arena, MemorySegment segment, RegionHeader header) {
        this(path, -1, arena, segment, header);
    }

    /** A region mapped by {@link RegionReuse}: owns {@code fd} (or -1) and {@code arena}. */
    static Region mapped(Path path, int fd, Arena arena, MemorySegment segment, RegionHeader header) {
        return new Region(path, fd, arena, segment, header);
    }

    private Region(Path path, int fd, Arena arena, MemorySegment segment, RegionHeader header) {
        this(path, new Mapping(fd, arena), segment, header, 0, new Region[header.laneCount()]);
    }

    private Region(Path path, Mapping mapping, MemorySegment segment, RegionHeader header, int lane, Region[] lanes) {
        this.path = path;
        this.mapping = mapping;
        this.segment = segment;
        this.header = header;
        this.lane = lane;
        this.lanes = lanes;
        this.words = laneWordsOffset(lane);
        this.credential = segment.asSlice(CREDENTIAL_OFFSET, CREDENTIAL_LENGTH).toArray(ValueLayout.JAVA_BYTE);
        RegionHeader.Lane l = header.lanes().get(lane);
        this.commandRing = new SpscRing("command",
                segment.asSlice(l.commandRingOffset(), sectionSizeFor(l.commandRingCapacity())),
                l.commandRingCapacity());
        this.completionRing = new SpscRing("completion",
                segment.asSlice(l.completionRingOffset(), sectionSizeFor(l.completionRingCapacity())),
                l.completionRingCapacity());
        this.heap = segment.asSlice(l.heapOffset(), l.heapSize());
        lanes[lane] = this;
    }

    /**
     * The view of lane {@code index} of this mapping (this view for its own lane); views share the mapping, and
     * closing any of them unmaps it.
     *
     * @throws IllegalArgumentException when the region has no such lane
     */
    public Region lane(int index) {
        if (index < 0 || index >= lanes.length) {
            throw new IllegalArgumentException("lane " + index + " is not between 0 and " + (lanes.length - 1)
                    + " (the region of guest '" + header.guestName() + "' has " + lanes.length + " lane(s))");
        }
        synchronized (lanes) {
            Region r = lanes[index];
            return r != null ? r : new Region(path, mapping, segment, header, index, lanes);
        }
    }

    /** Which lane this view is. */
    public int laneIndex() {
        return lane;
    }

    /** How many lanes the region has. */
    public int laneCount() {
        return lanes.length;
    }

    /**
     * Host side: creates and maps a new region file for {@code guestName}. Missing parent directories are
     * created with mode 0700 and the file with mode 0600 (set at creation, where the file system is POSIX).
     * The header is written with MAGIC last, so a region whose magic is visible is complete.
     *
     * @param credential 32 bytes to store in the header, or null for none (all zero)
     * @throws RegionException when the name or credential is invalid, the file exists, or I/O fails
     */
    public static Region create(Path file, String guestName, RegionLayout layout, byte[] credential) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(layout, "layout");
        RegionHeader.checkGuestName(guestName);
        byte[] cred = checkedCredential(credential);
        boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
        long size = layout.regionSize();
        Arena arena = Arena.ofShared();
        boolean created = false;
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                if (posix) {
                    Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString(DIRECTORY_MODE)));
                } else {
                    Files.createDirectories(parent);
                }
            }
            FileAttribute<?>[] attributes = posix
                    ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString(FILE_MODE))}
                    : new FileAttribute<?>[0];
            MemorySegment segment;
            try (FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE), attributes)) {
                created = true;
                // Size the file by writing its last byte; the rest stays a hole (zero) until touched.
                channel.write(ByteBuffer.allocate(1), size - 1);
                segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            RegionHeader.write(segment, layout, guestName, cred);
            // Release: every header field above is visible before MAGIC; pairs with the acquire in open.
            LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, MAGIC);
            RegionHeader header = RegionHeader.read(segment, size, file.toString());
            return new Region(file, arena, segment, header);
        } catch (FileAlreadyExistsException e) {
            arena.close();
            throw new RegionException(Status.INVALID_ARGUMENT, "cannot create region file " + file + ": "
                    + e.getFile() + " already exists; delete it first (Region.delete) if the guest is to be"
                    + " re-provisioned", e);
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (created) {
                deleteQuietly(file, e);
            }
            if (e instanceof RegionException re) {
                throw re;
            }
            throw new RegionException(Status.INTERNAL, "cannot create region file " + file + ": " + e, e);
        }
    }

    /**
     * Host side: creates a region for {@code guestName} as sealed anonymous memory: a memfd named
     * {@code ferry-GUEST}, sized, mapped, its header written (MAGIC last), then sealed against shrinking,
     * growing and further sealing ({@link Memfd#SEALS_FIXED_SIZE}). Nobody, the guest included, can change its
     * size any more, so no mapping of it can fault (SIGBUS) however the descriptor is passed around.
     *
     * <p>The region owns the memfd ({@link #fd()}) until {@link #close()}. {@link #path()} is
     * {@code /proc/HOSTPID/fd/N}: the host's uid (a worker it starts, for one) re-opens the same memory there.
     * A guest gets it only by descriptor ({@code SCM_RIGHTS}), see {@link #openFd(int)}.
     *
     * @param credential 32 bytes to store in the header, or null for none (all zero)
     * @throws RegionException when the name or credential is invalid or a system call fails
     */
    public static Region createSealed(String guestName, RegionLayout layout, byte[] credential) {
        Objects.requireNonNull(layout, "layout");
        RegionHeader.checkGuestName(guestName);
        byte[] cred = checkedCredential(credential);
        long size = layout.regionSize();
        int fd = -1;
        Arena arena = Arena.ofShared();
        try {
            fd = Memfd.create("ferry-" + guestName);
            Memfd.truncate(fd, size);
            Path path = Memfd.procPath(fd);
            MemorySegment segment;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            Memfd.addSeals(fd, Memfd.SEALS_FIXED_SIZE);
            RegionHeader.write(segment, layout, guestName, cred);
            // Release: every header field above is visible before MAGIC; pairs with the acquire in open.
            LONG_HANDLE.setRelease(segment, (long) MAGIC_OFFSET, MAGIC);
            RegionHeader header = RegionHeader.read(segment, size, path.toString());
            return new Region(path, fd, arena, segment, header);
        } catch (IOException | RuntimeException e) {
            arena.close();
            Memfd.closeQuietly(fd);
            if (e instanceof RegionException re) {
                throw re;
            }
            throw new RegionException(Status.INTERNAL, "cannot create a sealed region for guest '" + guestName
                    + "': " + e.getMessage() + "; Ferry needs Linux 3.17+ with memfd_create", e);
        }
    }

    /**
     * Guest side: maps the region behind {@code fd}, a descriptor received from the host. The descriptor is
     * closed once mapped (the mapping keeps the memory). The header is read once and validated, as by
     * {@link #open(Path)}.
     */
    public static Region openFd(int fd) {
        try {
            return open(Path.of("/proc/self/fd/" + fd));
        } finally {
            Memfd.closeQuietly(fd);
        }
    }

    /**
     * Maps an existing region (guest side, or the host re-attaching). {@code file} may be a region file or a
     * PCI BAR resource file whose size is larger than the region; the whole file is mapped, and REGION_SIZE from
     * the header must fit in it. Every header field is read once and validated.
     *
     * @throws RegionException when the file is missing, too small, not a region, of another layout version, or
     *                         its header is inconsistent; the message says which
     */
    public static Region open(Path file) {
        Objects.requireNonNull(file, "file");
        Arena arena = Arena.ofShared();
        try {
            MemorySegment mapped;
            long mappedSize;
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                mappedSize = channel.size();
                if (mappedSize < HEADER_SIZE) {
                    throw new RegionException(Status.PROTOCOL_VIOLATION, file + " is too small to be a Ferry region: "
                            + mappedSize + " bytes, a header alone needs " + HEADER_SIZE + "; re-provision the guest");
                }
                mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, mappedSize, arena);
            }
            RegionHeader header = RegionHeader.read(mapped, mappedSize, file.toString());
            return new Region(file, arena, mapped.asSlice(0, header.regionSize()), header);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new RegionException(Status.NOT_CONFIGURED, "no region file " + file
                    + "; provision the guest first (./ferry guest add NAME) or check the path", e);
        } catch (IOException e) {
            arena.close();
            throw new RegionException(Status.INTERNAL, "cannot map region file " + file + ": " + e, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static byte[] checkedCredential(byte[] credential) {
        byte[] cred = credential == null ? new byte[CREDENTIAL_LENGTH] : credential.clone();
        if (cred.length != CREDENTIAL_LENGTH) {
            throw new RegionException(Status.INVALID_ARGUMENT, "credential must be " + CREDENTIAL_LENGTH
                    + " bytes, got " + cred.length);
        }
        return cred;
    }

    /** Deletes a region file if it exists. Mappings that are still open stay valid until closed. */
    public static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new RegionException(Status.INTERNAL, "cannot delete region file " + file + ": " + e, e);
        }
    }

    /** The whole region, {@code REGION_SIZE} bytes. */
    public MemorySegment segment() {
        return segment;
    }

    /** The validated header snapshot taken when the region was mapped. */
    public RegionHeader header() {
        return header;
    }

    /**
     * The file this region was mapped from; for a sealed region {@code /proc/HOSTPID/fd/N}, which the host's uid
     * can re-open while the region is open.
     */
    public Path path() {
        return path;
    }

    /** The memfd of a sealed region (valid until {@link #close()}), or -1 for a region mapped from a file. */
    public int fd() {
        return mapping.fd;
    }

    /** Whether this is a sealed memfd region created here ({@link #createSealed}). */
    public boolean sealed() {
        return mapping.fd >= 0;
    }

    /** This lane's command ring (guest produces, host consumes). */
    public SpscRing commandRing() {
        return commandRing;
    }

    /** This lane's completion ring (host produces, guest consumes). */
    public SpscRing completionRing() {
        return completionRing;
    }

    /**
     * This lane's heap slice: guest-managed memory for payloads, referred to by (offset, length) from records,
     * offsets counted from the slice's start.
     */
    public MemorySegment heap() {
        return heap;
    }

    /** A copy of the 32-byte credential read at map time; all zero means none. */
    public byte[] credential() {
        return credential.clone();
    }

    // ---- live header words --------------------------------------------------------------------------------
    // Getters are acquire loads: what the writer stored before its release store of the word is visible after.
    // Setters are release stores: what this side stored before (ring resets, other header words) is visible to
    // a peer that acquires the word. Values read are untrusted.

    /** Host epoch (acquire, the region's); changes when a host instance starts serving. */
    public long hostEpoch() {
        return getLongAcquire(HOST_EPOCH_OFFSET);
    }

    /** Host: publishes a new epoch (release). */
    public void hostEpoch(long epoch) {
        putLongRelease(HOST_EPOCH_OFFSET, epoch);
    }

    /** Host heartbeat (acquire). */
    public long hostHeartbeat() {
        return getLongAcquire(HOST_HEARTBEAT_OFFSET);
    }

    /** Host: stores its heartbeat (release). */
    public void hostHeartbeat(long value) {
        putLongRelease(HOST_HEARTBEAT_OFFSET, value);
    }

    /** The guest's connect nonce (acquire); nonzero asks for a fresh session. */
    public long connectRequest() {
        return getLongAcquire(words + LANE_CONNECT_REQUEST_OFFSET);
    }

    /**
     * Guest: asks for a fresh session (release): the guest's pid and anything else it stored before are
     * visible to the host once it sees the nonce.
     */
    public void connectRequest(long nonce) {
        putLongRelease(words + LANE_CONNECT_REQUEST_OFFSET, nonce);
        // The host's endpoint sleeps on the command ring's doorbell between sessions: wake it for the request.
        commandRing.wakeConsumer();
    }

    /**
     * The host's acknowledgement (acquire): once it equals the guest's nonce, the ring resets and the session
     * id the host stored before it are visible.
     */
    public long connectAck() {
        return getLongAcquire(words + LANE_CONNECT_ACK_OFFSET);
    }

    /**
     * Host: acknowledges a connect request (release) after resetting both rings and storing the session id,
     * so the guest that sees the ack sees empty rings and the new session id.
     */
    public void connectAck(long nonce) {
        putLongRelease(words + LANE_CONNECT_ACK_OFFSET, nonce);
    }

    /** Session id (acquire). */
    public long sessionId() {
        return getLongAcquire(words + LANE_SESSION_ID_OFFSET);
    }

    /** Host: stores the session id (release), before {@link #connectAck(long)}. */
    public void sessionId(long id) {
        putLongRelease(words + LANE_SESSION_ID_OFFSET, id);
    }

    /** The guest's process id (acquire). */
    public long guestPid() {
        return getLongAcquire(words + LANE_GUEST_PID_OFFSET);
    }

    /** Guest: stores its process id (release), before {@link #connectRequest(long)}. */
    public void guestPid(long pid) {
        putLongRelease(words + LANE_GUEST_PID_OFFSET, pid);
    }

    /** Guest heartbeat (acquire). */
    public long guestHeartbeat() {
        return getLongAcquire(words + LANE_GUEST_HEARTBEAT_OFFSET);
    }

    /** Guest: stores its heartbeat (release). */
    public void guestHeartbeat(long value) {
        putLongRelease(words + LANE_GUEST_HEARTBEAT_OFFSET, value);
    }

    /** This lane's claim (acquire): the pid of the guest process that holds the lane, 0 when free. Untrusted. */
    public long laneClaim() {
        return getLongAcquire(words + LANE_CLAIM_WORD_OFFSET);
    }

    /**
     * Compare-and-set of this lane's claim (volatile: orders like a full fence): a guest process claims a free
     * lane with {@code (0, pid)}; the host frees it with {@code (holder, 0)} so that it never frees a newer
     * claim. Returns whether the word held {@code expected}.
     */
    public boolean laneClaim(long expected, long value) {
        return LONG_HANDLE.compareAndSet(segment, words + LANE_CLAIM_WORD_OFFSET, expected, value);
    }

    private long getLongAcquire(long offset) {
        return (long) LONG_HANDLE.getAcquire(segment, offset);
    }

    private void putLongRelease(long offset, long value) {
        LONG_HANDLE.setRelease(segment, offset, value);
    }

    /**
     * Unmaps the region (every lane's view of it). Idempotent. Throws {@link IllegalStateException} while another
     * thread is inside a native call on it (a futex wake); the region is then still open and may be closed again.
     */
    @Override
    public void close() {
        synchronized (mapping) {
            if (!mapping.closed) {
                mapping.arena.close();
                mapping.closed = true;
                Memfd.closeQuietly(mapping.fd);
            }
        }
    }

    @Override
    public String toString() {
        return "Region[" + header.guestName() + ", " + path + ", " + header.regionSize() + " bytes, lane " + lane
                + " of " + lanes.length + "]";
    }

    private static void deleteQuietly(Path file, Exception primary) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
