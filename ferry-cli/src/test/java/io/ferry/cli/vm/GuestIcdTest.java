package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestIcdTest {

    @Test
    void lddOutputGivesEveryResolvedLibraryAndTheLoader() {
        String out = """
                \tlinux-vdso.so.1 (0x00007ffd5d1f6000)
                \tlibOpenCL.so.1 => /lib/x86_64-linux-gnu/libOpenCL.so.1 (0x00007f2b1c5e8000)
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2b1c407000)
                \tlibmissing.so.2 => not found
                \t/lib64/ld-linux-x86-64.so.2 (0x00007f2b1c60f000)
                """;

        assertEquals(List.of(Path.of("/lib/x86_64-linux-gnu/libOpenCL.so.1"),
                Path.of("/lib/x86_64-linux-gnu/libc.so.6"), Path.of("/lib64/ld-linux-x86-64.so.2")),
                GuestIcd.parseLdd(out));
    }

    @Test
    void filesGoInWithTheirParentDirectoriesOnce() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioWriter w = new CpioWriter(bytes)) {
            GuestIcd.write(w, List.of(
                    new GuestIcd.GuestFile("etc/OpenCL/vendors/ferry.icd", "/ferry/icd/libferry-opencl.so\n"
                            .getBytes(StandardCharsets.UTF_8), false),
                    new GuestIcd.GuestFile("ferry/icd/native_demo", new byte[] {0x7f, 'E'}, true),
                    new GuestIcd.GuestFile("ferry/icd/libferry-opencl.so", new byte[] {0x7f}, false)));
        }

        List<CpioWriterTest.Entry> entries = CpioWriterTest.read(bytes.toByteArray());

        assertEquals(List.of("etc", "etc/OpenCL", "etc/OpenCL/vendors", "etc/OpenCL/vendors/ferry.icd", "ferry",
                "ferry/icd", "ferry/icd/native_demo", "ferry/icd/libferry-opencl.so"),
                entries.stream().map(CpioWriterTest.Entry::name).toList());
        assertEquals(0100755, entries.get(6).mode());
        assertArrayEquals("/ferry/icd/libferry-opencl.so\n".getBytes(StandardCharsets.UTF_8), entries.get(3).data());
    }

    @Test
    void aCheckoutWithoutTheIcdSaysSoWithTheCommand(@TempDir Path repo) throws Exception {
        GuestIcd.Plan p = GuestIcd.prepare(repo, "vm1");

        assertFalse(p.ready());
        assertTrue(p.files().isEmpty() && p.env().isEmpty(), p.toString());
        assertTrue(p.problem().contains("Makefile"), p.problem());
    }

    @Test
    void anIcdThatDoesNotBuildNamesTheMakeCommand(@TempDir Path repo) throws Exception {
        Path icd = Files.createDirectories(repo.resolve("ferry-icd"));
        Files.writeString(icd.resolve("Makefile"), "build/libferry-opencl.so:\n\t@echo no compiler here; exit 1\n");

        GuestIcd.Plan p = GuestIcd.prepare(repo, "vm1");

        assertFalse(p.ready());
        assertTrue(p.problem().contains(GuestIcd.makeCommand(repo)), p.problem());
        assertTrue(p.problem().contains("no compiler here"), p.problem());
    }
}
