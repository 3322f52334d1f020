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
 * protocol at all. The echo side runs as {@code main}; the measuring side is {@link #measure}. With {@code ring}
 * (the echo side's second argument, and {@link #measure}'s) each way moves what a ring's call moves at least: a
 * 64-byte record on a cache line of its own, then the position word that publishes it on another, read in the
 * other order (position with acquire, then the record), still with no protocol, checks or codec.
 */
public final class PingPong {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    static final long PING = 0;
    static final long PONG = 128;
    /** The records of the ring floor: 64 bytes each, on lines of their own, apart from the position words. */
    static final long PING_RECORD = 256;
    static final long PONG_RECORD = 384;
    static final int RECORD_LONGS = 8;

    private PingPong() {
    }

    /** Echo side: copies each new ping value into pong until it reads -1. */
    public static void main(String[] args) throws IOException {
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            boolean ring = args.length > 1 && args[1].equals("ring");
            long last = 0;
            while (true) {
                long v = (long) LONG.getAcquire(s, PING);
                if (v == -1) {
                    return;
                }
                if (v != last) {
                    last = v;
                    if (ring) { // the record read after its position, the answer written before its own
                        long sum = 0;
                        for (int i = 0; i < RECORD_LONGS; i++) {
                            sum += s.get(ValueLayout.JAVA_LONG, PING_RECORD + 8L * i);
                        }
                        for (int i = 0; i < RECORD_LONGS; i++) {
                            s.set(ValueLayout.JAVA_LONG, PONG_RECORD + 8L * i, sum + i);
                        }
                    }
                    LONG.setRelease(s, PONG, v);
                } else {
                    Thread.onSpinWait();
                }
            }
        }
    }

    /**
     * Measuring side: {@code samples} round trips after {@code warmup}; returns the histogram in ns. With
     * {@code ring} (the echo side started with {@code ring}) each round trip also writes a record before publishing
     * its position, and reads and checks the answer's record after the answer's position.
     */
    static Histogram measure(MemorySegment s, int warmup, int samples, boolean ring) {
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (long i = 1; i <= warmup + samples; i++) {
            long t0 = System.nanoTime();
            for (int k = 0; ring && k < RECORD_LONGS; k++) {
                s.set(ValueLayout.JAVA_LONG, PING_RECORD + 8L * k, i + k);
            }
            LONG.setRelease(s, PING, i);
            while ((long) LONG.getAcquire(s, PONG) != i) {
                Thread.onSpinWait();
            }
            long sum = 0;
            for (int k = 0; ring && k < RECORD_LONGS; k++) {
                sum += s.get(ValueLayout.JAVA_LONG, PONG_RECORD + 8L * k) - k;
            }
            long t1 = System.nanoTime();
            if (ring && sum != RECORD_LONGS * (RECORD_LONGS * i + (long) RECORD_LONGS * (RECORD_LONGS - 1) / 2)) {
                throw new IllegalStateException("the ring floor's echo answered " + sum + " to record " + i);
            }
            if (i > warmup) {
                h.recordValue(t1 - t0);
            }
        }
        LONG.setRelease(s, PING, -1L);
        return h;
    }
}
