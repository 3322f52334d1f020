package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How native-demo reads a demo program's output: every part verified, exit 0, on the Ferry platform. */
class NativeDemoCommandTest {
    private static final String C_OUT = """
            platform: Ferry; device: pthread-haswell-AMD EPYC
            vadd      verified  n=1048576, 0 mismatches
            reduce    verified  n=1048576, 4096 groups of 256, sum 1 (expected 1)
            map       verified  n=262144
            profiling verified  kernel 1 ran 0.011 ms
            native_demo: 4 of 4 parts verified
            """;

    private final NativeDemoCommand cmd = new NativeDemoCommand();

    @Test
    void allPartsVerifiedOnFerryIsVerified() {
        var o = cmd.parts("C", new NativeDemoCommand.Run(0, false, C_OUT, ""), 4);
        assertTrue(o.verified(), o.detail());
        assertEquals("vadd, reduce, map, profiling on Ferry / pthread-haswell-AMD EPYC", o.detail());
    }

    @Test
    void aFailedPartAMissingPartAnotherPlatformOrAnExitFail() {
        assertFalse(cmd.parts("C", new NativeDemoCommand.Run(1, false,
                C_OUT.replace("map       verified", "map       FAILED  "), ""), 4).verified());
        assertFalse(cmd.parts("C", new NativeDemoCommand.Run(0, false, C_OUT, ""), 5).verified());
        assertFalse(cmd.parts("C", new NativeDemoCommand.Run(0, false,
                C_OUT.replace("platform: Ferry", "platform: Portable Computing Language"), ""), 4).verified());
        assertFalse(cmd.parts("C", new NativeDemoCommand.Run(2, false, C_OUT, ""), 4).verified());
        assertFalse(cmd.parts("C", new NativeDemoCommand.Run(-1, true, "", ""), 4).verified());
    }

    @Test
    void registeredWithHelp() {
        String usage = new CommandLine(new Main()).getSubcommands().get("native-demo").getUsageMessage();
        assertTrue(usage.contains("--verbose") && usage.contains("--timeout"), usage);
    }
}
