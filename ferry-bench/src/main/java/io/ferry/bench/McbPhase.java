package io.ferry.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The MCB's figures of one configuration: the critical guest's response times and the best-effort tenants' work. */
final class McbPhase {
    long[] responses = new long[0];
    double beWorkUnits;
    double seconds;
    double waitP50 = Double.NaN;
    double waitP99 = Double.NaN;
    double waitMax = Double.NaN;
    List<double[]> windowShares = new ArrayList<>();

    long misses() {
        return Arrays.stream(responses).filter(x -> x > McbBench.PERIOD_NANOS).count();
    }

    double percentile(double p) {
        if (responses.length == 0) {
            return Double.NaN;
        }
        long[] s = responses.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] / 1e6;
    }

    double max() {
        return Arrays.stream(responses).max().orElse(0) / 1e6;
    }

    double beRate() {
        return beWorkUnits / seconds;
    }

    /** Jain's index over the mean share of each tenant per window. */
    double jain() {
        if (windowShares.isEmpty()) {
            return Double.NaN;
        }
        double total = 0;
        for (double[] w : windowShares) {
            double sum = 0;
            double sq = 0;
            for (double x : w) {
                sum += x;
                sq += x * x;
            }
            total += sq == 0 ? 1 : sum * sum / (w.length * sq);
        }
        return total / windowShares.size();
    }

    /** Mean absolute deviation from the fair share, over tenants and windows, in percentage points. */
    double shareErrorPp() {
        double sum = 0;
        int n = 0;
        for (double[] w : windowShares) {
            for (double x : w) {
                sum += Math.abs(x - 1.0 / w.length) * 100;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Each tenant's share of best-effort device time, averaged over the windows. */
    double[] meanShares() {
        double[] m = new double[McbBench.TENANTS.length];
        for (double[] w : windowShares) {
            for (int i = 0; i < m.length; i++) {
                m[i] += w[i] / windowShares.size();
            }
        }
        return m;
    }

    /** The largest deviation from the fair share of any tenant in any window, in percentage points. */
    double shareErrorPpMax() {
        double worst = 0;
        for (double[] w : windowShares) {
            for (double x : w) {
                worst = Math.max(worst, Math.abs(x - 1.0 / w.length) * 100);
            }
        }
        return worst;
    }
}
