package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * One lane between the host and the software TEE process: a mapped file that carries one call at a time, its
 * layout and fields in {@link TeeLane}. The host (one endpoint thread at a time, which holds the instance's lock)
 * writes a request and publishes it; the TEE's thread for this lane serves it and publishes the reply.
 *
 * <p>The file lives in a directory of mode 0700 and has mode 0600: only the host's user maps it.
 */
final class Lane implements AutoCloseable {
    private final Arena arena;
    private final Path path;
    private final TeeLane wire;

    private Lane(Arena arena, MemorySegment segment, Path path) {
        this.arena = arena;
        this.path = path;
        this.wire = new TeeLane(segment);
    }

    /** The file of lane {@code i} in the lane directory. */
    static String fileName(int i) {
        return "lane-" + i;
    }

    /** Host: creates the lane file (mode 0600) with {@code dataSize} bytes of data area. */
    static Lane create(Path file, long dataSize) throws IOException {
        long size = TeeLane.DATA_OFFSET + dataSize;
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
            if (size <= TeeLane.DATA_OFFSET) {
                throw new IOException("lane file " + file + " is too small (" + size + " bytes)");
            }
            return new Lane(arena, ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena), file);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The lane's fields. */
    TeeLane wire() {
        return wire;
    }

    Path path() {
        return path;
    }

    @Override
    public void close() {
        arena.close();
    }
}
