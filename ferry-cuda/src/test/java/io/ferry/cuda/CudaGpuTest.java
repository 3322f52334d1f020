package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.spi.BackendException;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The GPU suite: runs only with a CUDA device and {@code -Dferry.gpu=true} ({@code ./ferry test --gpu}, or
 * {@code .device/gpu-check.sh} on a GPU host); skipped otherwise with the reason.
 */
class CudaGpuTest {
    static final String CUDA_C = """
            __global__ void vadd(const float* a, const float* b, float* c, int n) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i < n) c[i] = a[i] + b[i];
            }

            extern "C" __global__ void group_sum(const float* in, float* out, unsigned tmp_off, float factor) {
                extern __shared__ char smem[];
                float* tmp = (float*) (smem + tmp_off);
                unsigned l = threadIdx.x;
                tmp[l] = in[blockIdx.x * blockDim.x + l] * factor;
                __syncthreads();
                if (l == 0) {
                    float s = 0;
                    for (unsigned i = 0; i < blockDim.x; i++) s += tmp[i];
                    out[blockIdx.x] = s;
                }
            }

            extern "C" __global__ void boom(int* unused) {
                *((volatile int*) 0x10) = 1;  // an address no context maps
            }

            extern "C" __global__ void peek(const unsigned long long* src, unsigned long long* dst, int n) {
                int i = threadIdx.x;
                if (i < n) dst[i] = ((volatile const unsigned long long*) src)[i];
            }
            """;

    static final String PTX = """
            .version 7.0
            .target sm_75
            .address_size 64

            .visible .entry vadd_ptx(
            	.param .u64 a,
            	.param .u64 b,
            	.param .u64 c,
            	.param .u32 n
            )
            {
            	.reg .pred %p<2>;
            	.reg .b32 %r<6>;
            	.reg .f32 %f<4>;
            	.reg .b64 %rd<11>;

            	ld.param.u64 %rd1, [a];
            	ld.param.u64 %rd2, [b];
            	ld.param.u64 %rd3, [c];
            	ld.param.u32 %r2, [n];
            	mov.u32 %r3, %ctaid.x;
            	mov.u32 %r4, %ntid.x;
            	mov.u32 %r5, %tid.x;
            	mad.lo.s32 %r1, %r3, %r4, %r5;
            	setp.ge.s32 %p1, %r1, %r2;
            	@%p1 bra DONE;
            	cvta.to.global.u64 %rd4, %rd1;
            	cvta.to.global.u64 %rd5, %rd2;
            	cvta.to.global.u64 %rd6, %rd3;
            	mul.wide.s32 %rd7, %r1, 4;
            	add.s64 %rd8, %rd4, %rd7;
            	add.s64 %rd9, %rd5, %rd7;
            	add.s64 %rd10, %rd6, %rd7;
            	ld.global.f32 %f1, [%rd8];
            	ld.global.f32 %f2, [%rd9];
            	add.f32 %f3, %f1, %f2;
            	st.global.f32 [%rd10], %f3;
            DONE:
            	ret;
            }
            """;

    static final long HEAP = 64L << 20;
    static final AtomicLong HANDLES = new AtomicLong(1000);
    static CudaBackend backend;
    static Path dir;

    static long h() {
        return HANDLES.incrementAndGet();
    }

    /** Why the suite is skipped here; null when it runs. */
    static String skipReason;

    @BeforeAll
    static void needsAGpu() throws IOException {
        backend = new CudaBackend();
        if (backend.devices().isEmpty()) {
            skipReason = "no CUDA device (" + backend.unavailableReason() + ")";
        } else if (!Boolean.getBoolean("ferry.gpu")) {
            skipReason = "GPU tests run with -Dferry.gpu=true (./ferry test --gpu, or .device/gpu-check.sh)";
        }
        if (skipReason != null) {
            System.err.println("CudaGpuTest skipped: " + skipReason);
            return;
        }
        dir = Files.createTempDirectory(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : null, "ferry-cuda-test");
    }

