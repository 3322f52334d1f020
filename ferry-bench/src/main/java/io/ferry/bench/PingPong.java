package io.ferry.bench;

import io.ferry.protocol.Futex;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The floor: two processes ping-pong one 8-byte value through a mapped {@code /dev/shm} file, both spinning, no
 * protocol at all. The echo side runs as {@code main}; the measuring side opens it as an {@link Echo}. With
 * {@code ring} (the echo side's second argument) each way moves what a ring's call moves at least: a 64-byte record
 * on a cache line of its own, then the position word that publishes it on another, read in the other order
 * (position with acquire, then the record), still with no protocol, checks or codec.
 *
 * <p>The measuring side takes its round trips in blocks ({@link Echo#measure}) and pauses the echo between them
 * ({@link #PAUSE}: the echo sleeps instead of spinning), so that a bench can alternate blocks of the floor with blocks
 * of what it compares against the floor: both then see the same VM pace, which on a shared VM changes within
 * seconds (docs/benchmarks.md, "The floor in blocks").
 */
public final class PingPong {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    static final long PING = 0;
    static final long PONG = 128;
    /** The records of the ring floor: 64 bytes each, on lines of their own, apart from the position words. */
    static final long PING_RECORD = 256;
    static final long PONG_RECORD = 384;
    static final int RECORD_LONGS = 8;
    /** A ping of -1 ends the echo. */
    static final long STOP = -1;
    /** A ping of -2 pauses it: it sleeps on the ping word's futex until the next ping wakes it. */
    static final long PAUSE = -2;

    private PingPong() {
    }

    /**
     * Echo side: copies each new ping value into pong until it reads {@link #STOP} or the bench is gone
     * ({@link ParentWatch}); sleeps while it reads PAUSE.
     */
    public static void main(String[] args) throws IOException {
        ParentWatch.exitWithParent(); // a killed bench leaves no echo spinning
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            boolean ring = args.length > 1 && args[1].equals("ring");
            long last = 0;
            while (true) {
                long v = (long) LONG.getAcquire(s, PING);
                if (v == STOP) {
                    return;
                }
                if (v == PAUSE) {
                    // asleep until the measuring side pings again and wakes it (a VM's napping thread would take
                    // the CPUs from what the bench measures between this floor's blocks)
                    if (!Futex.await(s.asSlice(PING, Integer.BYTES), (int) PAUSE, 100_000_000)) {
                        LockSupport.parkNanos(1_000_000);
                    }
                } else if (v != last) {
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

    /** The measuring side of one echo process: a word floor, or with {@code ring} a ring floor. */
    static final class Echo implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment s;
        private final boolean ring;
        private final Process echo;
        /** The last value pinged: each round trip pings the next. */
        private long value;

        /** Starts the echo process over {@code file} (created), paused until the first {@link #measure}. */
        Echo(Path file, boolean ring) throws IOException {
            this.ring = ring;
            try {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    s = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
                }
                LONG.setRelease(s, PING, PAUSE);
                echo = TransportBench.startJava(PingPong.class, file.toString(), ring ? "ring" : "word");
            } catch (IOException | RuntimeException e) {
                arena.close(); // the mapping, if made
                throw e;
            }
        }

        /**
         * One block: {@code warmup} round trips (the echo wakes from its pause), then {@code samples} recorded into
         * {@code into} (ns); then pauses the echo. With {@code ring}, each round trip also writes a record before
         * publishing its position, and reads and checks the answer's record after the answer's position.
         */
        void measure(Histogram into, int warmup, int samples) {
            for (int n = 0; n < warmup + samples; n++) {
                long i = ++value;
                long t0 = System.nanoTime();
                for (int k = 0; ring && k < RECORD_LONGS; k++) {
                    s.set(ValueLayout.JAVA_LONG, PING_RECORD + 8L * k, i + k);
                }
                LONG.setRelease(s, PING, i);
                if (n == 0) {
                    Futex.wake(s.asSlice(PING, Integer.BYTES)); // the echo sleeps since the last block
                }
                for (long spins = 1; (long) LONG.getAcquire(s, PONG) != i; spins++) {
                    if ((spins & 0xFFFFFF) == 0 && !echo.isAlive()) { // not a hang if the echo died
                        throw new IllegalStateException("the floor's echo process ended (exit code "
                                + echo.exitValue() + ")");
                    }
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
                if (n >= warmup) {
                    into.recordValue(t1 - t0);
                }
            }
            LONG.setRelease(s, PING, PAUSE);
        }

        @Override
        public void close() throws InterruptedException {
            try {
                LONG.setRelease(s, PING, STOP);
                Futex.wake(s.asSlice(PING, Integer.BYTES));
                if (!echo.waitFor(5, TimeUnit.SECONDS)) {
                    echo.destroyForcibly();
                }
            } finally {
                arena.close();
            }
        }
    }
}
