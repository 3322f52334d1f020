package io.ferry.cli.workload;

import java.util.Locale;

/**
 * The outcome of one run of a {@link Workload}.
 *
 * @param workload         the workload's name
 * @param size             the problem size for humans
 * @param device           the device's name
 * @param millis           wall time of the device part: uploads, kernels, downloads and the final finish (not the
 *                         program build); NaN when the run failed before it was measured
 * @param buildMillis      wall time of context creation and program build; NaN when it did not complete
 * @param maxRelativeError largest |x - ref| / max(|ref|, eps) over the checked values; NaN when nothing was checked
 * @param verified         whether the run completed and every checked value is within the workload's tolerance
 * @param detail           on success the tolerance checked against; on failure what went wrong
 */
public record WorkloadResult(String workload, String size, String device, double millis, double buildMillis,
                             double maxRelativeError, boolean verified, String detail) {

    /** A run that did not complete: {@code detail} says why. */
    public static WorkloadResult failed(String workload, String size, String device, double millis,
                                        double buildMillis, String detail) {
        return new WorkloadResult(workload, size, device, millis, buildMillis, Double.NaN, false, detail);
    }

    /**
     * The machine-readable form: {@code RESULT<TAB>guest<TAB>workload<TAB>size<TAB>device<TAB>millis<TAB>buildMillis
     * <TAB>maxRelError<TAB>verified<TAB>detail}, with tabs and line breaks inside fields replaced by spaces.
     */
    public String reportLine(String guest) {
        return String.join("\t", "RESULT", clean(guest), clean(workload), clean(size), clean(device),
                String.format(Locale.ROOT, "%.3f", millis), String.format(Locale.ROOT, "%.3f", buildMillis),
                String.format(Locale.ROOT, "%.3e", maxRelativeError), Boolean.toString(verified), clean(detail));
    }

    /** One line for humans. */
    public String humanLine(String guest) {
        return String.format(Locale.ROOT, "%s: %-6s %-12s on %s: %9.2f ms (build %.1f ms), max rel. error %.2e: %s",
                guest, workload, size, device, millis, buildMillis, maxRelativeError,
                verified ? "verified" : "FAILED: " + detail);
    }

    static String clean(String field) {
        return field == null ? "" : field.replaceAll("[\\t\\r\\n]", " ");
    }
}
