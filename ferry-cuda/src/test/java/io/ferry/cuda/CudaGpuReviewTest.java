package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.SourceLanguage;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The GPU cases of the review's call-path fixes (issue 18) that only a GPU can show; the rest have unit tests
 * (CudaErrorsTest, LibraryPathsTest, CudaBackendTest, LaunchGeometryTest, EventClockTest). Runs where
 * {@link CudaGpuTest} runs ({@code -Dferry.gpu=true} and a CUDA device), with its guests.
 */
class CudaGpuReviewTest {
    /** Sums its input through a dynamic shared array of {@code n} floats (more than the 48 KiB default for n ≥ 12,289). */
    static final String SHARED = """
            extern "C" __global__ void big_shared(const float* in, float* out, unsigned off, int n) {
                extern __shared__ char smem[];
                float* s = (float*) (smem + off);
                for (int i = threadIdx.x; i < n; i += blockDim.x) s[i] = in[i];
                __syncthreads();
                if (threadIdx.x == 0) {
                    float sum = 0;
                    for (int i = 0; i < n; i++) sum += s[i];
                    out[0] = sum;
                }
            }
            """;

    @BeforeAll
    static void needsAGpu() throws IOException {
        CudaGpuTest.needsAGpu();
    }

    @AfterAll
    static void tearDown() throws IOException {
        CudaGpuTest.tearDown();
    }

    @BeforeEach
    void skipWithoutAGpu() {
        Assumptions.assumeTrue(CudaGpuTest.skipReason == null, () -> CudaGpuTest.skipReason);
    }

    /** Fixes 1 and 2: NVRTC of the driver's CUDA major, with its builtins opened from its own folder. */
    @Test
    void nvrtcMatchesTheDriverAndItsBuiltinsAreOpened() throws Exception {
        Nvrtc nvrtc = Nvrtc.get();
        int driver = Cuda.driverVersion();
        System.err.println("NVRTC " + nvrtc.version() + " from " + nvrtc.loadedFrom + ", builtins "
                + nvrtc.builtinsFrom + "; driver CUDA " + driver);
        assertEquals(driver / 1000, nvrtc.versionCode / 1000, "NVRTC's major is the driver's (" + nvrtc.loadedFrom
                + "); the host has " + LibraryPaths.nvrtcCandidates(System.getenv(), java.nio.file.Path.of("/"), driver));
        if (nvrtc.loadedFrom.indexOf('/') >= 0) {
            assertNotNull(nvrtc.builtinsFrom, "no libnvrtc-builtins.so.* next to " + nvrtc.loadedFrom);
        }
    }

