package io.ferry.bench;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import java.util.Locale;

/**
 * The MCB's calibration on a quiet device: iterations for a critical chain of {@link McbBench#CHAIN} kernels near
 * 12 % of the period and for a ~10 ms best-effort kernel, and the copy tenant's unit of work.
 *
 * @param copyMillis one 32 MiB write plus read, the copy tenant's unit of work
 */
record McbCalibration(int critIters, double chainMillis, int beIters, double beMillis, double copyMillis) {

    /** Calibrates the kernels on {@code crit}'s connection and the copy on {@code copier}'s. */
    static McbCalibration measure(Ferry crit, Ferry copier) {
        McbCalibration k = kernels(crit);
        return new McbCalibration(k.critIters, k.chainMillis, k.beIters, k.beMillis, copyMillis(copier));
    }

    static final long COPY_BYTES = 32L << 20;

    /** Median time in ms of one {@link #COPY_BYTES} write plus read, on the quiet device. */
    private static double copyMillis(Ferry f) {
        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(COPY_BYTES); HeapBlock h = f.heap().allocate(COPY_BYTES)) {
            h.segment().fill((byte) 3);
            double[] t = new double[9];
            for (int i = -3; i < t.length; i++) { // three warm-ups
                long t0 = System.nanoTime();
                q.write(a, 0, h.segment()).read(a, 0, h.segment()).finish();
                if (i >= 0) {
                    t[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
            return TransportBench.median(t);
        }
    }

    /**
     * Fits launch + finish time as {@code a + b * iterations} from two sizes, then picks iterations for the critical
     * kernels (a chain of {@link McbBench#CHAIN} near 12 % of the period) and for the best-effort kernel (~10 ms), and
     * measures both.
     */
    private static McbCalibration kernels(Ferry f) {
        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(McbBench.KERNEL); Kernel k = p.kernel("spin");
             DeviceBuffer a = ctx.createBuffer(4L * McbBench.ITEMS);
             HeapBlock h = f.heap().allocate(4L * McbBench.ITEMS)) {
            k.arg(0, a);
            q.write(a, 0, h.segment()).finish();
            for (int i = 0; i < 30; i++) { // first launches compile the kernel and warm both JVMs
                time(q, k, 1);
            }
            double t1 = time(q, k, 1);
            double t2 = time(q, k, 2001);
            double perIter = Math.max(1e-6, (t2 - t1) / 2000);
            double fixed = Math.max(0, t1 - perIter);
            double target = 0.12 * McbBench.PERIOD_NANOS / 1e6 / McbBench.CHAIN;
            int critIters = (int) Math.max(1, Math.round((target - fixed) / perIter));
            int beIters = (int) Math.max(1, Math.round((10.0 - fixed) / perIter));
            // Then adjust on the whole chain as the guest sees it (medians: the machine is noisy) until it is
            // 10-14 % of the period; every change is measured before it is kept.
            double chain = chainMillis(q, k, critIters);
            for (int round = 0; round < 12; round++) {
                double share = chain / (McbBench.PERIOD_NANOS / 1e6);
                if (share >= 0.10 && share <= 0.14) {
                    break;
                }
                double factor = Math.max(0.25, Math.min(4, 0.12 / Math.max(share, 1e-3)));
                int next = (int) Math.max(1, Math.round(critIters * factor));
                if (next == critIters) {
                    next = share > 0.14 ? Math.max(1, critIters - 1) : critIters + 1;
                }
                if (next == critIters) {
                    break; // one iteration is already too long: keep it
                }
                critIters = next;
                chain = chainMillis(q, k, critIters);
            }
            if (chain > 0.5 * McbBench.PERIOD_NANOS / 1e6) {
                throw new IllegalStateException(String.format(Locale.ROOT, "calibration failed: the critical chain "
                        + "takes %.1f ms, more than half the period, even at %d iterations (is the device busy?)",
                        chain, critIters));
            }
            double be = time(q, k, beIters);
            for (int round = 0; round < 4 && Math.abs(be - 10.0) > 1.0; round++) { // measured, as for the chain
                beIters = (int) Math.max(1, Math.round(beIters * 10.0 / Math.max(be, 0.1)));
                be = time(q, k, beIters);
            }
            return new McbCalibration(critIters, chain, beIters, be, Double.NaN);
        }
    }

    /** Median time in ms of a chain of {@link McbBench#CHAIN} launches + finishes with {@code iters} iterations. */
    private static double chainMillis(CommandQueue q, Kernel k, int iters) {
        double[] t = new double[9];
        for (int i = 0; i < t.length; i++) {
            t[i] = time(q, k, iters) * McbBench.CHAIN;
        }
        return TransportBench.median(t);
    }

    /** Median launch + finish time in ms of the kernel with {@code iters} iterations. */
    private static double time(CommandQueue q, Kernel k, int iters) {
        k.arg(1, iters);
        double[] t = new double[7];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            q.launch(k, NDRange.of(McbBench.ITEMS)).finish();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        return TransportBench.median(t);
    }
}
