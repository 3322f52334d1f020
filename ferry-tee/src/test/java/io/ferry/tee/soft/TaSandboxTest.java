package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The software TEE's start check: without a working bubblewrap, sandboxed TA instances are refused, saying why. */
class TaSandboxTest {
    @Test
    void aMissingBwrapIsRefusedNamingThePackageAndTheWayOut() {
        String why = TaSandbox.refusal(null);
        assertTrue(why.contains("software TEE") && why.contains("TA instances"), why);
        assertTrue(why.contains("apt-get install -y bubblewrap"), why);
        assertTrue(why.contains("isolation: none") && why.contains("tests only"), why);
        assertTrue(TaSandbox.refusal("/nonexistent/bwrap").contains("no /nonexistent/bwrap"));
    }

    @Test
    void aBwrapThatCannotMakeTheSandboxIsRefused() {
        String why = TaSandbox.refusal("/bin/false");
        assertTrue(why.contains("self-check failed") && why.contains("exited with 1"), why);
    }

    @Test
    void theInstalledBwrapPasses() {
        if (Files.isExecutable(Path.of("/usr/bin/bwrap"))) {
            assertNull(TaSandbox.refusal("/usr/bin/bwrap"));
        }
    }
}
