package io.ferry.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.HdrHistogram.Histogram;

/**
 * The floor: two processes ping-pong one 8-byte value through a mapped {@code /dev/shm} file, both spinning, no
 * protocol at all. The echo side runs as {@code main}; the measuring side is {@link #measure}.
 */
public final class PingPong {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    static final long PING = 0;
    static final long PONG = 128;

    private PingPong() {
    }

    /** Echo side: copies each new ping value into pong until it reads -1. */
    public static void main(String[] args) throws IOException {
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            long last = 0;
            while (true) {
                long v = (long) LONG.getAcquire(s, PING);
                if (v == -1) {
                    return;
                }
                if (v != last) {
                    last = v;
                    LONG.setRelease(s, PONG, v);
                } else {
                    Thread.onSpinWait();
                }
            }
        }
    }

    /** Measuring side: {@code samples} round trips after {@code warmup}; returns the histogram in ns. */
    static Histogram measure(MemorySegment s, int warmup, int samples) {
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (long i = 1; i <= warmup + samples; i++) {
            long t0 = System.nanoTime();
            LONG.setRelease(s, PING, i);
            while ((long) LONG.getAcquire(s, PONG) != i) {
                Thread.onSpinWait();
            }
            long t1 = System.nanoTime();
            if (i > warmup) {
                h.recordValue(t1 - t0);
            }
        }
        LONG.setRelease(s, PING, -1L);
        return h;
    }
}
