package io.ferry.testkit;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/** Counts SEVERE lines of the host: an endpoint that died, an internal error. */
final class SevereCounter extends Handler {
    volatile SessionFuzzer fuzzer;

    @Override
    public void publish(LogRecord r) {
        if (r.getLevel().intValue() >= Level.SEVERE.intValue() && fuzzer != null) {
            fuzzer.fail("host logged SEVERE: " + r.getMessage()
                    + (r.getThrown() != null ? " (" + r.getThrown() + ")" : ""));
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
}
