package io.ferry.cli.workload;

import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.StringJoiner;

/**
 * The frame every workload shares: context, queue and program creation (timed as the build), the device part
 * (timed by the workload around its uploads, launches, downloads and finish), verification, and turning a
 * {@link FerryException} into a failed result.
 */
abstract class KernelWorkload implements Workload {

    /** OpenCL C source of the workload's kernels. */
    abstract String source();

    /** Build options. */
    String buildOptions() {
        return "";
    }

    /**
     * Runs the device part with everything set up; returns the measured device time and the verification.
     * Implementations time from the first upload to the return of the final {@link CommandQueue#finish()}.
     */
    abstract Outcome execute(Ferry ferry, Device device, Context ctx, CommandQueue queue, Program program);

    /** What {@link #execute} measured and found: the largest error of all checks, verified when all pass. */
    record Outcome(double millis, double maxRelativeError, boolean verified, String detail) {
        static Outcome of(double millis, Verifier... checks) {
            double max = checks.length == 0 ? Double.NaN : 0;
            boolean ok = checks.length > 0;
            for (Verifier v : checks) {
                double e = v.maxRelativeError();
                if (!Double.isNaN(max) && (Double.isNaN(e) || e > max)) {
                    max = e;
                }
                ok &= v.verified();
            }
            StringJoiner detail = new StringJoiner("; ");
            for (Verifier v : checks) {
                if (ok || !v.verified()) {
                    detail.add(v.detail());
                }
            }
            return new Outcome(millis, max, ok, detail.toString());
        }
    }

    @Override
    public final WorkloadResult run(Ferry ferry, Device device) {
        double buildMillis = Double.NaN;
        long start = System.nanoTime();
        try (Context ctx = ferry.createContext(device);
             CommandQueue queue = ctx.createQueue();
             Program program = ctx.buildProgram(source(), buildOptions())) {
            buildMillis = millisSince(start);
            Outcome o = execute(ferry, device, ctx, queue, program);
            return new WorkloadResult(name(), size(), device.name(), o.millis(), buildMillis, o.maxRelativeError(),
                    o.verified(), o.detail());
        } catch (FerryException e) {
            return WorkloadResult.failed(name(), size(), device.name(), Double.NaN, buildMillis, e.getMessage());
        }
    }

    static double millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    /** A heap block holding {@code data} (native byte order, which is what the device reads). */
    static HeapBlock heapFloats(Ferry ferry, float[] data) {
        HeapBlock b = ferry.heap().allocate((long) data.length * Float.BYTES);
        try {
            b.segment().copyFrom(MemorySegment.ofArray(data));
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    static float[] floats(HeapBlock block) {
        return block.segment().toArray(ValueLayout.JAVA_FLOAT);
    }

    static long bytes(int floats) {
        return (long) floats * Float.BYTES;
    }

    /** {@code n} rounded up to a multiple of {@code m}. */
    static long roundUp(long n, long m) {
        return (n + m - 1) / m * m;
    }
}
