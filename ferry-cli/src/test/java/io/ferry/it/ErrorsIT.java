package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.testkit.RawGuest;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Errors reported at the call that caused them (issue 13): a run of deliberate mistakes, each reported at its own
 * {@code finish()} with the line that made the failed call and never at a later one; a LAUNCH that follows a failed
 * argument set goes with it; debug mode throws at the call; limits refused up front, the worker alive after them.
 * Real host, real PoCL.
 */
class ErrorsIT {
    static final String SCALE = """
            __kernel void scale(__global float* a, float f, __local float* tmp) {
                size_t i = get_global_id(0);
                tmp[get_local_id(0)] = a[i] * f;
                barrier(CLK_LOCAL_MEM_FENCE);
                a[i] = tmp[get_local_id(0)];
            }
            """;
    static final long T = 10_000_000_000L;
    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("errs", "raw");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    /** The line of the caller: put on the same line as the call it locates. */
    static int line() {
        return StackWalker.getInstance().walk(s -> s.skip(1).findFirst().orElseThrow()).getLineNumber();
    }

    static void assertAt(FerryException e, int line) {
        assertTrue(e.getMessage().contains("at io.ferry.it.ErrorsIT."), e.getMessage());
        assertTrue(e.getMessage().contains("(ErrorsIT.java:" + line + ")"), e.getMessage());
    }

    @Test
    void aRunOfMistakesIsReportedEachAtItsOwnFinish() {
        try (Ferry ferry = host.connect("errs");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SCALE);
             Kernel k = p.kernel("scale");
             DeviceBuffer a = ctx.createBuffer(64 * 4);
             HeapBlock h = ferry.heap().allocate(64 * 4)) {
            NDRange global = NDRange.of(64);
            NDRange local = NDRange.of(16);

            // 1. a wrong kind of argument: an int where a buffer is declared; the launch that follows goes with it
            k.arg(0, 5); int at = line();
            k.arg(1, 2f).argLocal(2, 16 * 4);
            q.launch(k, global, local);
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Op.KERNEL_ARG_VALUE, e.failedCall().op(), e.getMessage());
            assertTrue(e.getMessage().contains("and 1 later failure on this queue"), e.getMessage());
            assertAt(e, at);
            q.finish(); // nothing stale

            // 2. a buffer that was released
            DeviceBuffer gone = ctx.createBuffer(64);
            gone.close();
            k.arg(0, gone); at = line();
            q.launch(k, global, local);
            e = assertThrows(FerryException.class, q::finish);
            assertEquals(Op.KERNEL_ARG_BUFFER, e.failedCall().op(), e.getMessage());
            assertEquals(Status.UNKNOWN_HANDLE, e.status(), e.getMessage());
            assertAt(e, at);
            q.finish();

            // 3. a write outside the buffer
            k.arg(0, a);
            HeapBlock big = ferry.heap().allocate(128 * 4);
            q.write(a, 0, big.segment()); at = line();
            e = assertThrows(FerryException.class, q::finish);
            assertEquals(Op.BUFFER_WRITE, e.failedCall().op(), e.getMessage());
            assertEquals(Status.OUT_OF_RANGE, e.status());
            assertAt(e, at);
            big.close();
            q.finish();

