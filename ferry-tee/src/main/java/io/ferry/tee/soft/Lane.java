package io.ferry.tee.soft;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * One lane between the host and the software TEE process: a mapped file that carries one call at a time. The
 * host (one endpoint thread at a time, which holds the lane) writes a request and bumps REQUEST_SEQ; the TEE's
 * thread for this lane serves it and bumps REPLY_SEQ. A lane is a TEE thread: the number of lanes caps how many
 * calls run at once, as the TEE's thread count does for OP-TEE.
 *
 * <pre>
 * Lane file (little-endian)
 *  0      REQUEST_SEQ  u64   host writes (release) after the request body; TEE reads (acquire)
 *  64     REPLY_SEQ    u64   TEE writes (release) after the reply body; host reads (acquire)
 *  128    CANCEL_SEQ   u64   host writes the seq of the request to cancel; the TA polls it
 *  192    TEE_BEAT     u64   the TEE's lane thread, when it starts serving (pid)
 *  256    request body (REQUEST_LENGTH bytes, layout in {@link LaneMessages})
 *  512    reply body   (REPLY_LENGTH bytes)
 *  4096   data: memref buffers, placed by the host at offsets it chooses (DATA_OFFSET + ...)
 * </pre>
 * Why not a ring: exactly one call is outstanding per lane, so a mailbox is enough, and both sides spin on one
 * cache line each (the PingPong pattern of the transport bench). Each sequence word has its own cache line.
 *
 * <p>The file lives in a directory of mode 0700 and has mode 0600: only the host's user maps it.
 */
final class Lane implements AutoCloseable {
    static final long REQUEST_SEQ = 0;
    static final long REPLY_SEQ = 64;
    static final long CANCEL_SEQ = 128;
    static final long TEE_BEAT = 192;
    static final long REQUEST = 256;
    static final long REPLY = 512;
    static final long DATA_OFFSET = 4096;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final Arena arena;
    private final MemorySegment segment;
    private final Path path;
    private final long dataSize;

    private Lane(Arena arena, MemorySegment segment, Path path) {
        this.arena = arena;
        this.segment = segment;
        this.path = path;
        this.dataSize = segment.byteSize() - DATA_OFFSET;
    }

    /** The file of lane {@code i} in the lane directory. */
    static String fileName(int i) {
        return "lane-" + i;
    }

    /** Host: creates the lane file (mode 0600) with {@code dataSize} bytes of data area. */
    static Lane create(Path file, long dataSize) throws IOException {
        long size = DATA_OFFSET + dataSize;
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
            return new Lane(arena, ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena), file);
        } catch (IOException | RuntimeException e) {
            arena.close();
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /** TEE: maps an existing lane file. */
    static Lane open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (size <= DATA_OFFSET) {
                throw new IOException("lane file " + file + " is too small (" + size + " bytes)");
            }
            return new Lane(arena, ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena), file);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    MemorySegment segment() {
        return segment;
    }

    Path path() {
        return path;
    }

    long dataSize() {
        return dataSize;
    }

    /** The request body. */
    MemorySegment request() {
        return segment.asSlice(REQUEST, LaneMessages.REQUEST_LENGTH);
    }

    MemorySegment reply() {
        return segment.asSlice(REPLY, LaneMessages.REPLY_LENGTH);
    }

    long getAcquire(long offset) {
        return (long) LONG.getAcquire(segment, offset);
    }

    /** Release: every write to the lane before this store is visible to a peer that reads it with acquire. */
    void setRelease(long offset, long value) {
        LONG.setRelease(segment, offset, value);
    }

    @Override
    public void close() {
        arena.close();
    }
}
