package io.ferry.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The checked-in ferry_wire.h, as the C side reads it, against docs/protocol.md (§5 status codes, §6 catalogue:
 * name, code, kind and argument count) and against the Java codec ({@link Op}, {@link Status}). {@link CHeaderTest}
 * checks that the header is what {@link CHeader} writes; this test reads the header's own defines, so a header that
 * disagrees with the document (or a document that lags the catalogue) fails here with the entry named.
 */
class CHeaderDocTest {
    private static final Path HEADER = Path.of("..").resolve(CHeader.CHECKED_IN);
    private static final Path DOC = Path.of("..", "docs", "protocol.md");

    /** One catalogue entry: code, argument count, SYNC or not. */
    private record Entry(int code, int argc, boolean sync) {}

    @Test
    void headerOpcodesMatchTheDocumentsCatalogueAndTheJavaCodec() throws Exception {
        Map<String, Entry> header = headerOps(Files.readString(HEADER));
        Map<String, Entry> doc = docOps(Files.readString(DOC));
        Map<String, Entry> java = new TreeMap<>();
        for (Op op : Op.values()) {
            java.put(op.name(), new Entry(op.code(), op.argNames().size(), op.kind() == Op.Kind.SYNC));
        }
        assertFalse(header.isEmpty(), "no FERRY_OP_x in " + HEADER);
        assertEquals(java.keySet(), header.keySet(), "ops in ferry_wire.h vs io.ferry.protocol.Op");
        assertEquals(header.keySet(), doc.keySet(), "ops in ferry_wire.h vs docs/protocol.md §6");
        for (String op : header.keySet()) {
            assertEquals(java.get(op), header.get(op), op + ": ferry_wire.h (code, argc, sync) vs Op");
            assertEquals(doc.get(op), header.get(op), op + ": ferry_wire.h (code, argc, sync) vs docs/protocol.md §6");
        }
    }

    @Test
    void headerStatusCodesMatchTheDocumentAndTheJavaCodec() throws Exception {
        Map<String, Integer> header = defines(Files.readString(HEADER), "FERRY_STATUS_(\\w+)");
        Map<String, Integer> doc = new TreeMap<>();
        Matcher row = Pattern.compile("(?m)^\\| (\\d+) \\| (\\w+) \\|").matcher(section(Files.readString(DOC), "5"));
        while (row.find()) {
            doc.put(row.group(2), Integer.parseInt(row.group(1)));
        }
        Map<String, Integer> java = new TreeMap<>();
        for (Status s : Status.values()) {
            java.put(s.name(), s.code());
        }
        assertFalse(header.isEmpty(), "no FERRY_STATUS_x in " + HEADER);
        assertEquals(java, header, "status codes in ferry_wire.h vs io.ferry.protocol.Status");
        assertEquals(header, doc, "status codes in ferry_wire.h vs docs/protocol.md §5");
    }

    /**
     * FERRY_OP_x with the defines that follow it up to the next op (the generator writes each op's together):
     * FERRY_x_ARGC, FERRY_x_SYNC, and FERRY_ARG_x_y, one per argument, indices 0 to argc - 1.
     */
    private static Map<String, Entry> headerOps(String h) {
        Map<String, Entry> out = new TreeMap<>();
        Matcher op = Pattern.compile("(?m)^#define FERRY_OP_(\\w+) (\\d+)$").matcher(h);
        boolean more = op.find();
        while (more) {
            String name = op.group(1);
            int code = Integer.parseInt(op.group(2));
            int start = op.end();
            more = op.find();
            String block = h.substring(start, more ? op.start() : h.length());
            Integer argc = defines(block, "FERRY_(" + name + ")_ARGC").get(name);
            Integer sync = defines(block, "FERRY_(" + name + ")_SYNC").get(name);
            assertTrue(argc != null && sync != null,
                    "ferry_wire.h lacks FERRY_" + name + "_ARGC or _SYNC after its opcode");
            Map<String, Integer> args = defines(block, "FERRY_ARG_" + name + "_(\\w+)");
            assertEquals(argc, args.size(), name + ": FERRY_ARG_" + name + "_x defines vs FERRY_" + name + "_ARGC");
            assertEquals(argc, (int) args.values().stream().distinct().filter(i -> i >= 0 && i < argc).count(),
                    name + ": argument indices are not 0.." + (argc - 1) + ": " + args);
            assertTrue(out.put(name, new Entry(code, argc, sync == 1)) == null,
                    "ferry_wire.h defines FERRY_OP_" + name + " twice");
        }
        return out;
    }

    /** §6's rows: | `NAME` | code | kind | arguments | blob | results | (a \| inside a cell is not a border). */
    private static Map<String, Entry> docOps(String doc) {
        Map<String, Entry> out = new TreeMap<>();
        for (String line : section(doc, "6").lines().filter(l -> l.startsWith("| `")).toList()) {
            String[] cells = line.split("(?<!\\\\)\\|");
            assertTrue(cells.length >= 5, "docs/protocol.md §6: a row without its cells: " + line);
            String name = cells[1].strip().replace("`", "");
            String args = cells[4].strip();
            int argc = args.equals("—") || args.isEmpty() ? 0 : args.split(",").length;
            Entry e = new Entry(Integer.parseInt(cells[2].strip()), argc, cells[3].strip().equals("SYNC"));
            assertTrue(out.put(name, e) == null, "docs/protocol.md §6 lists " + name + " twice");
        }
        return out;
    }

    /** The text of "## N. ..." up to the next "## " heading. */
    private static String section(String doc, String number) {
        int start = doc.indexOf("\n## " + number + ". ");
        assertTrue(start >= 0, "docs/protocol.md has no section " + number);
        int end = doc.indexOf("\n## ", start + 1);
        return doc.substring(start, end < 0 ? doc.length() : end);
    }

    /** #define NAME INTEGER (a comment may follow), keyed by the pattern's group 1. */
    private static Map<String, Integer> defines(String header, String name) {
        Map<String, Integer> out = new TreeMap<>();
        Matcher m = Pattern.compile("(?m)^#define " + name + " (-?\\d+)(?: /\\*.*\\*/)?$").matcher(header);
        while (m.find()) {
            out.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return out;
    }
}