            // 4. a __local argument over the device's local memory: refused at the call
            long has = ctx.device().localMemoryBytes();
            e = assertThrows(FerryException.class, () -> k.argLocal(2, has + 1));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains(has + " bytes"), e.getMessage());

            // 5. a work-group over the device's maximum (a divisible global, so only the limit applies)
            long max = ctx.device().maxWorkGroupSize();
            q.launch(k, NDRange.of(2 * max), NDRange.of(2 * max)); at = line();
            e = assertThrows(FerryException.class, q::finish);
            assertEquals(Op.LAUNCH, e.failedCall().op(), e.getMessage());
            assertEquals(Status.INVALID_WORK_SIZE, e.status());
            assertTrue(e.getMessage().contains("max work-group size " + max), e.getMessage());
            assertAt(e, at);

            // 6. a global size that is not a multiple of the local size: its own message
            q.launch(k, NDRange.of(60), local);
            e = assertThrows(FerryException.class, q::finish);
            assertTrue(e.getMessage().contains("not a multiple of local size 16"), e.getMessage());

            // after all that, a good launch computes
            for (int i = 0; i < 64; i++) {
                h.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            }
            q.write(a, 0, h.segment()).launch(k.arg(1, 3f), global, local).read(a, 0, h.segment());
            q.finish();
            assertEquals(3f * 63, h.segment().getAtIndex(ValueLayout.JAVA_FLOAT, 63));
        }
    }

    @Test
    void aLaunchAfterItsCauseWasReportedSaysWhyItsArgumentIsNotSet() {
        try (Ferry ferry = host.connect("errs");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SCALE);
             Kernel k = p.kernel("scale")) {
            k.arg(0, 7);
            FerryException first = assertThrows(FerryException.class, () -> p.kernel("scale"));
            assertEquals(Op.KERNEL_ARG_VALUE, first.failedCall().op());
            k.arg(1, 1f).argLocal(2, 64);
            q.launch(k, NDRange.of(16), NDRange.of(16)); int at = line();
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Op.LAUNCH, e.failedCall().op());
            assertTrue(e.getMessage().contains("argument 0 not set because the earlier KERNEL_ARG_VALUE (call #"
                    + first.failedCall().seq() + ") failed"), e.getMessage());
            assertAt(e, at);
        }
    }

    @Test
    void debugModeThrowsAtTheCallItself() {
        try (Ferry ferry = host.connect("errs").debug(true);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SCALE);
             Kernel k = p.kernel("scale");
             DeviceBuffer a = ctx.createBuffer(64)) {
            FerryException e = assertThrows(FerryException.class, () -> k.arg(0, 5));
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status(), e.getMessage());
            assertNull(e.failedCall(), "the call's own failure, not a later report");
            try (HeapBlock big = ferry.heap().allocate(128)) {
                e = assertThrows(FerryException.class, () -> q.write(a, 0, big.segment()));
                assertEquals(Status.OUT_OF_RANGE, e.status());
                assertTrue(e.getMessage().startsWith("range outside") || e.getMessage().contains("BUFFER_WRITE"),
                        e.getMessage());
            }
            q.finish(); // each failure was reported once, at its call
            ferry.debug(false);
            k.arg(0, 5);
            assertThrows(FerryException.class, q::finish, "off again: reported at the next finish");
        }
    }

    @Test
    void theHostRefusesALocalArgumentOverTheDevicesLocalMemoryAndTheWorkerLives() {
        try (RawGuest g = new RawGuest(host.region("raw"))) {
            assertEquals(Status.OK, g.connect(T).status());
            long has = g.call(Op.DEVICE_INFO, null, T, 0).r2();
            assertTrue(has > 0);
            assertEquals(Status.OK, g.call(Op.CONTEXT_CREATE, null, T, 1, 0).status());
            assertEquals(Status.OK, g.call(Op.QUEUE_CREATE, null, T, 2, 1, 0, 0).status());
            assertEquals(Status.OK, g.call(Op.PROGRAM_CREATE, Wire.utf8(SCALE), T, 3, 1,
                    SourceLanguage.OPENCL_C.code()).status());
            assertEquals(Status.OK, g.call(Op.PROGRAM_BUILD, new byte[0], T, 3).status());
            assertEquals(Status.OK, g.call(Op.KERNEL_CREATE, Wire.utf8("scale"), T, 4, 3).status());
            assertEquals(Status.OK, g.call(Op.BUFFER_CREATE, null, T, 5, 1, 64 * 4, 0, -1).status());

            RawGuest.Reply r = g.call(Op.KERNEL_ARG_LOCAL, null, T, 4, 2, has * 4);
            assertEquals(Status.INVALID_ARGUMENT, r.status(), r.text());
            assertTrue(r.text().contains("local memory of device") && r.text().contains(has + " bytes"), r.text());

            // the worker lives: a good launch of the same kernel runs
            assertEquals(Status.OK, g.call(Op.KERNEL_ARG_BUFFER, null, T, 4, 0, 5).status());
            assertEquals(Status.OK, g.call(Op.KERNEL_ARG_VALUE, new byte[4], T, 4, 1).status());
            assertEquals(Status.OK, g.call(Op.KERNEL_ARG_LOCAL, null, T, 4, 2, 16 * 4).status());
            Calls.Launch launch = g.put(new Calls.Launch(), true, null);
            launch.queue(2).kernel(4).dimensions(1).global(0, 64).local(0, 16);
            RawGuest.Reply launched = g.await(launch, T);
            assertEquals(Status.OK, launched.status(), launched.text());
            assertEquals(Status.OK, g.call(Op.FINISH, null, T, 2).status());
            assertTrue(g.open());
        }
    }
}
