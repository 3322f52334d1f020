package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/protocol.md must describe every opcode and status code the code defines. */
class ProtocolDocTest {

    private static String doc() throws Exception {
        Path p = Path.of("..", "docs", "protocol.md");
        return Files.readString(p);
    }

    @Test
    void everyOpcodeIsListedWithItsCodeAndArguments() throws Exception {
        String doc = doc();
        for (Op op : Op.values()) {
            String row = doc.lines().filter(l -> l.startsWith("| `" + op.name() + "` |")).findFirst().orElse("");
            assertTrue(!row.isEmpty(), op + " is missing from docs/protocol.md's catalogue");
            assertTrue(row.contains("| " + op.code() + " |"), op + ": code " + op.code() + " not in: " + row);
            assertTrue(row.contains("| " + op.kind() + " |"), op + ": kind " + op.kind() + " not in: " + row);
            String args = op.argNames().isEmpty() ? "—" : String.join(", ", op.argNames());
            assertTrue(row.contains("| " + args + " |"), op + ": arguments '" + args + "' not in: " + row);
        }
    }

    @Test
    void everyStatusCodeIsListed() throws Exception {
        String doc = doc();
        for (Status s : Status.values()) {
            assertTrue(doc.contains("| " + s.code() + " | " + s.name() + " |"), s + " is missing from docs/protocol.md");
        }
    }
}
