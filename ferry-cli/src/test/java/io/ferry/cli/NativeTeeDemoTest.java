package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** How native-demo reads tee_demo's output: exit 0 and both parts (hello, then storage or isolation) verified. */
class NativeTeeDemoTest {
    private static final String OUT = """
            hello      verified  INCREMENT 41 -> 42, then 100 more -> 142 (0x00000000)
            isolation  verified  'demo-object' is not in this guest's storage: 0xffff0008 origin 4
            """;
    private static final NativeTeeDemo.Step STEP = new NativeTeeDemo.Step("bob", List.of("absent"),
            "bob's storage does not hold alice's object");

    @Test
    void bothPartsVerifiedIsVerified() {
        var o = NativeTeeDemo.verdict(STEP, new NativeDemoCommand.Run(0, false, OUT, ""));
        assertTrue(o.verified(), o.detail());
        assertEquals("bob absent: bob's storage does not hold alice's object (hello, isolation)", o.detail());
    }

    @Test
    void aFailedPartAMissingPartAnExitOrATimeoutFails() {
        assertFalse(NativeTeeDemo.verdict(STEP, new NativeDemoCommand.Run(1, false,
                OUT.replace("isolation  verified", "isolation  FAILED  "), "")).verified());
        assertFalse(NativeTeeDemo.verdict(STEP, new NativeDemoCommand.Run(0, false,
                OUT.lines().findFirst().orElseThrow(), "")).verified());
        assertFalse(NativeTeeDemo.verdict(STEP, new NativeDemoCommand.Run(1, false, OUT, "")).verified());
        assertFalse(NativeTeeDemo.verdict(STEP, new NativeDemoCommand.Run(-1, true, "", "")).verified());
    }
}