    @BeforeEach
    void skipWithoutAGpu() {
        Assumptions.assumeTrue(skipReason == null, () -> skipReason);
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (backend != null) {
            backend.close();
        }
        if (dir != null) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** A guest: a heap mapped from a /dev/shm file (as a region's heap is), a session, a context and a queue. */
    static final class Guest implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final MemorySegment heap;
        final CudaSession session;
        final long ctx = h();
        final long queue = h();

        Guest(String name) throws IOException, BackendException {
            Path file = dir.resolve(name + "-" + h() + ".heap");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                heap = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEAP, arena);
            }
            Files.delete(file);
            session = backend.openSession(name, heap);
            session.createContext(ctx, 0);
            session.createQueue(queue, ctx, true, 0);
        }

        long buffer(long size) throws BackendException {
            long b = h();
            session.createBuffer(b, ctx, size, 3, -1);
            return b;
        }

        long program(SourceLanguage lang, String source) throws BackendException {
            long p = h();
            session.createProgram(p, ctx, lang, source);
            session.buildProgram(p, "");
            return p;
        }

        long kernel(long program, String name) throws BackendException {
            long k = h();
            session.createKernel(k, program, name);
            return k;
        }

        @Override
        public void close() {
            session.close();
            arena.close();
        }
    }

    private static void vectorAdd(SourceLanguage lang, String source, String name) throws Exception {
        try (Guest g = new Guest("vadd")) {
            int n = 1000;
            long bytes = n * 4L;
            for (int i = 0; i < n; i++) {
                g.heap.setAtIndex(JAVA_FLOAT, i, i);
                g.heap.setAtIndex(JAVA_FLOAT, n + i, 2 * i);
            }
            long a = g.buffer(bytes);
            long b = g.buffer(bytes);
            long c = g.buffer(bytes);
            assertEquals(3 * bytes, g.session.deviceMemoryBytes());
            g.session.enqueueWrite(g.queue, a, 0, bytes, 0, 0);
            g.session.enqueueWrite(g.queue, b, 0, bytes, bytes, 0);
            long p = g.program(lang, source);
            long k = h();
            assertEquals(4, g.session.createKernel(k, p, name));
            g.session.setKernelArgBuffer(k, 0, a);
            g.session.setKernelArgBuffer(k, 1, b);
            g.session.setKernelArgBuffer(k, 2, c);
            g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_INT, n));
            long ev = h();
            g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {n}, null, ev);
            g.session.enqueueRead(g.queue, c, 0, bytes, 2 * bytes, 0);
            g.session.finish(g.queue);
            for (int i = 0; i < n; i++) {
                assertEquals(3f * i, g.heap.getAtIndex(JAVA_FLOAT, 2L * n + i), "element " + i);
            }
            long[] t = g.session.waitEvent(ev);
            assertTrue(t[0] > 0 && t[1] >= t[0], "event times " + t[0] + ", " + t[1]);
            g.session.release(k);
            g.session.release(p);
            g.session.release(c);
            assertEquals(2 * bytes, g.session.deviceMemoryBytes());
        }
    }

    @Test
    void vectorAddFromCudaC() throws Exception {
        vectorAdd(SourceLanguage.CUDA_C, CUDA_C, "vadd"); // a C++ name: found through its mangling
    }

    @Test
    void vectorAddFromPtx() throws Exception {
        vectorAdd(SourceLanguage.PTX, PTX, "vadd_ptx");
    }

    @Test
    void heapIsRegisteredAndRoundTripsByDma() throws Exception {
        try (Guest g = new Guest("zero-copy")) {
            assertTrue(CudaTesting.heapRegistered(g.session, g.ctx), "cuMemHostRegister of the /dev/shm heap failed (see log)");
            long size = 16L << 20;
            for (long i = 0; i < size / 8; i++) {
                g.heap.setAtIndex(JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
            }
            long buf = g.buffer(size);
            g.session.enqueueWrite(g.queue, buf, 0, size, 0, 0);
            g.session.enqueueRead(g.queue, buf, 0, size, size, 0);
            g.session.finish(g.queue);
            assertEquals(-1, g.heap.asSlice(0, size).mismatch(g.heap.asSlice(size, size)));
            // copy, fills (1-, 4- and a 16-byte non-repeating pattern), heap-backed buffers
            long other = g.buffer(size);
            g.session.enqueueCopy(g.queue, buf, other, 0, 0, size, 0);
            g.session.enqueueRead(g.queue, other, 0, size, 2 * size, 0);
            g.session.finish(g.queue);
            assertEquals(-1, g.heap.asSlice(0, size).mismatch(g.heap.asSlice(2 * size, size)));
            g.session.enqueueFill(g.queue, other, g.arena.allocateFrom(JAVA_INT, 0x01020304), 0, size, 0);
            MemorySegment pattern = g.arena.allocate(16);
            for (int i = 0; i < 4; i++) {
                pattern.setAtIndex(JAVA_INT, i, 100 + i);
            }
            g.session.enqueueFill(g.queue, other, pattern, 4096, 4096 * 3, 0);
            g.session.enqueueRead(g.queue, other, 0, 4 * 4096, 0, 0);
            g.session.finish(g.queue);
            assertEquals(0x01020304, g.heap.getAtIndex(JAVA_INT, 0));
            assertEquals(0x01020304, g.heap.getAtIndex(JAVA_INT, 1023));
            for (int i = 1024; i < 4096; i++) {
                assertEquals(100 + (i % 4), g.heap.getAtIndex(JAVA_INT, i), "int " + i);
            }
            g.heap.asSlice(8 << 20, 4096).fill((byte) 7);
            long backed = h();
            g.session.createBuffer(backed, g.ctx, 4096, 3, 8 << 20);
            g.session.enqueueRead(g.queue, backed, 0, 4096, 0, 0);
            g.session.finish(g.queue);
            assertEquals(-1, g.heap.asSlice(0, 4096).mismatch(g.heap.asSlice(8 << 20, 4096)));
        }
    }

    @Test
    void localArgumentsBecomeDynamicSharedMemory() throws Exception {
        try (Guest g = new Guest("local")) {
            long in = g.buffer(1024 * 4);
            long out = g.buffer(4 * 4);
            for (int i = 0; i < 1024; i++) {
                g.heap.setAtIndex(JAVA_FLOAT, i, 1f);
            }
            g.session.enqueueWrite(g.queue, in, 0, 4096, 0, 0);
            long p = g.program(SourceLanguage.CUDA_C, CUDA_C);
            long k = g.kernel(p, "group_sum");
            g.session.setKernelArgBuffer(k, 0, in);
            g.session.setKernelArgBuffer(k, 1, out);
            g.session.setKernelArgLocal(k, 2, 256 * 4);
            g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_FLOAT, 2f));
            g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {1024}, new long[] {256}, 0);
            g.session.enqueueRead(g.queue, out, 0, 16, 8192, 0);
            g.session.finish(g.queue);
            for (int i = 0; i < 4; i++) {
                assertEquals(512f, g.heap.getAtIndex(JAVA_FLOAT, 2048 + i));
            }
        }
    }

    @Test
    void reportsBuildErrorsWithTheLogAndMisuseClearly() throws Exception {
        try (Guest g = new Guest("errors")) {
            long p = h();
            g.session.createProgram(p, g.ctx, SourceLanguage.CUDA_C, "__global__ void broken( { }");
            BackendException e = assertThrows(BackendException.class, () -> g.session.buildProgram(p, ""));
            assertEquals(Status.BUILD_FAILED, e.status());
            assertTrue(e.getMessage().contains("error"), e.getMessage());
            long q = h();
            g.session.createProgram(q, g.ctx, SourceLanguage.PTX, ".version 7.0\n.target sm_75\n.address_size 64\n"
                    + ".visible .entry x() { bogus.instruction; }");
            e = assertThrows(BackendException.class, () -> g.session.buildProgram(q, ""));
            assertEquals(Status.BUILD_FAILED, e.status());
            assertTrue(e.getMessage().contains("build log"), e.getMessage());
            long r = g.program(SourceLanguage.PTX, PTX);
            e = assertThrows(BackendException.class, () -> g.session.createKernel(h(), r, "nope"));
            assertEquals(Status.KERNEL_NOT_FOUND, e.status());
            assertTrue(e.getMessage().contains("vadd_ptx"), e.getMessage());
            long k = g.kernel(r, "vadd_ptx");
            e = assertThrows(BackendException.class, () -> g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_LONG, 1L)));
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
            assertTrue(e.getMessage().contains("parameter 3 'n'"), e.getMessage());
            e = assertThrows(BackendException.class, () -> g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {64}, null, 0));
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
            assertThrows(BackendException.class, () -> g.session.createProgram(h(), g.ctx, SourceLanguage.OPENCL_C, "x"));
            assertFalse(CudaTesting.isLost(g.session));
        }
    }

    @Test
    void aFaultEndsOnlyThatGuestsDeviceWork() throws Exception {
        try (Guest bad = new Guest("faulty"); Guest good = new Guest("bystander")) {
            long p = bad.program(SourceLanguage.CUDA_C, CUDA_C);
            long k = bad.kernel(p, "boom");
            long b = bad.buffer(64);
            bad.session.setKernelArgBuffer(k, 0, b);
            BackendException e = assertThrows(BackendException.class, () -> {
                bad.session.enqueueLaunch(bad.queue, k, 1, null, new long[] {1}, null, 0);
                bad.session.finish(bad.queue);
            });
            assertEquals(Status.DEVICE_LOST, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("CUDA_ERROR_"), e.getMessage());
            assertTrue(CudaTesting.isLost(bad.session));
            e = assertThrows(BackendException.class, () -> bad.buffer(64));
            assertEquals(Status.DEVICE_LOST, e.status());
            assertTrue(e.getMessage().contains("ended earlier"), e.getMessage());
            // the other guest's context is untouched
            vectorAddIn(good);
            bad.session.close(); // destroys the dead context without harm
            vectorAddIn(good);
        }
    }

    private static void vectorAddIn(Guest g) throws Exception {
        long a = g.buffer(256 * 4);
        for (int i = 0; i < 256; i++) {
            g.heap.setAtIndex(JAVA_FLOAT, i, i);
        }
        g.session.enqueueWrite(g.queue, a, 0, 1024, 0, 0);
        long p = g.program(SourceLanguage.PTX, PTX);
        long k = g.kernel(p, "vadd_ptx");
        g.session.setKernelArgBuffer(k, 0, a);
        g.session.setKernelArgBuffer(k, 1, a);
        g.session.setKernelArgBuffer(k, 2, a);
        g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_INT, 256));
        g.session.enqueueLaunch(g.queue, k, 1, null, new long[] {256}, null, 0);
        g.session.enqueueRead(g.queue, a, 0, 1024, 4096, 0);
        g.session.finish(g.queue);
        for (int i = 0; i < 256; i++) {
            assertEquals(2f * i, g.heap.getAtIndex(JAVA_FLOAT, 1024 + i));
        }
    }

    /**
     * Guest A's kernel handed an address of guest B (a device buffer, or B's registered heap) must not read B's data:
     * the launch faults in A's context (DEVICE_LOST), or at least does not return B's bytes.
     */
    @Test
    void aKernelCannotReadAnotherGuestsMemory() throws Exception {
        long secret = 0x5EC12E7_0DDBA11L;
        try (Guest victim = new Guest("victim")) {
            long vbuf = victim.buffer(4096);
            for (int i = 0; i < 512; i++) {
                victim.heap.setAtIndex(JAVA_LONG, i, secret + i);
            }
            victim.session.enqueueWrite(victim.queue, vbuf, 0, 4096, 0, 0);
            victim.session.finish(victim.queue);
            long deviceAddress = CudaTesting.devicePointer(victim.session, vbuf);
            long heapAddress = victim.heap.address();
            CudaDevice dev = backend.cudaDevices().getFirst();

            String[] what = {"device buffer", "registered heap"};
            long[] targets = {deviceAddress, heapAddress};
            for (int t = 0; t < 2; t++) {
                try (Guest thief = new Guest("thief")) {
                    long out = thief.buffer(4096);
                    thief.session.enqueueFill(thief.queue, out, thief.arena.allocateFrom(JAVA_INT, 0), 0, 4096, 0);
                    long p = thief.program(SourceLanguage.CUDA_C, CUDA_C);
                    long k = thief.kernel(p, "peek");
                    thief.session.setKernelArgValue(k, 0, thief.arena.allocateFrom(JAVA_LONG, targets[t]));
                    thief.session.setKernelArgBuffer(k, 1, out);
                    thief.session.setKernelArgValue(k, 2, thief.arena.allocateFrom(JAVA_INT, 512));
                    try {
                        thief.session.enqueueLaunch(thief.queue, k, 1, null, new long[] {512}, new long[] {512}, 0);
                        thief.session.enqueueRead(thief.queue, out, 0, 4096, 0, 0);
                        thief.session.finish(thief.queue);
                        for (int i = 0; i < 512; i++) {
                            if (thief.heap.getAtIndex(JAVA_LONG, i) == secret + i) {
                                fail("guest 'thief' read guest 'victim''s " + what[t] + " through address 0x"
                                        + Long.toHexString(targets[t])
                                        + (t == 1 && dev.pageableMemoryAccess() ? " (this device has "
                                        + "CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS: kernels reach host memory "
                                        + "of the whole process; see docs/cuda.md, Isolation)" : ""));
                            }
                        }
                    } catch (BackendException e) {
                        assertEquals(Status.DEVICE_LOST, e.status(), e.getMessage());
                    }
                }
            }
            // the victim is unaffected
            victim.session.enqueueRead(victim.queue, vbuf, 0, 4096, 8192, 0);
            victim.session.finish(victim.queue);
            assertEquals(secret + 7, victim.heap.getAtIndex(JAVA_LONG, 1024 + 7));
            assertNotEquals(0, deviceAddress);
        }
    }

    @Test
    void queuesGetStreamPrioritiesAndEventsHaveTimes() throws Exception {
        try (Guest g = new Guest("prio")) {
            long hi = h();
            g.session.createQueue(hi, g.ctx, true, 10);
            long p = g.program(SourceLanguage.PTX, PTX);
            long k = g.kernel(p, "vadd_ptx");
            long a = g.buffer(4096);
            for (int i = 0; i < 3; i++) {
                g.session.setKernelArgBuffer(k, i, a);
            }
            g.session.setKernelArgValue(k, 3, g.arena.allocateFrom(JAVA_INT, 1024));
            long e1 = h();
            long e2 = h();
            g.session.enqueueLaunch(hi, k, 1, null, new long[] {1024}, null, e1);
            g.session.enqueueLaunch(hi, k, 1, null, new long[] {1024}, null, e2);
            long[] t1 = g.session.waitEvent(e1);
            long[] t2 = g.session.waitEvent(e2);
            assertTrue(t1[0] > 0 && t1[1] >= t1[0] && t2[0] >= t1[1] - 1_000, t1[0] + " " + t1[1] + " " + t2[0]);
            assertArrayEquals(new long[] {0, 0}, waitNonProfiling(g, k));
            BackendException e = assertThrows(BackendException.class,
                    () -> g.session.enqueueLaunch(hi, k, 1, new long[] {5}, new long[] {1024}, null, 0));
            assertEquals(Status.UNSUPPORTED, e.status());
        }
    }

    private static long[] waitNonProfiling(Guest g, long k) throws BackendException {
        long q = h();
        g.session.createQueue(q, g.ctx, false, -1);
        long e = h();
        g.session.enqueueLaunch(q, k, 1, null, new long[] {1024}, null, e);
        return g.session.waitEvent(e);
    }
}
