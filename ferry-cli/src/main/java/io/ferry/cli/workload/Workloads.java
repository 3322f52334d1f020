package io.ferry.cli.workload;

import java.util.List;
import java.util.Locale;

/** The example workloads at their default sizes. */
public final class Workloads {
    private Workloads() {
    }

    /** vadd, matmul, reduce and filter, in that order (new instances each call). */
    public static List<Workload> all() {
        return List.of(new VaddWorkload(), new MatmulWorkload(), new ReduceWorkload(), new FilterWorkload());
    }

    /** The names {@link #all()} answers to. */
    public static List<String> names() {
        return all().stream().map(Workload::name).toList();
    }

    /** The workload called {@code name} (case-insensitive); unknown names throw, listing the known ones. */
    public static Workload byName(String name) {
        for (Workload w : all()) {
            if (w.name().equalsIgnoreCase(name)) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + name + "'; known: " + String.join(", ", names()));
    }

    /** {@code n} floats for humans: "1M floats", "64K floats", "1000 floats". */
    static String floats(int n) {
        if (n % (1 << 20) == 0) {
            return (n >> 20) + "M floats";
        }
        if (n % (1 << 10) == 0) {
            return (n >> 10) + "K floats";
        }
        return String.format(Locale.ROOT, "%d floats", n);
    }

    /** {@code count} seeded floats, uniform in [{@code low}, {@code high}): the same inputs on every run. */
    static float[] seededFloats(int count, long seed, double low, double high) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (r.nextDouble() * (high - low) + low);
        }
        return a;
    }
}
