package io.ferry.spi.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real sandboxed JVM ({@link Bubblewrap#java}) stays in the host's session, so the CPU scheduler's session groups
 * (autogroup) do not undo the host's per-class priorities, and still has no way to the host's terminal.
 */
class BubblewrapSessionTest {

    /** Runs in the sandbox: prints its scheduler group and what reading /dev/tty gives. */
    public static final class Probe {
        public static void main(String[] args) throws IOException {
            Path group = Path.of("/proc/self/autogroup");
            System.out.println("group=" + (Files.exists(group) ? Files.readString(group).strip() : "none"));
            String tty;
            try {
                tty = "read " + Files.readAllBytes(Path.of("/dev/tty")).length + " bytes";
            } catch (IOException e) {
                tty = "refused";
            }
            System.out.println("tty=" + tty);
        }
    }

    @Test
    void theSandboxSharesTheHostsSchedulerGroupAndHasNoTerminal() throws Exception {
        String bwrap = Bubblewrap.find();
        assumeTrue(bwrap != null && Bubblewrap.selfCheck(bwrap, "test", "a probe", "skip") == null,
                "bubblewrap cannot make a sandbox here");
        List<String> cp = List.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator));
        List<String> cmd = new ArrayList<>(Bubblewrap.java(bwrap, 16L << 20, cp, List.of(), Map.of(), false));
        cmd.addAll(List.of("-cp", String.join(java.io.File.pathSeparator, cp), Probe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the probe did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        Path mine = Path.of("/proc/self/autogroup");
        String expected = Files.exists(mine) ? Files.readString(mine).strip() : "none";
        assertTrue(out.contains("group=" + expected + "\n"), "the sandbox must share the host's scheduler group "
                + expected + ": " + out);
        assertTrue(out.contains("tty=read 0 bytes") || out.contains("tty=refused"), out);
    }
}
