package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** A worker's stderr is guest-controlled: the host logs a bounded part of it and keeps nothing else. */
class WorkerOutputTest {

    private static List<String> capture(byte[] output) {
        List<String> lines = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                Object[] p = r.getParameters();
                lines.add(p != null && p.length == 3 ? String.valueOf(p[2]) : r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger log = Logger.getLogger("ferry.host");
        log.addHandler(h);
        try {
            WorkerOutput.drain("g", 42, new ByteArrayInputStream(output));
        } finally {
            log.removeHandler(h);
        }
        return lines;
    }

    @Test
    void aFloodOfOutputIsLoggedOnlyUpToTheBoundAndTheRestIsCounted() {
        byte[] flood = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n".repeat(64 * 1024)
                .getBytes(StandardCharsets.UTF_8); // 4 MiB
        List<String> lines = capture(flood);
        long logged = lines.stream().mapToLong(l -> l.length() + 1).sum();
        assertTrue(logged <= WorkerOutput.MAX_LOGGED_BYTES + 512, "logged " + logged + " bytes");
        String last = lines.getLast();
        assertTrue(last.contains("more characters after 64 KiB of output; not logged"), last);
    }

    @Test
    void anEndlessLineIsCutNotKept() {
        byte[] oneLine = "x".repeat(10 << 20).getBytes(StandardCharsets.UTF_8);
        List<String> lines = capture(oneLine);
        assertTrue(lines.getFirst().length() <= WorkerOutput.MAX_LINE, "line of " + lines.getFirst().length());
    }

    @Test
    void shortOutputIsLoggedWhole() {
        List<String> lines = capture("# A fatal error has been detected\n# SIGSEGV (0xb)\n".getBytes());
        assertEquals(List.of("# A fatal error has been detected", "# SIGSEGV (0xb)"), lines);
    }
}
