package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpioWriterTest {

    /** One entry as the kernel's unpacker reads it. */
    record Entry(String name, int mode, byte[] data) {
    }

    /** A newc reader: checks the magic and the 4-byte alignment of every header and data block. */
    static List<Entry> read(byte[] archive) {
        List<Entry> out = new ArrayList<>();
        int pos = 0;
        while (true) {
            assertEquals(0, pos % 4, "header at " + pos + " is not 4-byte aligned");
            String header = new String(archive, pos, 110, StandardCharsets.US_ASCII);
            assertEquals(CpioWriter.MAGIC, header.substring(0, 6));
            int mode = Integer.parseInt(header.substring(14, 22), 16);
            int size = Integer.parseInt(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            String name = new String(archive, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            assertEquals(0, archive[pos + 110 + nameSize - 1], "name is NUL-terminated");
            pos = align(pos + 110 + nameSize);
            if (name.equals(CpioWriter.TRAILER)) {
                assertEquals(archive.length, pos, "nothing after the trailer");
                return out;
            }
            out.add(new Entry(name, mode, Arrays.copyOfRange(archive, pos, pos + size)));
            pos = align(pos + size);
        }
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    @Test
    void filesAndDirectoriesRoundTrip() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioWriter w = new CpioWriter(bytes)) {
            w.directory("ferry").file("ferry/guest.env", "A=1\n".getBytes(StandardCharsets.UTF_8), false)
                    .file("init", new byte[] {'#', '!'}, true);
        }

        List<Entry> entries = read(bytes.toByteArray());

        assertEquals(List.of("ferry", "ferry/guest.env", "init"), entries.stream().map(Entry::name).toList());
        assertEquals(0040755, entries.get(0).mode());
        assertEquals(0100644, entries.get(1).mode());
        assertEquals(0100755, entries.get(2).mode());
        assertArrayEquals("A=1\n".getBytes(StandardCharsets.UTF_8), entries.get(1).data());
    }

    @Test
    void aTreeIsWrittenSortedWithItsDirectories(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("io/ferry"));
        Files.writeString(dir.resolve("io/ferry/B.class"), "b");
        Files.writeString(dir.resolve("io/ferry/A.class"), "aaaaa");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioWriter w = new CpioWriter(bytes)) {
            w.tree("ferry/lib/00-classes", dir);
        }

        assertEquals(List.of("ferry/lib/00-classes", "ferry/lib/00-classes/io", "ferry/lib/00-classes/io/ferry",
                        "ferry/lib/00-classes/io/ferry/A.class", "ferry/lib/00-classes/io/ferry/B.class"),
                read(bytes.toByteArray()).stream().map(Entry::name).toList());
    }

    @Test
    void anEmptyArchiveIsJustTheTrailer() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new CpioWriter(bytes).close();

        assertEquals(List.of(), read(bytes.toByteArray()));
    }
}
