package io.ferry.cli.workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkloadsTest {

    // ---- The Java references and helpers, on inputs small enough to check by hand ----

    @Test
    void vaddReferenceAddsElementwise() {
        assertArrayEquals(new double[] {4, 1.5, -2}, VaddWorkload.reference(new float[] {1, 0.5f, -1},
                new float[] {3, 1, -1}));
    }

    @Test
    void matmulReferenceTwoByTwo() {
        // [1 2; 3 4] × [5 6; 7 8] = [19 22; 43 50]
        assertArrayEquals(new double[] {19, 22, 43, 50},
                MatmulWorkload.reference(new float[] {1, 2, 3, 4}, new float[] {5, 6, 7, 8}, 2, 2, 2));
    }

    @Test
    void matmulReferenceRectangular() {
        // (1×3) × (3×2): [1 2 3] × [1 0; 0 1; 1 1] = [4 5]
        assertArrayEquals(new double[] {4, 5},
                MatmulWorkload.reference(new float[] {1, 2, 3}, new float[] {1, 0, 0, 1, 1, 1}, 1, 2, 3));
    }

    @Test
    void reduceReferences() {
        float[] in = {1, 2, 3, 4, 5};
        assertEquals(15.0, ReduceWorkload.referenceSum(in));
        assertArrayEquals(new double[] {3, 7, 5}, ReduceWorkload.referencePartials(in, 2));
        assertEquals(128, ReduceWorkload.localSize(4096));
        assertEquals(64, ReduceWorkload.localSize(100));
        assertEquals(1, ReduceWorkload.localSize(1));
    }

    @Test
    void filterReferenceKeepsConstantImageAndClampsBorders() {
        float[] flat = new float[4 * 3];
        java.util.Arrays.fill(flat, 0.5f);
        for (double v : FilterWorkload.reference(flat, 4, 3)) {
            assertEquals(0.5, v);
        }
        // 1×1 image: every neighbour clamps to the pixel itself, weights sum to 16.
        assertArrayEquals(new double[] {0.75}, FilterWorkload.reference(new float[] {0.75f}, 1, 1));
        // 3×1 impulse [0 1 0] (rows clamp to the single row, so each column's weights 1+2+1=4 act as one):
        // centre = (4*0 + 8*1 + 4*0)/16 = 0.5, edges = (4*0 + 8*0 + 4*1)/16 = 0.25 (left edge clamps to itself).
        assertArrayEquals(new double[] {0.25, 0.5, 0.25}, FilterWorkload.reference(new float[] {0, 1, 0}, 3, 1));
    }

    @Test
    void inputsAreSeededAndInRange() {
        assertArrayEquals(VaddWorkload.input(1000, 1), VaddWorkload.input(1000, 1));
        assertFalse(java.util.Arrays.equals(VaddWorkload.input(1000, 1), VaddWorkload.input(1000, 2)));
        for (float v : FilterWorkload.image(64, 32, 6)) {
            assertTrue(v >= 0 && v <= 1, "pixel " + v);
        }
        for (float v : ReduceWorkload.input(1000, 5)) {
            assertTrue(v >= 0 && v < 1, "value " + v);
        }
    }

    @Test
    void verifierMeasuresRelativeErrorAndRejectsNaN() {
        Verifier v = new Verifier("x", 1e-4, 1e-6).checkAll(new float[] {1.00001f, 0f}, new double[] {1, 1e-11});
        assertTrue(v.verified(), v.detail());
        assertEquals(1e-5, v.maxRelativeError(), 1e-6);
        Verifier bad = new Verifier("x", 1e-4, 1e-6).checkAll(new float[] {1, Float.NaN, 1}, new double[] {1, 1, 1});
        assertFalse(bad.verified());
        assertTrue(Double.isNaN(bad.maxRelativeError()));
        assertTrue(bad.detail().contains("x[1]"), bad.detail());
        Verifier off = new Verifier("x", 1e-4, 1e-6).checkAll(new float[] {1, 1.01f}, new double[] {1, 1});
        assertFalse(off.verified());
        assertTrue(off.detail().contains("x[1]"), off.detail());
        assertFalse(new Verifier("x", 1e-4, 1e-6).verified(), "checking nothing verifies nothing");
    }

    @Test
    void namesAndLookup() {
        assertEquals(List.of("vadd", "matmul", "reduce", "filter"), Workloads.names());
        assertEquals("matmul", Workloads.byName("MatMul").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Workloads.byName("fft"));
        assertTrue(e.getMessage().contains("vadd, matmul, reduce, filter"), e.getMessage());
        assertEquals("1M floats", new VaddWorkload().size());
        assertEquals("256×256×256", new MatmulWorkload().size());
        assertEquals("1000 floats", Workloads.floats(1000));
    }

    @Test
    void reportLineHasTenTabSeparatedFields() {
        WorkloadResult r = new WorkloadResult("vadd", "1M floats", "cpu\tdev", 1.5, 20, 1e-7, true, "a\nb");
        String[] f = r.reportLine("alice").split("\t", -1);
        assertEquals(10, f.length);
        assertEquals(List.of("RESULT", "alice", "vadd", "1M floats", "cpu dev", "1.500", "20.000", "1.000e-07",
                "true", "a b"), List.of(f));
        String[] failed = WorkloadResult.failed("x", "s", "d", Double.NaN, Double.NaN, "boom").reportLine("g")
                .split("\t", -1);
        assertTrue(Double.isNaN(Double.parseDouble(failed[5])));
        assertEquals("false", failed[8]);
    }

    // ---- End to end: every workload through a real in-process host and the OpenCL backend ----

    private Path dir;
    private Devices devices;
    private FerryHost host;
    private Ferry ferry;

    @BeforeAll
    void startHost() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-test");
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(new HostConfig.GuestConfig("w", 64L << 20)));
        devices = Devices.discover(List.of());
        host = FerryHost.start(cfg, devices);
        ferry = Ferry.connect(host.guestSocket(), "w", host.secret("w"));
    }

    @AfterAll
    void stopHost() throws IOException {
        try (Devices d = devices; FerryHost h = host; Ferry f = ferry) {
            // closed in reverse: guest, host, devices
        }
        if (dir != null && Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private Device device() {
        assertFalse(ferry.devices().isEmpty(), "the host offers no device: " + devices.noDeviceMessage());
        return ferry.defaultDevice();
    }

    @Test
    void everyWorkloadVerifiesOnTheHost() {
        Device dev = device();
        List<String> failures = new ArrayList<>();
        for (Workload w : Workloads.all()) {
            WorkloadResult r = w.run(ferry, dev);
            System.out.println(r.humanLine("w"));
            assertEquals(w.name(), r.workload());
            assertEquals(dev.name(), r.device());
            if (!r.verified()) {
                failures.add(r.workload() + ": " + r.detail());
            } else {
                assertTrue(r.millis() > 0 && r.buildMillis() > 0, r.toString());
                assertTrue(r.maxRelativeError() >= 0, r.toString());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(0, ferry.heap().usedBytes(), "every heap block is given back");
    }

    @Test
    void oddSizesVerify() {
        // Sizes that are not multiples of the work-group or tile exercise the kernels' bounds checks.
        Device dev = device();
        for (Workload w : List.of(new VaddWorkload(1000), new MatmulWorkload(50, 70, 30), new ReduceWorkload(1001),
                new FilterWorkload(37, 19), new FilterWorkload(1, 1))) {
            WorkloadResult r = w.run(ferry, dev);
            assertTrue(r.verified(), w.name() + " " + w.size() + ": " + r.detail());
        }
    }

    @Test
    void sessionStaysUsableAfterRuns() {
        Device dev = device();
        WorkloadResult first = new VaddWorkload(4096).run(ferry, dev);
        WorkloadResult second = new VaddWorkload(4096).run(ferry, dev);
        assertTrue(first.verified() && second.verified(), first + " / " + second);
        assertEquals(0.0, second.maxRelativeError(), "float addition is exact on both sides");
    }

    /** A workload whose kernel does not compile, or whose launch is wrong: both must become failed results. */
    private static final class Broken extends KernelWorkload {
        private final String source;
        private final boolean badLaunch;

        Broken(String source, boolean badLaunch) {
            this.source = source;
            this.badLaunch = badLaunch;
        }

        @Override
        public String name() {
            return "broken";
        }

        @Override
        public String size() {
            return "1 float";
        }

        @Override
        String source() {
            return source;
        }

        @Override
        Outcome execute(Ferry ferry, Device device, io.ferry.client.Context ctx, io.ferry.client.CommandQueue q,
                        io.ferry.client.Program program) {
            try (io.ferry.client.Kernel k = program.kernel("k");
                 io.ferry.client.DeviceBuffer b = ctx.createBuffer(64)) {
                k.arg(0, b);
                if (badLaunch) {
                    // 7 work-items in groups of 2: not a multiple, rejected by OpenCL 1.2 at enqueue.
                    q.launch(k, io.ferry.client.NDRange.of(7), io.ferry.client.NDRange.of(2));
                } else {
                    q.launch(k, io.ferry.client.NDRange.of(1));
                }
                q.finish();
                return Outcome.of(0, new Verifier("none", 0, 1).check("x", 0, 0));
            }
        }
    }

    @Test
    void ferryErrorsBecomeFailedResults() {
        Device dev = device();
        WorkloadResult build = new Broken("__kernel void k(__global float* x) { this is not C; }", false)
                .run(ferry, dev);
        assertFalse(build.verified());
        assertTrue(build.detail().toLowerCase(java.util.Locale.ROOT).contains("build"), build.detail());
        assertTrue(Double.isNaN(build.millis()));
        WorkloadResult launch = new Broken("__kernel void k(__global float* x) { x[get_global_id(0)] = 1.0f; }",
                true).run(ferry, dev);
        System.out.println("build failure: " + build.detail() + "\nlaunch failure: " + launch.detail());
        assertFalse(launch.verified(), launch.toString());
        assertFalse(launch.detail().isBlank());
        // The session survives both failures.
        assertTrue(new VaddWorkload(1024).run(ferry, dev).verified());
    }
}
