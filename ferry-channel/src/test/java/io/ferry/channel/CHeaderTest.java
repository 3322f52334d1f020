package io.ferry.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The checked-in ferry_wire.h must be what {@link CHeader} writes from the Java definitions, and valid C11. */
class CHeaderTest {
    private static final Path CHECKED_IN = Path.of("..").resolve(CHeader.CHECKED_IN);

    @Test
    void checkedInHeaderIsCurrent() throws Exception {
        String want = CHeader.text();
        if (Boolean.getBoolean("ferry.regenerate")) {
            Files.writeString(CHECKED_IN, want);
        }
        String have = Files.exists(CHECKED_IN) ? Files.readString(CHECKED_IN) : "";
        assertEquals(want, have, CHeader.CHECKED_IN + " is out of date with the Java wire definitions; regenerate "
                + "it from the repository root with: " + CHeader.REGENERATE);
    }

    @Test
    void headerCompilesAsC11() throws Exception {
        Path cc = null;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "cc"))) {
                cc = Path.of(dir, "cc");
                break;
            }
        }
        assumeTrue(cc != null, "no C compiler (cc) on the PATH");
        Path dir = Files.createTempDirectory("ferry-wire");
        try {
            Path src = dir.resolve("use.c");
            Files.writeString(src, "#include \"ferry_wire.h\"\n"
                    + "_Static_assert(FERRY_LAUNCH_ARGC == 14, \"LAUNCH argc\");\n"
                    + "_Static_assert(FERRY_CALL_LENGTH(FERRY_LAUNCH_ARGC, 0) == 136, \"LAUNCH length\");\n"
                    + "_Static_assert(FERRY_COMPLETION_HEADER_LENGTH == 56, \"completion header\");\n"
                    + "static const uint64_t magic = FERRY_HELLO_MAGIC;\n"
                    + "int main(void) { return (int) (magic & 0) + FERRY_STATUS_OK; }\n");
            Process p = new ProcessBuilder(cc.toString(), "-std=c11", "-Wall", "-Werror", "-fsyntax-only",
                    "-I", CHECKED_IN.getParent().toAbsolutePath().toString(), src.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(true, p.waitFor(60, TimeUnit.SECONDS), "cc did not finish");
            assertEquals(0, p.exitValue(), "ferry_wire.h does not compile as C11:\n" + out);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
