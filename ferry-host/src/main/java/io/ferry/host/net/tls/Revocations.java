package io.ferry.host.net.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The host's view of {@code tls/revoked.txt}: reread when the file changes (its inode, modification time or size),
 * checked at each new connection, so {@code ferry guest revoke NAME} takes effect without a restart. A list that
 * cannot be read or parsed is not ignored: {@link #broken()} says why, and {@link GuestCertificates} then refuses
 * every certificate until it is fixed (failing closed, since a broken line may be a revocation).
 */
final class Revocations {
    private final Path file;
    private Object stamp = "never read";
    private Map<BigInteger, SerialList.Entry> entries = Map.of();
    private String broken;

    Revocations(Path file) {
        this.file = file;
    }

    /** The revocation of {@code serial}, or null when it is not revoked. Rereads the file first if it changed. */
    synchronized SerialList.Entry lookup(BigInteger serial) {
        refresh();
        return entries.get(serial);
    }

    /** Why the list is unusable (then every certificate is refused), or null when it is fine or absent. */
    synchronized String broken() {
        refresh();
        return broken;
    }

    private void refresh() {
        Object now;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            now = new Stamp(a.fileKey(), a.lastModifiedTime(), a.size());
        } catch (NoSuchFileException e) {
            now = "absent";
        } catch (IOException e) {
            now = "unreadable";
        }
        if (Objects.equals(now, stamp)) {
            return;
        }
        stamp = now;
        try {
            Map<BigInteger, SerialList.Entry> next = new HashMap<>();
            for (SerialList.Entry e : SerialList.read(file)) {
                next.putIfAbsent(e.serial(), e);
            }
            entries = Map.copyOf(next);
            broken = null;
        } catch (IOException | IllegalArgumentException e) {
            stamp = "broken"; // read again next time: the operator may be fixing it
            entries = Map.of();
            broken = "the revocation list " + file + " cannot be used (" + e.getMessage() + "); every certificate is "
                    + "refused until it is fixed";
        }
    }

    private record Stamp(Object fileKey, FileTime modified, long size) {
    }
}
