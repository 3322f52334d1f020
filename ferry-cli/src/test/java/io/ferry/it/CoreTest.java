package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The core call path against a real host, real regions and real PoCL. */
class CoreTest {
    static final String VADD = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, float k) {
                size_t i = get_global_id(0);
                c[i] = a[i] + k * b[i];
            }
            """;

    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("alice", "bob");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    @Test
    void listsThePoclDeviceWithItsLanguages() {
        try (Ferry ferry = host.connect("alice")) {
            var dev = ferry.device(DeviceType.CPU);
            assertTrue(dev.computeUnits() > 0);
            assertTrue(dev.accepts(SourceLanguage.OPENCL_C));
            assertEquals("opencl", dev.backend());
        }
    }

    @Test
    void vectorAddThroughTheHeapIsCorrect() {
        int n = 4096;
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(VADD);
             Kernel k = p.kernel("vadd");
             HeapBlock ha = ferry.heap().allocate(4L * n);
             HeapBlock hb = ferry.heap().allocate(4L * n);
             HeapBlock hc = ferry.heap().allocate(4L * n);
             DeviceBuffer a = ctx.createBuffer(4L * n);
             DeviceBuffer b = ctx.createBuffer(4L * n);
             DeviceBuffer c = ctx.createBuffer(4L * n)) {
            for (int i = 0; i < n; i++) {
                ha.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
                hb.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, 2 * i);
            }
            assertEquals(4, k.argCount());
            q.write(a, 0, ha.segment()).write(b, 0, hb.segment());
            k.arg(0, a).arg(1, b).arg(2, c).arg(3, 0.5f);
            q.launch(k, NDRange.of(n), NDRange.of(64));
            q.read(c, 0, hc.segment());
            q.finish();
            for (int i = 0; i < n; i++) {
                assertEquals(2f * i, hc.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i), 1e-3f);
            }
        }
    }

    @Test
    void dataOutsideTheHeapIsStagedAndStillCorrect() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64)) {
            float[] in = new float[16];
            for (int i = 0; i < in.length; i++) {
                in[i] = i * 1.5f;
            }
            q.write(a, 0, MemorySegment.ofArray(in));
            float[] out = new float[16];
            q.read(a, 0, MemorySegment.ofArray(out));
            q.finish(); // a read's data is valid after finish, whatever memory it goes to
            for (int i = 0; i < in.length; i++) {
                assertEquals(in[i], out[i]);
            }
        }
    }

    @Test
    void oneWayErrorIsStickyAndNamesTheFailingCall() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             HeapBlock h = ferry.heap().allocate(128)) {
            q.write(a, 0, h.segment()); // 128 bytes into a 64-byte buffer: fails on the host, reported later
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.OUT_OF_RANGE, e.status());
            assertNotNull(e.failedCall());
            assertEquals(Op.BUFFER_WRITE, e.failedCall().op());
            assertTrue(e.getMessage().contains("BUFFER_WRITE (call #" + e.failedCall().seq() + ")"), e.getMessage());
            assertTrue(e.getMessage().contains("outside buffer"), e.getMessage());
            q.finish(); // reported once; the queue goes on
        }
    }

    @Test
    void buildFailureCarriesTheBuildLog() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice())) {
            FerryException e = assertThrows(FerryException.class,
                    () -> ctx.buildProgram("__kernel void broken(__global float* a) { a[0] = undefined_name; }"));
            assertEquals(Status.BUILD_FAILED, e.status());
            assertTrue(e.getMessage().contains("undefined_name"), e.getMessage());
            assertEquals(new FerryException.DeviceError(io.ferry.protocol.NativeError.OPENCL, -11),
                    e.deviceError().orElseThrow(), "the device's own CL_BUILD_PROGRAM_FAILURE");
            FerryException own = assertThrows(FerryException.class,
                    () -> ctx.buildProgram("__kernel void k() {}", "-fplugin=x.so"));
            assertTrue(own.deviceError().isEmpty(), "Ferry's own refusal: " + own.deviceError());
        }
    }

    @Test
    void unknownKernelNameListsTheProgramsKernels() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             Program p = ctx.buildProgram(VADD)) {
            FerryException e = assertThrows(FerryException.class, () -> p.kernel("vmul"));
            assertEquals(Status.KERNEL_NOT_FOUND, e.status());
            assertTrue(e.getMessage().contains("vadd"), e.getMessage());
        }
    }

    @Test
    void wrongKernelArgumentIndexAndKindAreReported() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(VADD);
             Kernel k = p.kernel("vadd");
             DeviceBuffer a = ctx.createBuffer(64)) {
            k.arg(7, a);
            FerryException index = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_KERNEL_ARGS, index.status());
            assertTrue(index.getMessage().contains("index 7"), index.getMessage());
            assertTrue(index.getMessage().contains("4 arguments"), index.getMessage());

            k.arg(3, a); // a buffer where the kernel takes a float
            FerryException kind = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_KERNEL_ARGS, kind.status());
            assertTrue(kind.getMessage().contains("float"), kind.getMessage());

            q.launch(k, NDRange.of(16)); // arguments 0..3 never set
            FerryException unset = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_KERNEL_ARGS, unset.status());
        }
    }

    @Test
    void readPastTheEndOfABufferIsRefused() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             HeapBlock h = ferry.heap().allocate(64)) {
            q.read(a, 32, h.segment());
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.OUT_OF_RANGE, e.status());
            assertTrue(e.getMessage().contains("offset 32, size 64"), e.getMessage());
            assertTrue(e.getMessage().contains("64 bytes"), e.getMessage());
        }
    }

    @Test
    void releasedHandleIsUnknown() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             HeapBlock h = ferry.heap().allocate(64)) {
            DeviceBuffer a = ctx.createBuffer(64);
            a.close();
            q.write(a, 0, h.segment());
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.UNKNOWN_HANDLE, e.status());
            assertTrue(e.getMessage().contains("buffer handle " + a.handle()), e.getMessage());
        }
    }

    @Test
    void freedHeapBlockIsReused() {
        try (Ferry ferry = host.connect("alice")) {
            HeapBlock a = ferry.heap().allocate(1 << 20);
            long offset = a.offset();
            a.close();
            try (HeapBlock b = ferry.heap().allocate(1 << 20)) {
                assertEquals(offset, b.offset());
                assertEquals(0, b.offset() % 4096);
            }
            try (HeapBlock small = ferry.heap().allocate(10)) {
                assertEquals(0, small.offset() % 64);
            }
        }
    }

    @Test
    void aGuestThatIsNotConfiguredIsToldSo() {
        FerryException e = assertThrows(FerryException.class,
                () -> io.ferry.client.Ferry.connect(host.dir.resolve("mallory.region")));
        assertEquals(Status.NOT_CONFIGURED, e.status());
        assertTrue(e.getMessage().contains("mallory.region"), e.getMessage());
    }

    @Test
    void aHostWithoutDevicesSaysSoWhenAskedForOne() throws Exception {
        try (TestHost bare = TestHost.start(io.ferry.host.compute.Devices.of(java.util.List.of(), java.util.List.of()), "solo");
             Ferry ferry = bare.connect("solo")) {
            assertTrue(ferry.devices().isEmpty());
            FerryException e = assertThrows(FerryException.class, ferry::defaultDevice);
            assertEquals(Status.NO_DEVICE, e.status());
            assertTrue(e.getMessage().contains("pocl-opencl-icd"), e.getMessage());
        }
    }

    @Test
    void guestsAreServedIndependently() {
        try (Ferry a = host.connect("alice"); Ferry b = host.connect("bob")) {
            assertEquals(7, a.nop(7));
            assertEquals(9, b.nop(9));
            assertFalse(a.sessionId() == b.sessionId());
        }
    }
}
