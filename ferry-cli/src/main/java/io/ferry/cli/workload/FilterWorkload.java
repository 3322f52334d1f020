package io.ferry.cli.workload;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import java.util.SplittableRandom;

/**
 * A 3×3 Gaussian blur (weights 1 2 1 / 2 4 2 / 1 2 1, divided by 16) of a generated grayscale float image, borders
 * clamped to the edge, one work-item per pixel over a 2-D range. The image (a smooth pattern plus seeded noise) is
 * in [0, 1] and the weights are positive, so nothing cancels; the reference sums the nine terms in the same order in
 * float, and 1e-4 leaves room for a device that contracts them into fused multiply-adds.
 */
public final class FilterWorkload extends KernelWorkload {
    static final double TOLERANCE = 1e-4;
    static final double EPS = 1e-6;

    static final String SOURCE = """
            __kernel void blur3x3(__global const float* src, __global float* dst, const int w, const int h) {
                const int x = get_global_id(0);
                const int y = get_global_id(1);
                if (x >= w || y >= h) {
                    return;
                }
                float acc = 0.0f;
                for (int dy = -1; dy <= 1; dy++) {
                    const int yy = clamp(y + dy, 0, h - 1);
                    for (int dx = -1; dx <= 1; dx++) {
                        const int xx = clamp(x + dx, 0, w - 1);
                        const float weight = (float) ((2 - abs(dx)) * (2 - abs(dy)));
                        acc += weight * src[yy * w + xx];
                    }
                }
                dst[y * w + x] = acc * 0.0625f;
            }
            """;

    private final int width;
    private final int height;

    public FilterWorkload() {
        this(512, 512);
    }

    public FilterWorkload(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("filter needs a positive image size, not " + width + "×" + height);
        }
        this.width = width;
        this.height = height;
    }

    @Override
    public String name() {
        return "filter";
    }

    @Override
    public String size() {
        return width + "×" + height + " px";
    }

    @Override
    String source() {
        return SOURCE;
    }

    /** A seeded grayscale image in [0, 1], row-major: rings and a gradient plus 10% noise. */
    static float[] image(int w, int h, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] img = new float[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double dx = x - w / 2.0;
                double dy = y - h / 2.0;
                double v = 0.45 + 0.25 * Math.sin(Math.sqrt(dx * dx + dy * dy) / 6.0) + 0.2 * x / w
                        + 0.1 * (r.nextDouble() - 0.5);
                img[y * w + x] = (float) Math.min(1, Math.max(0, v));
            }
        }
        return img;
    }

    /** The Java reference: the same blur in float, terms in the kernel's order. */
    static double[] reference(float[] src, int w, int h) {
        double[] dst = new double[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float acc = 0.0f;
                for (int dy = -1; dy <= 1; dy++) {
                    int yy = Math.clamp(y + dy, 0, h - 1);
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = Math.clamp(x + dx, 0, w - 1);
                        float weight = (2 - Math.abs(dx)) * (2 - Math.abs(dy));
                        acc += weight * src[yy * w + xx];
                    }
                }
                dst[y * w + x] = acc * 0.0625f;
            }
        }
        return dst;
    }

    @Override
    Outcome execute(Ferry ferry, Device device, Context ctx, CommandQueue q, Program program) {
        float[] img = image(width, height, 6);
        long bytes = bytes(width * height);
        try (Kernel k = program.kernel("blur3x3");
             HeapBlock hsrc = heapFloats(ferry, img);
             HeapBlock hdst = ferry.heap().allocate(bytes);
             DeviceBuffer dsrc = ctx.createBuffer(bytes, DeviceBuffer.Access.READ_ONLY);
             DeviceBuffer ddst = ctx.createBuffer(bytes, DeviceBuffer.Access.WRITE_ONLY)) {
            k.arg(0, dsrc).arg(1, ddst).arg(2, width).arg(3, height);
            long start = System.nanoTime();
            q.write(dsrc, 0, hsrc.segment());
            q.launch(k, NDRange.of(width, height)); // the device picks the work-group shape
            q.read(ddst, 0, hdst.segment());
            q.finish();
            double millis = millisSince(start);
            return Outcome.of(millis,
                    new Verifier("blurred", TOLERANCE, EPS).checkAll(floats(hdst), reference(img, width, height)));
        }
    }
}
