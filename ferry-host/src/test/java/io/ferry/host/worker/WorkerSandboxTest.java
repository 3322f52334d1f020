package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's start check: without a working bubblewrap, isolation: process is refused, saying why and the fix. And
 * the diagnostic recording of workers ({@code FERRY_WORKER_JFR}): only an absolute, existing directory turns it on.
 */
class WorkerSandboxTest {

    @Test
    void aMissingBwrapIsRefusedNamingThePackage() {
        String why = WorkerSandbox.selfCheck(null);
        assertTrue(why.contains("bubblewrap") && why.contains("apt-get install -y bubblewrap"), why);
        assertTrue(why.contains("isolation: inprocess"), why);
        assertTrue(WorkerSandbox.selfCheck("/nonexistent/bwrap").contains("no /nonexistent/bwrap"));
    }

    @Test
    void aBwrapThatCannotMakeTheSandboxIsRefused() {
        String why = WorkerSandbox.selfCheck("/bin/false");
        assertTrue(why.contains("self-check failed") && why.contains("exited with 1"), why);
    }

    @Test
    void theInstalledBwrapPasses() {
        if (Files.isExecutable(Path.of("/usr/bin/bwrap"))) {
            assertNull(WorkerSandbox.selfCheck("/usr/bin/bwrap"));
        }
    }

    @Test
    void onlyAnAbsoluteExistingPlainDirectoryTurnsTheRecordingOn(@TempDir Path dir) throws Exception {
        assertNull(WorkerSandbox.recordings(null));
        assertNull(WorkerSandbox.recordings(""));
        assertNull(WorkerSandbox.recordings("relative/dir"));
        assertNull(WorkerSandbox.recordings(dir.resolve("missing").toString()));
        Path file = Files.createFile(dir.resolve("file"));
        assertNull(WorkerSandbox.recordings(file.toString()));
        // a path the JVM's option string would split, or bwrap's argument would not hold as one
        Path odd = Files.createDirectory(dir.resolve("a,b=c"));
        assertNull(WorkerSandbox.recordings(odd.toString()));
        assertEquals(dir, WorkerSandbox.recordings(dir.toString()));
    }

    @Test
    void theRecordingKeepsCompleteChunksAndTracesOnlyAWellFormedFilter(@TempDir Path dir) {
        List<String> plain = WorkerSandbox.recordingOptions(dir, null);
        assertEquals(List.of("-XX:StartFlightRecording:settings=profile",
                "-XX:FlightRecorderOptions:repository=" + dir + ",maxchunksize=1M"), plain);
        assertEquals("-XX:StartFlightRecording:settings=profile,method-trace=a.B;c.D::m",
                WorkerSandbox.recordingOptions(dir, "a.B;c.D::m").get(0));
        assertFalse(WorkerSandbox.recordingOptions(dir, "a.B,filename=/etc/x").get(0).contains("method-trace"));
        assertFalse(WorkerSandbox.recordingOptions(dir, "a.B c.D").get(0).contains("method-trace"));
    }
}
