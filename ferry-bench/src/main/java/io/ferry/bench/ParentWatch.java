package io.ferry.bench;

import java.io.IOException;

/**
 * A bench's helper process ends with the bench, however the bench ends (killed included): the bench holds the write
 * end of each helper's stdin and never writes to it, so the helper reads end-of-file when the bench is gone.
 */
final class ParentWatch {
    private ParentWatch() {
    }

    /** Starts a daemon thread that exits this process (status 0) once stdin reaches its end. */
    static void exitWithParent() {
        Thread.ofPlatform().daemon().name("parent-watch").start(() -> {
            try {
                while (System.in.read() >= 0) {
                    Thread.onSpinWait(); // the bench writes nothing; a stray byte is ignored
                }
            } catch (IOException ignored) {
                // stdin is gone: so is the bench
            }
            System.exit(0);
        });
    }
}
