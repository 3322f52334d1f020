package io.ferry.cli.vm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Writes a cpio archive in the "newc" format the Linux kernel unpacks as an initramfs: per entry a 110-byte ASCII
 * header ({@code 070701} and thirteen 8-digit hex fields), the NUL-terminated name, padding to 4 bytes, the data,
 * padding to 4 bytes; a {@code TRAILER!!!} entry ends the archive. Only directories and regular files, owned by
 * root. The kernel unpacks archives that are concatenated one after another, so this one can follow the cached
 * base image ({@code tools/vm/build-image.sh}) and add the per-run files.
 */
final class CpioWriter implements AutoCloseable {
    static final String MAGIC = "070701";
    static final String TRAILER = "TRAILER!!!";

    private final OutputStream out;
    private long written;
    private int inode = 1;

    CpioWriter(OutputStream out) {
        this.out = out;
    }

    /** A directory entry (mode 0755). */
    CpioWriter directory(String name) throws IOException {
        header(name, 0040755, 2, 0);
        return this;
    }

    /** A regular file entry with {@code data} (mode 0644, or 0755 when {@code executable}). */
    CpioWriter file(String name, byte[] data, boolean executable) throws IOException {
        header(name, executable ? 0100755 : 0100644, 1, data.length);
        out.write(data);
        written += data.length;
        pad();
        return this;
    }

    /**
     * {@code source} under {@code name}: a regular file as one entry, a directory as itself and everything below
     * it (sorted, so the archive is the same for the same tree).
     */
    CpioWriter tree(String name, Path source) throws IOException {
        if (!Files.isDirectory(source)) {
            return file(name, Files.readAllBytes(source), Files.isExecutable(source));
        }
        directory(name);
        List<Path> children;
        try (Stream<Path> s = Files.list(source)) {
            children = s.sorted().toList();
        }
        for (Path child : children) {
            tree(name + "/" + child.getFileName(), child);
        }
        return this;
    }

    /** Bytes written so far. */
    long size() {
        return written;
    }

    /** Writes the trailer; the stream is left open for the caller to close. */
    @Override
    public void close() throws IOException {
        header(TRAILER, 0, 1, 0);
        out.flush();
    }

    private void header(String name, int mode, int links, long size) throws IOException {
        if (size > 0xffff_ffffL) {
            throw new IOException("cpio newc cannot hold " + name + " of " + size + " bytes (4 GiB at most)");
        }
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append(MAGIC);
        long[] fields = {TRAILER.equals(name) ? 0 : inode++, mode, 0, 0, links, 0, size, 0, 0, 0, 0, nameBytes.length, 0};
        for (long f : fields) {
            h.append(String.format(Locale.ROOT, "%08x", f));
        }
        out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(nameBytes);
        written += 110 + nameBytes.length;
        pad();
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }
}