    /** Fix 3: a guest naming a real architecture gets a cubin, loaded, its kernels listed by the driver. */
    @Test
    void aRealArchitectureBuildsACubin() throws Exception {
        try (CudaGpuTest.Guest g = new CudaGpuTest.Guest("sm-arch")) {
            CudaDevice d = CudaGpuTest.backend.cudaDevices().get(0);
            long p = CudaGpuTest.h();
            g.session.createProgram(p, g.ctx, SourceLanguage.CUDA_C, CudaGpuTest.CUDA_C);
            String log = g.session.buildProgram(p, "-arch=sm_" + d.ccMajor() + d.ccMinor());
            System.err.println("sm build log: " + log);
            int n = 256;
            for (int i = 0; i < n; i++) {
                g.heap.setAtIndex(JAVA_FLOAT, i, i);
                g.heap.setAtIndex(JAVA_FLOAT, n + i, 1);
            }
            long a = g.buffer(n * 4L);
            long b = g.buffer(n * 4L);
            long c = g.buffer(n * 4L);
            g.session.enqueueWrite(g.queue, a, 0, n * 4L, 0, 0);
            g.session.enqueueWrite(g.queue, b, 0, n * 4L, n * 4L, 0);
            long k = CudaGpuTest.h();
            assertEquals(4, g.session.createKernel(k, p, "vadd"));
            g.session.setKernelArgBuffer(k, 0, a);
            g.session.setKernelArgBuffer(k, 1, b);
            g.session.setKernelArgBuffer(k, 2, c);
            g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_INT, n));
            g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {n}, null, 0);
            g.session.enqueueRead(g.queue, c, 0, n * 4L, 2 * n * 4L, 0);
            g.session.finish(g.queue);
            for (int i = 0; i < n; i++) {
                assertEquals(i + 1f, g.heap.getAtIndex(JAVA_FLOAT, 2L * n + i), "element " + i);
            }
        }
    }

    /** Fix 4: more dynamic shared memory than the 48 KiB default, up to the device's opt-in limit. */
    @Test
    void sharedMemoryBeyondTheDefaultIsOptedInto() throws Exception {
        try (CudaGpuTest.Guest g = new CudaGpuTest.Guest("shared")) {
            CudaDevice d = CudaGpuTest.backend.cudaDevices().get(0);
            Assumptions.assumeTrue(d.maxSharedPerBlock() > 64 * 1024, "the device allows only " + d.maxSharedPerBlock());
            int n = 25_000; // 100,000 bytes
            for (int i = 0; i < n; i++) {
                g.heap.setAtIndex(JAVA_FLOAT, i, 1f);
            }
            long in = g.buffer(n * 4L);
            long out = g.buffer(4);
            g.session.enqueueWrite(g.queue, in, 0, n * 4L, 0, 0);
            long k = g.kernel(g.program(SourceLanguage.CUDA_C, SHARED), "big_shared");
            g.session.setKernelArgBuffer(k, 0, in);
            g.session.setKernelArgBuffer(k, 1, out);
            g.session.setKernelArgLocal(k, 2, n * 4L);
            g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_INT, n));
            g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {128}, new long[] {128}, 0);
            g.session.enqueueRead(g.queue, out, 0, 4, 1 << 20, 0);
            g.session.finish(g.queue);
            assertEquals(n, g.heap.get(JAVA_FLOAT, 1 << 20), 0.5f);
        }
    }

    /** Fix 5: event times keep sub-microsecond steps and follow the host's clock across anchors. */
    @Test
    void eventTimesStayPreciseAcrossAnchors() throws Exception {
        try (CudaGpuTest.Guest g = new CudaGpuTest.Guest("clock")) {
            long buf = g.buffer(4096);
            long[] first = timedWrite(g, buf);
            long hostBefore = System.nanoTime();
            Thread.sleep(2_300); // two anchors' worth
            long[] later = timedWrite(g, buf);
            long hostGap = System.nanoTime() - hostBefore;
            assertTrue(first[1] >= first[0] && later[1] >= later[0], "ordered: " + first[0] + ".." + later[1]);
            long deviceGap = later[0] - first[1];
            assertTrue(Math.abs(deviceGap - hostGap) < 50_000_000L, "device gap " + deviceGap + " ns, host " + hostGap);
        }
    }

    private static long[] timedWrite(CudaGpuTest.Guest g, long buf) throws Exception {
        long ev = CudaGpuTest.h();
        g.session.enqueueWrite(g.queue, buf, 0, 4096, 0, ev);
        long[] t = g.session.waitEvent(ev);
        g.session.release(ev);
        return t;
    }

    /** Fix 6: making a context leaves the thread's context stack one deep (it grew by one per context before). */
    @Test
    void contextCreationLeavesNoContextPushed() throws Exception {
        while (CudaTesting.popCurrentContext() == 0) {
            // empty this thread's stack of whatever earlier tests left
        }
        try (CudaGpuTest.Guest a = new CudaGpuTest.Guest("stack-a"); CudaGpuTest.Guest b = new CudaGpuTest.Guest("stack-b")) {
            a.buffer(64); // a call: binds a's context
            assertEquals(0, CudaTesting.popCurrentContext(), "the current context");
            assertEquals(201, CudaTesting.popCurrentContext(), "nothing under it (CUDA_ERROR_INVALID_CONTEXT)");
        }
    }

    /** Fix 7: a second device context of one session registers a view of its own (it failed with 712 and fell back). */
    @Test
    void aSecondDeviceContextRegistersItsOwnViewOfTheHeap() throws Exception {
        try (CudaGpuTest.Guest g = new CudaGpuTest.Guest("two-contexts")) {
            long ctx2 = CudaGpuTest.h();
            long queue2 = CudaGpuTest.h();
            g.session.createContext(ctx2, 0, true);
            g.session.createQueue(queue2, ctx2, false, 0);
            assertTrue(CudaTesting.heapRegistered(g.session, g.ctx), "first context");
            assertTrue(CudaTesting.heapRegistered(g.session, ctx2), "second context");
            long size = 1 << 20;
            for (int i = 0; i < size / 4; i++) {
                g.heap.setAtIndex(JAVA_INT, i, i * 31);
            }
            long buf = CudaGpuTest.h();
            g.session.createBuffer(buf, ctx2, size, 3, -1);
            g.session.enqueueWrite(queue2, buf, 0, size, 0, 0);
            g.session.enqueueRead(queue2, buf, 0, size, size, 0);
            g.session.finish(queue2);
            assertEquals(-1, g.heap.asSlice(0, size).mismatch(g.heap.asSlice(size, size)));
        }
    }
}
