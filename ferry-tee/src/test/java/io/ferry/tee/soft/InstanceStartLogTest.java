package io.ferry.tee.soft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TA instance starts and serves without a word on its stderr, which the host logs as warnings: in particular the
 * JVM's native-access warnings (the lane's futex is an FFM downcall), which came at every instance's start while the
 * instance's JVM ran without {@code --enable-native-access}, and would become a failure in a JDK that denies it.
 */
@Timeout(90)
class InstanceStartLogTest {
    @TempDir
    Path dir;

    @Test
    void anInstanceStartsAndServesWithoutWarnings() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger log = Logger.getLogger("ferry.tee");
        log.addHandler(h);
        try (SoftTeeBackend b = SoftTeeBackend.start(DevTee.prepare(dir, 2).config())) {
            long s = PerSessionInstanceTest.open(b, "g", BuiltinTas.HELLO);
            assertEquals(42, PerSessionInstanceTest.increment(b, s));
            b.closeSession(s);
        } finally {
            log.removeHandler(h);
        }
        assertTrue(warnings.isEmpty(), () -> "warnings while an instance started and served: " + warnings);
    }
}
