package io.ferry.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/architecture.md's measured list of the files a buffer write runs (the output of tools/call-path.sh) names
 * classes that exist, and its counts are those of its lists: a rename or an edit that forgets a count fails here.
 * Whether the list still matches what the code runs takes the trace itself: rerun tools/call-path.sh.
 */
class CallPathDocTest {
    private static final Pattern FILE = Pattern.compile("`([a-z]+)/([A-Z][A-Za-z]*)`");

    @Test
    void theMeasuredListNamesRealClassesAndCountsThem() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "architecture.md"));
        int from = doc.indexOf("**Every file the write runs, measured.**");
        int to = doc.indexOf("So a buffer write runs", from);
        assertTrue(from >= 0 && to > from, "docs/architecture.md lost its measured list of a buffer write's files");
        String list = doc.substring(from, to);
        Set<String> guest = files(side(list, "- **guest, "), "guest");
        Set<String> worker = files(side(list, "- **device worker, "), "device worker");
        assertEquals(count(list, "- **guest, "), guest.size(), "the guest's count against its list");
        assertEquals(count(list, "- **device worker, "), worker.size(), "the worker's count against its list");
        Set<String> all = new LinkedHashSet<>(guest);
        all.addAll(worker);
        Matcher total = Pattern.compile("runs \\*\\*(\\d+) distinct main-code files\\*\\* \\((\\d+) \\+ (\\d+), (\\w+) of")
                .matcher(doc.substring(to));
        assertTrue(total.find(), "the total after the measured list");
        assertEquals(all.size(), Integer.parseInt(total.group(1)), "the distinct files of both lists");
        assertEquals(guest.size(), Integer.parseInt(total.group(2)));
        assertEquals(worker.size(), Integer.parseInt(total.group(3)));
    }

    private static String side(String list, String head) {
        int at = list.indexOf(head);
        assertTrue(at >= 0, "no '" + head + "' in the measured list");
        int end = list.indexOf("\n- **", at + 1);
        return list.substring(at, end < 0 ? list.length() : end);
    }

    private static int count(String list, String head) {
        Matcher m = Pattern.compile(Pattern.quote(head) + "(\\d+) files").matcher(list);
        assertTrue(m.find(), "no count after '" + head + "'");
        return Integer.parseInt(m.group(1));
    }

    /** The classes a side's list names: io.ferry.PACKAGE.NAME, else io.ferry.host.PACKAGE.NAME. */
    private static Set<String> files(String side, String what) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = FILE.matcher(side);
        while (m.find()) {
            String name = null;
            for (String candidate : new String[] {"io.ferry." + m.group(1) + "." + m.group(2),
                    "io.ferry.host." + m.group(1) + "." + m.group(2)}) {
                try {
                    Class.forName(candidate, false, CallPathDocTest.class.getClassLoader());
                    name = candidate;
                    break;
                } catch (ClassNotFoundException e) {
                    // the other candidate
                }
            }
            if (name == null) {
                fail("the " + what + "'s list names " + m.group() + ", which is no class of Ferry's main code");
            }
            out.add(name);
        }
        return out;
    }
}
