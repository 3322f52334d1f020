package io.ferry.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per event on stderr: time, level, logger, message (and a stack trace only for internal errors). */
public final class Logs {
    private Logs() {
    }

    public static void configure() {
        configure(Level.parse(System.getProperty("ferry.log", "INFO")));
    }

    /**
     * A log manager whose handlers outlive the JVM's own shutdown hook, so that what the host logs while it shuts
     * down (sessions closed, regions removed) is not lost. Installed by {@link Main} before any logging.
     */
    public static final class Manager extends LogManager {
        @Override
        public void reset() {
            // ignored: the JDK resets from a shutdown hook, racing ours; configure() resets explicitly
        }

        void resetNow() {
            super.reset();
        }
    }

    public static void configure(Level level) {
        if (LogManager.getLogManager() instanceof Manager m) {
            m.resetNow();
        } else {
            LogManager.getLogManager().reset();
        }
        Logger root = Logger.getLogger("");
        ConsoleHandler h = new ConsoleHandler();
        h.setLevel(level);
        h.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                String line = String.format("%1$tT.%1$tL %2$-7s %3$s: %4$s%n", r.getMillis(), r.getLevel().getName(),
                        r.getLoggerName(), formatMessage(r));
                if (r.getThrown() != null && r.getLevel().intValue() >= Level.SEVERE.intValue()) {
                    var sw = new java.io.StringWriter();
                    r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
                    line += sw;
                }
                return line;
            }
        });
        root.addHandler(h);
        root.setLevel(level);
    }
}
