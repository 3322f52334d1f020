package io.ferry.cli.workload;

import java.util.Locale;

/**
 * Compares device results with a reference by relative error {@code |x - ref| / max(|ref|, eps)}, remembering the
 * worst value. A NaN result makes the check fail (NaN is never within tolerance).
 */
final class Verifier {
    private final String name;
    private final double tolerance;
    private final double eps;
    private double max;
    private String worst = "";
    private long checked;

    /**
     * @param name      what is checked, for the detail
     * @param tolerance largest accepted relative error
     * @param eps       floor of the denominator, so values whose reference is (near) zero are compared absolutely
     */
    Verifier(String name, double tolerance, double eps) {
        this.name = name;
        this.tolerance = tolerance;
        this.eps = eps;
    }

    static double relativeError(double x, double ref, double eps) {
        return Math.abs(x - ref) / Math.max(Math.abs(ref), eps);
    }

    /** Checks one value; {@code what} names it in the failure detail (e.g. "sum"). */
    Verifier check(String what, double x, double ref) {
        double e = relativeError(x, ref, eps);
        checked++;
        if (!Double.isNaN(max) && (Double.isNaN(e) || e > max || checked == 1)) {
            max = e;
            worst = what + " = " + x + ", expected " + ref;
        }
        return this;
    }

    /** Checks {@code got[i]} against {@code ref[i]} for every index. */
    Verifier checkAll(float[] got, double[] ref) {
        if (got.length != ref.length) {
            throw new IllegalArgumentException(name + ": " + got.length + " values, reference has " + ref.length);
        }
        for (int i = 0; i < got.length; i++) {
            double e = relativeError(got[i], ref[i], eps);
            checked++;
            if (!Double.isNaN(max) && (Double.isNaN(e) || e > max || checked == 1)) {
                max = e;
                worst = name + "[" + i + "] = " + got[i] + ", expected " + ref[i];
            }
        }
        return this;
    }

    double maxRelativeError() {
        return checked == 0 ? Double.NaN : max;
    }

    boolean verified() {
        return checked > 0 && max <= tolerance;
    }

    String detail() {
        if (checked == 0) {
            return name + ": nothing was checked";
        }
        return verified()
                ? String.format(Locale.ROOT, "%s: %d value(s) within %.0e", name, checked, tolerance)
                : String.format(Locale.ROOT, "%s: relative error %.3e exceeds tolerance %.0e at %s", name, max,
                        tolerance, worst);
    }
}
