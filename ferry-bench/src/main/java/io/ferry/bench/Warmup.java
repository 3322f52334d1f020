package io.ferry.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * A warm-up of repeated transfers that ends once they have stopped getting faster: after at least {@code min}
 * nanoseconds and {@code 2 * WINDOW} rounds, when in neither direction the median rate of the last
 * {@value #WINDOW} rounds is more than {@value #RISE} times that of the {@value #WINDOW} before; at the latest after
 * {@code max} nanoseconds. A JVM that has just started runs its copy and cipher paths interpreted or in C1 for a
 * while, and longer on a loaded machine, where the compiler threads wait for a core; Ferry's transfers cross three
 * JVMs (client, host, device worker). Single rounds swing by half on these machines, so rounds are compared in
 * windows, not one by one. The floor and Ferry warm up by the same rule (the same {@code min} and {@code max}).
 */
final class Warmup {
    static final int WINDOW = 5;
    static final double RISE = 1.05;
    /** The least and most warm-up time of every stream figure (floor and Ferry alike). */
    static final long MIN_NANOS = 5_000_000_000L;
    static final long MAX_NANOS = 20_000_000_000L;
    /**
     * The least warm-up of every per-call figure (a null call, a 4-byte write, launch + finish, a TA's invoke), on
     * top of a tenth of its samples or more. A new connection's device worker and a new TA instance are JVMs that
     * compile their call path during their first seconds, on the cores the calls need: on the 2-core VM a harness
     * that timed its calls after 40 ms of warm-up measured the ICD's write4 at 79-84 us and with 3 s at 31-34 us
     * (docs/benchmarks.md, "icd"); with 1 s, one run in three was still in the compiler's way.
     */
    static final long CALL_MIN_NANOS = 3_000_000_000L;

    /**
     * A per-call warm-up: {@code call} with 0, 1, 2, ... until it has run {@code atLeast} times and
     * {@link #CALL_MIN_NANOS} have passed. Returns how many times it ran.
     */
    static <E extends Exception> long calls(long atLeast, Call<E> call) throws E {
        long until = System.nanoTime() + CALL_MIN_NANOS;
        long i = 0;
        for (; i < atLeast || System.nanoTime() < until; i++) {
            call.run(i);
        }
        return i;
    }

    /** One call of a warm-up, given its number. */
    interface Call<E extends Exception> {
        void run(long i) throws E;
    }

    private final long start = System.nanoTime();
    private final long min;
    private final long max;
    private final List<Double> a = new ArrayList<>();
    private final List<Double> b = new ArrayList<>();

    Warmup(long minNanos, long maxNanos) {
        this.min = minNanos;
        this.max = maxNanos;
    }

    /** Warm-up by {@link #MIN_NANOS} and {@link #MAX_NANOS}. */
    Warmup() {
        this(MIN_NANOS, MAX_NANOS);
    }

    /** Records one round's two rates; whether to warm up more. */
    boolean more(double rateA, double rateB) {
        a.add(rateA);
        b.add(rateB);
        long spent = System.nanoTime() - start;
        if (spent >= max) {
            return false;
        }
        return spent < min || a.size() < 2 * WINDOW || rising(a) || rising(b);
    }

    private static boolean rising(List<Double> rates) {
        int n = rates.size();
        return median(rates.subList(n - WINDOW, n)) > RISE * median(rates.subList(n - 2 * WINDOW, n - WINDOW));
    }

    private static double median(List<Double> rates) {
        double[] s = rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[s.length / 2];
    }
}
