package io.ferry.bench;

import io.ferry.client.CommandQueue;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.HeapBlock;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A small call after a pause: what the 64 MiB transfers' loss outside the device's copy
 * ({@code write_us_outside_device}) tracks. The suite's transfers alternate remoted and native, so the remoted path
 * sits idle for a native transfer (about 4 ms) before each remoted one; this measures a 4 KiB write + finish after
 * the guest's thread has spun for a set time, remoted then native, and, at one pause, after the guest
 * read 64 MiB (a sweep through every cache line) against after a spin exactly as long, to tell the guest's memory
 * traffic from the pause itself. Keys: {@code write4k_us_p50_after_pause_P_remoted} / {@code _native} for each
 * pause {@code P} in µs; {@code write4k_us_p50_after_sweep_remoted}, {@code write4k_us_p50_after_matched_spin_remoted}
 * and {@code sweep_us_p50}.
 */
final class AfterPause {
    static final long[] PAUSES_US = {50, 1000, 4000};
    private static final long SMALL = 4096;
    private static long sink;

    private AfterPause() {
    }

    static void measure(CommandQueue q, DeviceBuffer buf, HeapBlock block, NativeTransfers nat, Report r, int reps)
            throws Exception {
        MemorySegment src = block.segment().asSlice(0, SMALL);
        for (int i = 0; i < 20; i++) { // the 4 KiB call path warm on both sides
            remoted(q, buf, src);
            nat.writeBytes(SMALL);
        }
        for (long pause : PAUSES_US) {
            double[] remoted = new double[reps];
            double[] nativ = new double[reps];
            for (int i = 0; i < reps; i++) { // in turn, not alternating: a native call's device threads, still
                spin(pause * 1000);          // spinning after it, would take the CPU from the remoted call after
                remoted[i] = remoted(q, buf, src);
            }
            for (int i = 0; i < reps; i++) {
                spin(pause * 1000);
                nativ[i] = nat.writeMicros(SMALL);
            }
            r.put("write4k_us_p50_after_pause_" + pause + "_remoted", TransportBench.median(remoted));
            r.put("write4k_us_p50_after_pause_" + pause + "_native", TransportBench.median(nativ));
        }
        MemorySegment sweep = nat.memory();
        double[] afterSweep = new double[reps];
        double[] afterSpin = new double[reps];
        double[] sweepUs = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            long x = 0;
            for (long o = 0; o < sweep.byteSize(); o += 64) {
                x += sweep.get(ValueLayout.JAVA_LONG, o);
            }
            sink += x;
            long took = System.nanoTime() - t0;
            sweepUs[i] = took / 1e3;
            afterSweep[i] = remoted(q, buf, src);
            spin(took);
            afterSpin[i] = remoted(q, buf, src);
        }
        r.put("sweep_us_p50", TransportBench.median(sweepUs));
        r.put("write4k_us_p50_after_sweep_remoted", TransportBench.median(afterSweep));
        r.put("write4k_us_p50_after_matched_spin_remoted", TransportBench.median(afterSpin));
    }

    /** One remoted 4 KiB write and finish; µs. */
    private static double remoted(CommandQueue q, DeviceBuffer buf, MemorySegment src) {
        long t0 = System.nanoTime();
        q.write(buf, 0, src).finish();
        return (System.nanoTime() - t0) / 1e3;
    }

    private static void spin(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }
}
