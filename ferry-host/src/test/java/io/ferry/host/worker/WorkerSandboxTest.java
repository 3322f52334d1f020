package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The host's start check: without a working bubblewrap, isolation: process is refused, saying why and the fix. */
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
}
