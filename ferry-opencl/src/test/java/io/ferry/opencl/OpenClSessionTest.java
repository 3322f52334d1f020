package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.BackendException;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OpenClSessionTest {
    static final String SOURCE = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, int n) {
                int i = get_global_id(0);
                if (i < n) c[i] = a[i] + b[i];
            }

            __kernel void group_sum(__global const float* in, __global float* out, __local float* tmp, float factor) {
                int l = get_local_id(0);
                tmp[l] = in[get_global_id(0)] * factor;
                barrier(CLK_LOCAL_MEM_FENCE);
                if (l == 0) {
                    float s = 0;
                    for (int i = 0; i < (int) get_local_size(0); i++) s += tmp[i];
                    out[get_group_id(0)] = s;
                }
            }
            """;

    static final AtomicLong HANDLES = new AtomicLong(100);
    static OpenClBackend backend;
    static Arena arena;
    static MemorySegment heap;
    static OpenClSession session;
    static long context;
    static long queue;
    static long program;

    static long handle() {
        return HANDLES.incrementAndGet();
    }

    @BeforeAll
    static void setUp() throws BackendException {
        backend = new OpenClBackend();
        arena = Arena.ofShared();
        heap = arena.allocate(1 << 20, 4096);
        session = backend.openSession("test", heap);
        context = handle();
        session.createContext(context, 0);
        queue = handle();
        session.createQueue(queue, context, true, 0);
        program = handle();
        session.createProgram(program, context, SourceLanguage.OPENCL_C, SOURCE);
        String log = session.buildProgram(program, null);
        assertTrue(log != null);
    }

    @AfterAll
    static void tearDown() {
        session.close();
        backend.close();
        arena.close();
    }

    static MemorySegment value(int v) {
        return MemorySegment.ofArray(new int[] {v});
    }

    @Test
    void theJvmKeepsItsFaultHandlerAfterPoclAndLlvmStarted() {
        // PoCL's LLVM installs a one-shot SIGSEGV handler over the JVM's; the preloaded signal chaining library (the
        // surefire configuration, ./ferry, the sandboxed JVMs) keeps the JVM's in place (FaultHandlers)
        String owner = io.ferry.spi.sandbox.FaultHandlers.segvOwner();
        assertTrue(owner == null || owner.endsWith("/libjvm.so"), "SIGSEGV handled by " + owner + " after a build");
    }

    @Test
    void vectorAddEndToEnd() throws BackendException {
        int n = 1000;
        long bytes = n * 4L;
        long aOff = 0, bOff = 4096, cOff = 8192;
        for (int i = 0; i < n; i++) {
            heap.setAtIndex(JAVA_FLOAT, aOff / 4 + i, i);
            heap.setAtIndex(JAVA_FLOAT, bOff / 4 + i, 2 * i);
            heap.setAtIndex(JAVA_FLOAT, cOff / 4 + i, -1);
        }
        long before = session.deviceMemoryBytes();
        long a = handle(), b = handle(), c = handle(), k = handle();
        session.createBuffer(a, context, bytes, 1, -1);
        session.createBuffer(b, context, bytes, 1, -1);
        session.createBuffer(c, context, bytes, 2, -1);
        assertEquals(before + 3 * bytes, session.deviceMemoryBytes());
        session.enqueueWrite(queue, a, 0, bytes, aOff, 0);
        session.enqueueWrite(queue, b, 0, bytes, bOff, 0);
        assertEquals(4, session.createKernel(k, program, "vadd"));
        session.setKernelArgBuffer(k, 0, a);
        session.setKernelArgBuffer(k, 1, b);
        session.setKernelArgBuffer(k, 2, c);
        session.setKernelArgValue(k, 3, value(n));
        session.enqueueLaunch(queue, k, 1, null, new long[] {1024}, null, 0);
        session.enqueueRead(queue, c, 0, bytes, cOff, 0);
        session.finish(queue);
        for (int i = 0; i < n; i++) {
            assertEquals(3f * i, heap.getAtIndex(JAVA_FLOAT, cOff / 4 + i), "element " + i);
        }
        for (long h : new long[] {k, a, b, c}) {
            session.release(h);
        }
        assertEquals(before, session.deviceMemoryBytes());
    }

    @Test
    void heapBackedBuffersAndLocalMemoryWithScalar() throws BackendException {
        int groups = 4, localSize = 64, n = groups * localSize;
        long inOff = 16384, outOff = 20480, resultOff = 24576;
        for (int i = 0; i < n; i++) {
            heap.setAtIndex(JAVA_FLOAT, inOff / 4 + i, i % localSize);
        }
        long in = handle(), out = handle(), k = handle();
        session.createBuffer(in, context, n * 4L, 1, inOff);
        session.createBuffer(out, context, groups * 4L, 3, outOff);
        session.createKernel(k, program, "group_sum");
        session.setKernelArgBuffer(k, 0, in);
        session.setKernelArgBuffer(k, 1, out);
        session.setKernelArgLocal(k, 2, localSize * 4L);
        session.setKernelArgValue(k, 3, MemorySegment.ofArray(new float[] {0.5f}));
        session.enqueueLaunch(queue, k, 1, new long[] {0}, new long[] {n}, new long[] {localSize}, 0);
        session.enqueueRead(queue, out, 0, groups * 4L, resultOff, 0);
        session.finish(queue);
        float expected = 0.5f * (localSize - 1) * localSize / 2;
        for (int g = 0; g < groups; g++) {
            assertEquals(expected, heap.getAtIndex(JAVA_FLOAT, resultOff / 4 + g), "group " + g);
        }
        session.release(k);
        session.release(in);
        session.release(out);
    }

    @Test
    void fillCopyAndEvents() throws BackendException {
        long size = 4096, resultOff = 32768;
        long src = handle(), dst = handle(), fillEvent = handle(), copyEvent = handle();
        session.createBuffer(src, context, size, 3, -1);
        session.createBuffer(dst, context, size, 3, -1);
        session.enqueueFill(queue, src, value(0x01020304), 0, size, fillEvent);
        session.enqueueFill(queue, dst, MemorySegment.ofArray(new byte[] {7}), 0, size, 0);
        session.enqueueCopy(queue, src, dst, 0, 1024, 2048, copyEvent);
        long[] times = session.waitEvent(copyEvent);
        assertTrue(times[0] > 0 && times[1] >= times[0], () -> "times " + times[0] + ", " + times[1]);
        session.waitEvent(fillEvent);
        session.enqueueRead(queue, dst, 0, size, resultOff, 0);
        session.finish(queue);
        for (int i = 0; i < size / 4; i++) {
            int expected = i >= 256 && i < 768 ? 0x01020304 : 0x07070707;
            assertEquals(expected, heap.getAtIndex(JAVA_INT, resultOff / 4 + i), "int " + i);
        }
        for (long h : new long[] {fillEvent, copyEvent, src, dst}) {
            session.release(h);
        }
    }

    @Test
    void eventsOfAQueueWithoutProfilingHaveNoTimes() throws BackendException {
        long q = handle(), buf = handle(), ev = handle();
        session.createQueue(q, context, false, 1);
        session.createBuffer(buf, context, 64, 3, -1);
        session.enqueueWrite(q, buf, 0, 64, 0, ev);
        assertArrayEquals(new long[] {0, 0, 0, 0}, session.waitEvent(ev));
        session.release(ev);
        session.release(buf);
        session.release(q);
    }

    @Test
    void aUserEventHoldsAMarkerUntilSetAndIsSetOnce() throws BackendException {
        long q = handle(), user = handle(), mark = handle(), buf = handle(), fill = handle();
        session.createQueue(q, context, true, 0);
        session.createBuffer(buf, context, 64, 3, -1);
        session.createUserEvent(user, context);
        session.enqueueFill(q, buf, MemorySegment.ofArray(new byte[] {1}), 0, 64, fill,
                new long[] {user});
        session.enqueueMarker(q, mark, new long[] {fill}, false);
        assertTrue(session.eventStatus(mark) > 0, "complete before its user event");
        session.setUserEventStatus(user, 0);
        session.waitEvent(mark);
        assertEquals(0, session.eventStatus(mark));
        assertTrue(session.waitEvent(fill)[0] > 0, "a profiling queue's fill has times");
        assertThrows(BackendException.class, () -> session.setUserEventStatus(user, 0));
        for (long h : new long[] {mark, fill, user, buf, q}) {
            session.release(h);
        }
    }

    @Test
    void buildFailureCarriesTheLog() throws BackendException {
        long p = handle();
        session.createProgram(p, context, SourceLanguage.OPENCL_C, """
                __kernel void broken(__global int* x) {
                    int i = get_global_id(0);
                    x[i] = undefined_symbol;
                }
                """);
        BackendException e = assertThrows(BackendException.class, () -> session.buildProgram(p, null));
        assertEquals(Status.BUILD_FAILED, e.status());
        assertTrue(e.getMessage().startsWith("clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)"), e.getMessage());
        assertTrue(e.getMessage().contains("undefined_symbol"), e.getMessage());
        assertTrue(e.getMessage().contains(":3:"), e.getMessage());
        session.release(p);
    }

    @Test
    void buildOptionsOffTheAllowListAreRefusedNamingTheOption() throws BackendException {
        long p = handle();
        session.createProgram(p, context, SourceLanguage.OPENCL_C, SOURCE);
        for (String bad : java.util.List.of("-no-such-option", "-I/etc", "-include /etc/hostname")) {
            BackendException e = assertThrows(BackendException.class, () -> session.buildProgram(p, bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("'" + bad.split(" ")[0] + "'"), e.getMessage());
        }
        session.release(p);
    }

    @Test
    void allowedOptionsPoclRejectsStillFailTheBuild() throws BackendException {
        long p = handle();
        session.createProgram(p, context, SourceLanguage.OPENCL_C, SOURCE);
        // allowed by the list, refused by PoCL: the device's own answer comes back
        BackendException e = assertThrows(BackendException.class, () -> session.buildProgram(p, "-cl-std=CL1.0 -D X=1 -Werror -cl-kernel-arg-info -cl-no-subgroup-ifp -cl-std=CL3.0"));
        assertTrue(e.status() == Status.BUILD_FAILED || e.status() == Status.INVALID_ARGUMENT, e.getMessage());
        session.release(p);
    }

    @Test
    void aLongBuildLogIsCutWithItsSizeNoted() throws BackendException {
        long p = handle();
        // unique code, so that no PoCL kernel cache answers it (PoCL hashes the preprocessed source; a cached build has
        // no log)
        String source = "__kernel void unique" + System.nanoTime() + "() {}\n" + ("#warning " + "w".repeat(150) + "\n").repeat(600) + SOURCE;
        session.createProgram(p, context, SourceLanguage.OPENCL_C, source);
        String log = session.buildProgram(p, "");
        assertTrue(log.length() < ClPrograms.LOG_LIMIT + 100, "log of " + log.length());
        assertTrue(log.contains("(log cut at 12 KiB of "), log.substring(Math.max(0, log.length() - 100)));
        session.release(p);
    }

    @Test
    void otherLanguagesAreUnsupported() {
        BackendException e = assertThrows(BackendException.class,
                () -> session.createProgram(handle(), context, SourceLanguage.CUDA_C, "__global__ void k() {}"));
        assertEquals(Status.UNSUPPORTED, e.status());
        assertTrue(e.getMessage().contains("CUDA_C"), e.getMessage());
    }

    @Test
    void unknownKernelListsTheAvailableOnes() {
        BackendException e = assertThrows(BackendException.class, () -> session.createKernel(handle(), program, "vmul"));
        assertEquals(Status.KERNEL_NOT_FOUND, e.status());
        assertTrue(e.getMessage().contains("CL_INVALID_KERNEL_NAME (-46)"), e.getMessage());
        assertTrue(e.getMessage().contains("'vmul'"), e.getMessage());
        assertTrue(e.getMessage().contains("vadd") && e.getMessage().contains("group_sum"), e.getMessage());
    }

    @Test
    void wrongArgumentsAreNamed() throws BackendException {
        long k = handle(), buf = handle();
        session.createKernel(k, program, "vadd");
        session.createBuffer(buf, context, 64, 3, -1);

        // (an index out of range never reaches the backend: the host checks it against the count createKernel gave)
        BackendException e = assertThrows(BackendException.class, () -> session.setKernelArgBuffer(k, 3, buf));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertTrue(e.getMessage().contains("argument 3 'n'") && e.getMessage().contains("'int'")
                && e.getMessage().contains("a buffer"), e.getMessage());

        e = assertThrows(BackendException.class, () -> session.setKernelArgValue(k, 0, value(1)));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertTrue(e.getMessage().contains("argument 0 'a'") && e.getMessage().contains("__global")
                && e.getMessage().contains("a value of 4 bytes"), e.getMessage());

        e = assertThrows(BackendException.class, () -> session.setKernelArgLocal(k, 1, 256));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertTrue(e.getMessage().contains("argument 1 'b'") && e.getMessage().contains("local memory"), e.getMessage());

        e = assertThrows(BackendException.class, () -> session.setKernelArgValue(k, 3, MemorySegment.ofArray(new long[] {1})));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertTrue(e.getMessage().startsWith("clSetKernelArg: CL_INVALID_ARG_SIZE (-51)"), e.getMessage());
        assertTrue(e.getMessage().contains("argument 3 'n' (int)"), e.getMessage());

        session.setKernelArgBuffer(k, 0, buf);
        e = assertThrows(BackendException.class,
                () -> session.enqueueLaunch(queue, k, 1, null, new long[] {16}, null, 0));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertEquals("kernel 'vadd': arguments not set: 1 'b' (__global float*), 2 'c' (__global float*), 3 'n' (int)",
                e.getMessage());

        session.setKernelArgBuffer(k, 1, buf);
        session.setKernelArgBuffer(k, 2, buf);
        session.setKernelArgValue(k, 3, value(16));
        e = assertThrows(BackendException.class,
                () -> session.enqueueLaunch(queue, k, 1, null, new long[] {1 << 16}, new long[] {1 << 15}, 0));
        assertEquals(Status.INVALID_WORK_SIZE, e.status());
        assertTrue(e.getMessage().startsWith("clEnqueueNDRangeKernel: CL_INVALID_"), e.getMessage());
        // the message names the limits, not only the sizes asked
        assertTrue(e.getMessage().contains("kernel 'vadd' global [65536] local [32768]"), e.getMessage());
        assertTrue(e.getMessage().contains("the device's maximum is"), e.getMessage());

        session.release(buf);
        e = assertThrows(BackendException.class, () -> session.enqueueLaunch(queue, k, 1, null, new long[] {16}, null, 0));
        assertTrue(e.getMessage().contains("released"), e.getMessage());
        session.release(k);
    }

    @Test
    void releaseOfUnknownHandleFails() {
        BackendException e = assertThrows(BackendException.class, () -> session.release(987654321L));
        assertEquals(Status.UNKNOWN_HANDLE, e.status());
    }

    @Test
    void closeReleasesEverything() throws BackendException {
        OpenClSession s = backend.openSession("closer", heap);
        long ctx = handle(), q = handle(), p = handle(), k = handle(), b1 = handle(), b2 = handle(), ev = handle();
        s.createContext(ctx, 0);
        s.createQueue(q, ctx, true, 0);
        s.createBuffer(b1, ctx, 1 << 16, 3, -1);
        s.createBuffer(b2, ctx, 4096, 3, 40960);
        assertEquals((1 << 16) + 4096, s.deviceMemoryBytes());
        s.createProgram(p, ctx, SourceLanguage.OPENCL_C, SOURCE);
        s.buildProgram(p, "-cl-fast-relaxed-math");
        s.createKernel(k, p, "vadd");
        s.setKernelArgBuffer(k, 0, b1);
        s.enqueueWrite(q, b1, 0, 4096, 0, ev);
        s.release(ctx); // objects made from it stay valid
        s.enqueueCopy(q, b1, b2, 0, 0, 4096, 0);
        s.close();
        assertEquals(0, s.deviceMemoryBytes());
        s.close(); // idempotent
        BackendException e = assertThrows(BackendException.class, () -> s.finish(q));
        assertEquals(Status.SESSION_CLOSED, e.status());
    }
}
