package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ./ferry ops-demo} end to end, as the launcher runs it: a host process, two guests added live, workloads, a
 * host restart under the guests, a reset, the dashboard (and its screenshot where Chromium is installed). Every
 * step must verify: {@code ops-demo: N verified, 0 failed}.
 */
class OpsDemoCommandTest {

    @Test
    void everyStepVerifies(@TempDir Path dir) {
        Path shot = dir.resolve("dashboard.png");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            code = new CommandLine(new Main()).execute("ops-demo", "--screenshot", shot.toString());
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.print(out);
        List<String> lines = out.strip().lines().toList();
        Matcher m = Pattern.compile("ops-demo: (\\d+) verified, (\\d+) failed").matcher(lines.getLast());
        assertTrue(m.matches(), "last line: " + lines.getLast());
        assertEquals("0", m.group(2), out);
        assertEquals(0, code, out);
        for (String step : List.of("1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. ")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(step)), "no step " + step + "in\n" + out);
        }
        // rounds: alice four (start, restart, reset, dashboard), bob three; each of at least one workload
        assertTrue(Integer.parseInt(m.group(1)) >= 10, out);
        assertTrue(out.contains("dashboard: http://127.0.0.1:"), out);
        if (OpsChildren.onPath("chromium", "chromium-browser") != null) {
            assertTrue(Files.isRegularFile(shot), "no screenshot at " + shot + "\n" + out);
        }
    }
}
