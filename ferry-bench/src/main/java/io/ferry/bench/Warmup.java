package io.ferry.bench;

/**
 * A warm-up of repeated transfers that ends once they have stopped getting faster: after at least {@code min}
 * nanoseconds and two rounds, when neither direction's rate rose by more than a fifth over the round before; at
 * the latest after {@code max} nanoseconds. A JVM that has just started runs its copy and cipher paths interpreted
 * or in C1 for a while, and longer on a loaded machine, where the compiler threads wait for a core.
 */
final class Warmup {
    private final long start = System.nanoTime();
    private final long min;
    private final long max;
    private int rounds;
    private double lastA = Double.NaN;
    private double lastB = Double.NaN;

    Warmup(long minNanos, long maxNanos) {
        this.min = minNanos;
        this.max = maxNanos;
    }

    /** Records one round's two rates; whether to warm up more. */
    boolean more(double a, double b) {
        rounds++;
        boolean rising = !(a <= lastA * 1.2 && b <= lastB * 1.2); // true while NaN (the first round)
        lastA = a;
        lastB = b;
        long spent = System.nanoTime() - start;
        if (spent >= max) {
            return false;
        }
        return spent < min || rounds < 2 || rising;
    }
}
