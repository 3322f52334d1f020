package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The software TEE as a real process: calls over the lanes, and supervision when the process dies. */
@Timeout(60)
class SoftTeeBackendTest {
    @TempDir
    Path dir;

    /** Sandboxed (the default) and with isolation: none (tests only), the same behaviour. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void callsCrossTheProcessAndADeadProcessIsReplaced(boolean sandboxed) throws Exception {
        try (SoftTeeBackend b = SoftTeeBackend.start(DevTee.prepare(dir, 2).config().withSandboxed(sandboxed))) {
            TeeReturn open = b.openSession("g", BuiltinTas.HELLO, 0, new UUID(0, 0), new TeeParams(), TeeCancellation.NEVER);
            long pid = b.pid("g", BuiltinTas.HELLO);
            assertNotEquals(ProcessHandle.current().pid(), pid);
            TeeParams p = new TeeParams();
            assertEquals(TeeWire.SUCCESS, open.code());
            p.value(0, TeeParams.VALUE_INOUT, 41, 0);
            assertEquals(TeeWire.SUCCESS, b.invoke(open.session(), BuiltinTas.HELLO_INCREMENT, p, TeeCancellation.NEVER).code());
            assertEquals(42, p.a(0));

            ProcessHandle victim = ProcessHandle.of(pid).orElseThrow();
            victim.destroyForcibly();
            victim.onExit().get();
            TeeReturn dead = b.invoke(open.session(), BuiltinTas.HELLO_INCREMENT, p, TeeCancellation.NEVER);
            assertEquals(TeeWire.ERROR_TARGET_DEAD, dead.code());
            assertEquals(TeeWire.ORIGIN_TEE, dead.origin());

            TeeReturn reopened = b.openSession("g", BuiltinTas.HELLO, 0, new UUID(0, 0), new TeeParams(),
                    TeeCancellation.NEVER);
            assertEquals(TeeWire.SUCCESS, reopened.code());
            assertTrue(b.pid("g", BuiltinTas.HELLO) != pid, "a new TEE process serves");
        }
    }
}
