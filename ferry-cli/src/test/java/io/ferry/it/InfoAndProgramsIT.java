package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Calls;
import io.ferry.protocol.InfoKind;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.testkit.RawGuest;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The calls of the native OpenCL ICD (INFO, PROGRAM_CREATE_BINARY, PROGRAM_COMPILE, PROGRAM_LINK) as a raw guest
 * sends them, against a real host with real PoCL: each value checked against what the device must say, a binary
 * and a compile + link round trip that run a kernel, and hostile counts, kinds, handles and blobs refused with the
 * session living on. The session is served by the guest's device worker here ({@link InfoAndProgramsHostServedIT}:
 * in the host, each call crossing the worker hop).
 */
class InfoAndProgramsIT {
    static final long T = 20_000_000_000L;
    static final long CTX = 1, QUEUE = 2, PROG = 3, KERNEL = 4, BUF = 5;
    static final int CL_DEVICE_TYPE = 0x1000, CL_DEVICE_NAME = 0x102B;
    static final int CL_PROGRAM_BINARY_SIZES = 0x1165, CL_PROGRAM_BINARIES = 0x1166, CL_PROGRAM_NUM_KERNELS = 0x1167;
    static final int CL_PROGRAM_KERNEL_NAMES = 0x1168, CL_PROGRAM_BUILD_STATUS = 0x1181, CL_KERNEL_NUM_ARGS = 0x1191;
    static final int CL_KERNEL_ARG_ADDRESS_QUALIFIER = 0x1196, CL_KERNEL_ARG_TYPE_NAME = 0x1198;
    static final int CL_KERNEL_ARG_NAME = 0x119A, CL_KERNEL_WORK_GROUP_SIZE = 0x11B0;
    static final String TWO = """
            __kernel void add(__global int* a, int k) { a[get_global_id(0)] += k; }
            __kernel void twice(__global int* data) { data[get_global_id(0)] *= 2; }
            """;

    static Path dir;
    static Devices devices;
    static FerryHost host;
    RawGuest g;
    long heap;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-info-");
        devices = Devices.discover(List.of());
        host = FerryHost.start(new HostConfig(dir, true, List.of(),
                List.of(new HostConfig.GuestConfig("g", 16L << 20))), devices);
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
        devices.close();
        Hosts.deleteTree(dir);
    }

    @BeforeEach
    void connect() {
        g = new RawGuest(host.regionPath("g"));
        assertEquals(Status.OK, g.connect(5_000_000_000L).status());
        heap = g.region.heap().byteSize();
    }

    @AfterEach
    void close() {
        g.close();
    }

    private RawGuest.Reply info(InfoKind kind, long handle, long param, long index, long heapOffset, long heapSize) {
        return g.call(Op.INFO, null, T, kind.code(), handle, param, index, heapOffset, heapSize);
    }

    private static RawGuest.Reply ok(RawGuest.Reply r) {
        assertEquals(Status.OK, r.status(), r.text());
        return r;
    }

    private RawGuest.Reply refused(RawGuest.Reply r, Status status, String text) {
        assertEquals(status, r.status(), r.text());
        assertTrue(r.text().contains(text), "'" + text + "' not in: " + r.text());
        return r;
    }

    private static String cString(byte[] value) {
        int n = 0;
        while (n < value.length && value[n] != 0) {
            n++;
        }
        return new String(value, 0, n, StandardCharsets.UTF_8);
    }

    private static long word(byte[] value) {
        MemorySegment s = MemorySegment.ofArray(value);
        return value.length == 4 ? s.get(ValueLayout.JAVA_INT_UNALIGNED, 0) : s.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    private void program(long handle, String source) {
        ok(g.call(Op.PROGRAM_CREATE, Wire.utf8(source), T, handle, CTX, SourceLanguage.OPENCL_C.code()));
    }

    private void contextAndQueue() {
        ok(g.call(Op.CONTEXT_CREATE, null, T, CTX, 0));
        ok(g.call(Op.QUEUE_CREATE, null, T, QUEUE, CTX, 0, 0));
    }

    /** Runs {@code kernel} (one int buffer argument) over {@code in}; returns what it left in the buffer. */
    private int[] run(long kernel, int[] in) {
        long bytes = 4L * in.length;
        MemorySegment h = g.region.heap();
        MemorySegment.copy(in, 0, h, ValueLayout.JAVA_INT_UNALIGNED, 0, in.length);
        ok(g.call(Op.BUFFER_CREATE, null, T, BUF, CTX, bytes, 0, -1));
        ok(g.call(Op.BUFFER_WRITE, null, T, QUEUE, BUF, 0, bytes, 0, 0, 0));
        ok(g.call(Op.KERNEL_ARG_BUFFER, null, T, kernel, 0, BUF));
        Calls.Launch launch = g.put(new Calls.Launch(), true, null);
        launch.queue(QUEUE).kernel(kernel).dimensions(1).global(0, in.length);
        ok(g.await(launch, T));
        ok(g.call(Op.BUFFER_READ, null, T, QUEUE, BUF, 0, bytes, bytes, 0, 0));
        ok(g.call(Op.FINISH, null, T, QUEUE));
        ok(g.call(Op.RELEASE, null, T, BUF));
        int[] out = new int[in.length];
        MemorySegment.copy(h, ValueLayout.JAVA_INT_UNALIGNED, bytes, out, 0, in.length);
        return out;
    }

    private void sessionLivesOn() {
        assertTrue(g.open());
        assertEquals(42, ok(g.call(Op.NOP, null, T, 42)).r0());
    }

    @Test
    void deviceParamsAreAnsweredBeforeAnyContextAndPointersAreRefused() {
        RawGuest.Reply di = ok(g.call(Op.DEVICE_INFO, null, T, 0));
        String name = di.text().split("\n")[0];
        RawGuest.Reply r = ok(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, 0, 0));
        assertEquals(r.blob().length, r.r0());
        assertEquals(name, cString(r.blob()).strip());
        RawGuest.Reply type = ok(info(InfoKind.DEVICE, 0, CL_DEVICE_TYPE, 0, 0, 0));
        assertEquals(8, type.r0());
        assertTrue((word(type.blob()) & 0x2) != 0, "PoCL's device is a CPU: " + word(type.blob()));

        refused(info(InfoKind.DEVICE, 0, 0x1031, 0, 0, 0), Status.INVALID_ARGUMENT, "CL_DEVICE_PLATFORM");
        refused(info(InfoKind.DEVICE, 0, 0x1042, 0, 0, 0), Status.INVALID_ARGUMENT, "CL_DEVICE_PARENT_DEVICE");
        refused(info(InfoKind.DEVICE, 0, 0x2051, 0, 0, 0), Status.INVALID_ARGUMENT, "0x2051");
        refused(info(InfoKind.DEVICE, 99, CL_DEVICE_NAME, 0, 0, 0), Status.NO_DEVICE, "device 99");
        // into the heap: a range too small says the size needed; a fitting one is written
        RawGuest.Reply small = ok(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, 4096, 1));
        assertEquals(r.r0(), small.r0());
        assertEquals(0, small.r1());
        RawGuest.Reply written = ok(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, 4096, 1024));
        assertEquals(1, written.r1());
        byte[] inHeap = g.region.heap().asSlice(4096, r.r0()).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(r.blob(), inHeap);
        sessionLivesOn();
    }

    @Test
    void programKernelAndArgumentValuesAreThePrograms() {
        contextAndQueue();
        program(PROG, TWO);
        ok(g.call(Op.PROGRAM_BUILD, Wire.utf8("-cl-kernel-arg-info"), T, PROG));
        assertEquals(0, word(ok(info(InfoKind.PROGRAM_BUILD, PROG, CL_PROGRAM_BUILD_STATUS, 0, 0, 0)).blob()));
        assertEquals(2, word(ok(info(InfoKind.PROGRAM, PROG, CL_PROGRAM_NUM_KERNELS, 0, 0, 0)).blob()));
        String names = cString(ok(info(InfoKind.PROGRAM, PROG, CL_PROGRAM_KERNEL_NAMES, 0, 0, 0)).blob());
        assertEquals(List.of("add", "twice"), java.util.Arrays.stream(names.split(";")).sorted().toList());

        assertEquals(2, ok(g.call(Op.KERNEL_CREATE, Wire.utf8("add"), T, KERNEL, PROG)).r0());
        assertEquals(2, word(ok(info(InfoKind.KERNEL, KERNEL, CL_KERNEL_NUM_ARGS, 0, 0, 0)).blob()));
        assertEquals("a", cString(ok(info(InfoKind.KERNEL_ARG, KERNEL, CL_KERNEL_ARG_NAME, 0, 0, 0)).blob()));
        assertEquals("k", cString(ok(info(InfoKind.KERNEL_ARG, KERNEL, CL_KERNEL_ARG_NAME, 1, 0, 0)).blob()));
        assertEquals("int*", cString(ok(info(InfoKind.KERNEL_ARG, KERNEL, CL_KERNEL_ARG_TYPE_NAME, 0, 0, 0)).blob()));
        assertEquals(0x119B, word(ok(info(InfoKind.KERNEL_ARG, KERNEL, CL_KERNEL_ARG_ADDRESS_QUALIFIER, 0, 0, 0))
                .blob()), "CL_KERNEL_ARG_ADDRESS_GLOBAL");
        assertTrue(word(ok(info(InfoKind.KERNEL_WORK_GROUP, KERNEL, CL_KERNEL_WORK_GROUP_SIZE, 0, 0, 0)).blob()) > 0);
        refused(info(InfoKind.KERNEL_ARG, KERNEL, CL_KERNEL_ARG_NAME, 2, 0, 0), Status.INVALID_ARGUMENT,
                "kernel argument 2");
        refused(info(InfoKind.PROGRAM, PROG, 0x1164, 0, 0, 0), Status.INVALID_ARGUMENT, "0x1164");
        refused(info(InfoKind.PROGRAM, CTX, CL_PROGRAM_NUM_KERNELS, 0, 0, 0), Status.WRONG_HANDLE_KIND, "not a program");
        refused(info(InfoKind.KERNEL, PROG, CL_KERNEL_NUM_ARGS, 0, 0, 0), Status.WRONG_HANDLE_KIND, "not a kernel");
        sessionLivesOn();
    }

    /**
     * An option the host allows and PoCL's compiler refuses: the failure carries PoCL's own CL_INVALID_BUILD_OPTIONS
     * beside Ferry's status (docs/protocol.md §2.2, "Native error"); Ferry's own refusal carries none.
     */
    @Test
    void aBuildTheDeviceRefusesCarriesTheDevicesOwnError() {
        contextAndQueue();
        program(PROG, TWO);
        RawGuest.Reply r = refused(g.call(Op.PROGRAM_BUILD, Wire.utf8("-cl-no-subgroup-ifp"), T, PROG),
                Status.BUILD_FAILED, "CL_INVALID_BUILD_OPTIONS (-43)");
        assertEquals(io.ferry.protocol.NativeError.OPENCL, io.ferry.protocol.NativeError.api(r.r3()), r.toString());
        assertEquals(-43, io.ferry.protocol.NativeError.code(r.r3()));
        RawGuest.Reply own = refused(g.call(Op.PROGRAM_BUILD, Wire.utf8("-fplugin=x.so"), T, PROG),
                Status.INVALID_ARGUMENT, "-fplugin");
        assertEquals(0, own.r3(), "Ferry's own refusal has no device code");
        ok(g.call(Op.PROGRAM_BUILD, new byte[0], T, PROG));
        sessionLivesOn();
    }

    @Test
    void aBinaryReadIntoTheHeapMakesAProgramThatRuns() {
        contextAndQueue();
        program(PROG, TWO);
        ok(g.call(Op.PROGRAM_BUILD, new byte[0], T, PROG));
        long n = word(ok(info(InfoKind.PROGRAM, PROG, CL_PROGRAM_BINARY_SIZES, 0, 0, 0)).blob());
        assertTrue(n > 0 && n < heap / 2, "binary of " + n + " bytes");
        RawGuest.Reply inBlob = info(InfoKind.PROGRAM, PROG, CL_PROGRAM_BINARIES, 0, 0, 0);
        if (n > Wire.MAX_COMPLETION_BLOB) {
            refused(inBlob, Status.INVALID_ARGUMENT, n + " bytes");
        } else {
            assertEquals(n, ok(inBlob).r0());
        }
        long at = heap / 2;
        RawGuest.Reply tooSmall = ok(info(InfoKind.PROGRAM, PROG, CL_PROGRAM_BINARIES, 0, at, n - 1));
        assertEquals(n, tooSmall.r0());
        assertEquals(0, tooSmall.r1());
        RawGuest.Reply written = ok(info(InfoKind.PROGRAM, PROG, CL_PROGRAM_BINARIES, 0, at, heap - at));
        assertEquals(n, written.r0());
        assertEquals(1, written.r1());

        long fromBinary = 10;
        ProgramCalls.ProgramCreateBinary c = g.put(new ProgramCalls.ProgramCreateBinary(), true, null);
        c.program(fromBinary).context(CTX).heapOffset(at).size(n);
        ok(g.await(c, T));
        ok(g.call(Op.PROGRAM_BUILD, new byte[0], T, fromBinary));
        ok(g.call(Op.KERNEL_CREATE, Wire.utf8("twice"), T, KERNEL, fromBinary));
        assertArrayEquals(new int[] {2, 4, -6, 84}, run(KERNEL, new int[] {1, 2, -3, 42}));

        // bytes that are no binary: refused as a failed build, the handle never made
        g.region.heap().asSlice(at, 64).fill((byte) 7);
        c = g.put(new ProgramCalls.ProgramCreateBinary(), true, null);
        c.program(11).context(CTX).heapOffset(at).size(64);
        refused(g.await(c, T), Status.BUILD_FAILED, "CL_INVALID_BINARY");
        refused(g.call(Op.PROGRAM_BUILD, new byte[0], T, 11), Status.UNKNOWN_HANDLE, "11");
        sessionLivesOn();
    }

    private RawGuest.Reply createFromHeap(long program, long at, long size) {
        ProgramCalls.ProgramCreateHeap c = g.put(new ProgramCalls.ProgramCreateHeap(), true, null);
        c.program(program).context(CTX).language(SourceLanguage.OPENCL_C.code()).heapOffset(at).size(size);
        return g.await(c, T);
    }

    @Test
    void aSourceInTheHeapMakesAProgramAndBadRangesSizesAndTooMuchSourceAreRefused() {
        contextAndQueue();
        byte[] src = Wire.utf8(TWO);
        long at = heap / 2;
        MemorySegment.copy(MemorySegment.ofArray(src), 0, g.region.heap(), at, src.length);
        ok(createFromHeap(20, at, src.length));
        ok(g.call(Op.PROGRAM_BUILD, new byte[0], T, 20));
        ok(g.call(Op.KERNEL_CREATE, Wire.utf8("twice"), T, KERNEL, 20));
        assertArrayEquals(new int[] {2, 4, -6, 84}, run(KERNEL, new int[] {1, 2, -3, 42}));

        refused(createFromHeap(21, heap - 8, 16), Status.HEAP_RANGE, "outside the guest heap");
        refused(createFromHeap(21, -1, 16), Status.HEAP_RANGE, "outside the guest heap");
        refused(createFromHeap(21, 0, 0), Status.INVALID_ARGUMENT, "1 to 16777216 bytes");
        refused(createFromHeap(21, 0, (16L << 20) + 1), Status.INVALID_ARGUMENT, "1 to 16777216 bytes");
        g.region.heap().asSlice(0, 64).fill((byte) ' ');
        refused(createFromHeap(21, 0, 64), Status.INVALID_ARGUMENT, "empty");

        // the sources of live programs: at most 64 MiB per session
        long big = 4L << 20;
        g.region.heap().asSlice(0, big).fill((byte) ' ');
        MemorySegment.copy(MemorySegment.ofArray(src), 0, g.region.heap(), 0, src.length);
        for (int i = 0; i < 15; i++) {
            ok(createFromHeap(100 + i, 0, big)); // 60 MiB and the small one
        }
        refused(createFromHeap(200, 0, big), Status.QUOTA_EXCEEDED, "64 MiB per session");
        ok(g.call(Op.RELEASE, null, T, 100));
        ok(createFromHeap(200, 0, big));
        sessionLivesOn();
    }

    /** PROGRAM_COMPILE's blob: header handles, NUL-terminated include names, options. */
    private static byte[] compileBlob(long[] headers, String[] names, String options) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(handles(headers));
        for (String n : names) {
            b.writeBytes(Wire.utf8(n));
            b.write(0);
        }
        b.writeBytes(Wire.utf8(options));
        return b.toByteArray();
    }

    private static byte[] handles(long... hs) {
        MemorySegment s = MemorySegment.ofArray(new byte[8 * hs.length]);
        for (int i = 0; i < hs.length; i++) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, hs[i]);
        }
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] linkBlob(long[] inputs, String options) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(handles(inputs));
        b.writeBytes(Wire.utf8(options));
        return b.toByteArray();
    }

    @Test
    void twoProgramsCompiledWithAnEmbeddedHeaderLinkIntoOneThatRuns() {
        contextAndQueue();
        long header = 20, scale = 21, main = 22, linked = 23;
        program(header, "#define FACTOR 3\nint scale(int x);\n");
        program(scale, "#include \"lib/scale.h\"\nint scale(int x) { return x * FACTOR; }\n");
        program(main, "#include \"lib/scale.h\"\n"
                + "__kernel void run(__global int* a) { a[get_global_id(0)] = scale(a[get_global_id(0)]); }\n");
        byte[] withHeader = compileBlob(new long[] {header}, new String[] {"lib/scale.h"}, "");
        ok(g.call(Op.PROGRAM_COMPILE, withHeader, T, scale, 1));
        ok(g.call(Op.PROGRAM_COMPILE, withHeader, T, main, 1));
        ok(g.call(Op.PROGRAM_LINK, linkBlob(new long[] {scale, main}, ""), T, linked, CTX, 2));
        ok(g.call(Op.KERNEL_CREATE, Wire.utf8("run"), T, KERNEL, linked));
        assertArrayEquals(new int[] {3, 6, -9}, run(KERNEL, new int[] {1, 2, -3}));

        // a compile error and a link with an undefined function fail as builds do, with the log
        long bad = 24, lonely = 25;
        program(bad, "__kernel void k(__global int* a) { a[0] = ; }\n");
        refused(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[0], new String[0], ""), T, bad, 0),
                Status.BUILD_FAILED, "clCompileProgram");
        program(lonely, "int missing(int x);\n__kernel void k(__global int* a) { a[0] = missing(a[0]); }\n");
        ok(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[0], new String[0], ""), T, lonely, 0));
        RawGuest.Reply link = g.call(Op.PROGRAM_LINK, linkBlob(new long[] {lonely}, ""), T, 26, CTX, 1);
        assertEquals(Status.BUILD_FAILED, link.status(), link.text());
        refused(g.call(Op.KERNEL_CREATE, Wire.utf8("k"), T, 27, 26), Status.UNKNOWN_HANDLE, "26");
        sessionLivesOn();
    }

    @Test
    void imageFormatsAreAnArrayOfFormats() {
        contextAndQueue();
        RawGuest.Reply r = ok(info(InfoKind.IMAGE_FORMATS, CTX, 1, 0x10F1, 0, 0));
        assertTrue(r.r0() > 0 && r.r0() % 8 == 0, r.r0() + " bytes");
        assertEquals(r.r0(), r.blob().length);
        refused(info(InfoKind.IMAGE_FORMATS, CTX, 1, 0x1234, 0, 0), Status.INVALID_ARGUMENT, "0x1234");
        refused(info(InfoKind.IMAGE_FORMATS, CTX, 1L << 40, 0x10F1, 0, 0), Status.INVALID_ARGUMENT, "memory flags");
        refused(info(InfoKind.IMAGE_FORMATS, QUEUE, 1, 0x10F1, 0, 0), Status.WRONG_HANDLE_KIND, "not a context");
        sessionLivesOn();
    }

    @Test
    void hostileInfoCallsAreRefusedNamingWhatIsWrong() {
        contextAndQueue();
        program(PROG, TWO);
        for (long kind : new long[] {0, 8, -1, Long.MIN_VALUE}) {
            refused(g.call(Op.INFO, null, T, kind, 0, CL_DEVICE_NAME, 0, 0, 0), Status.INVALID_ARGUMENT,
                    "unknown kind " + kind);
        }
        refused(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, heap - 8, 64), Status.HEAP_RANGE, "outside the guest heap");
        refused(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, Long.MAX_VALUE, Long.MAX_VALUE), Status.HEAP_RANGE, "heap");
        refused(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 0, 0, -1), Status.HEAP_RANGE, "negative");
        refused(info(InfoKind.DEVICE, 0, CL_DEVICE_NAME, 5, 0, 0), Status.INVALID_ARGUMENT, "index 0");
        refused(info(InfoKind.DEVICE, 0, 1L << 40, 0, 0, 0), Status.INVALID_ARGUMENT, "device param");
        refused(info(InfoKind.PROGRAM, 999, CL_PROGRAM_NUM_KERNELS, 0, 0, 0), Status.UNKNOWN_HANDLE, "999");
        // an unbuilt program has no binary: an OpenCL error, named
        RawGuest.Reply unbuilt = info(InfoKind.PROGRAM, PROG, CL_PROGRAM_BINARIES, 0, 0, 4096);
        assertTrue(unbuilt.status() != Status.OK || unbuilt.r1() == 0, unbuilt.text());
        sessionLivesOn();
    }

    @Test
    void hostileProgramCallsAreRefusedNamingWhatIsWrong() {
        contextAndQueue();
        program(PROG, TWO);
        byte[] none = compileBlob(new long[0], new String[0], "");
        refused(g.call(Op.PROGRAM_COMPILE, none, T, PROG, 65), Status.INVALID_ARGUMENT, "65 headers");
        refused(g.call(Op.PROGRAM_COMPILE, none, T, PROG, -1), Status.INVALID_ARGUMENT, "-1 headers");
        refused(g.call(Op.PROGRAM_COMPILE, handles(PROG), T, PROG, 2), Status.INVALID_ARGUMENT, "need 16 bytes");
        refused(g.call(Op.PROGRAM_COMPILE, handles(PROG), T, PROG, 1), Status.INVALID_ARGUMENT, "include name 0");
        refused(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[] {PROG}, new String[] {"../etc/passwd"}, ""), T,
                PROG, 1), Status.INVALID_ARGUMENT, "not a relative path");
        refused(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[] {PROG}, new String[] {"/abs.h"}, ""), T, PROG, 1),
                Status.INVALID_ARGUMENT, "not a relative path");
        refused(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[] {CTX}, new String[] {"a.h"}, ""), T, PROG, 1),
                Status.WRONG_HANDLE_KIND, "not a program");
        refused(g.call(Op.PROGRAM_COMPILE, compileBlob(new long[0], new String[0], "-I/etc"), T, PROG, 0),
                Status.INVALID_ARGUMENT, "-I/etc");
        refused(g.call(Op.PROGRAM_COMPILE, none, T, QUEUE, 0), Status.WRONG_HANDLE_KIND, "not a program");

        for (long inputs : new long[] {0, 65, -1, Long.MAX_VALUE}) {
            refused(g.call(Op.PROGRAM_LINK, linkBlob(new long[] {PROG}, ""), T, 30, CTX, inputs),
                    Status.INVALID_ARGUMENT, inputs + " programs");
        }
        refused(g.call(Op.PROGRAM_LINK, handles(PROG), T, 30, CTX, 3), Status.INVALID_ARGUMENT, "need 24 bytes");
        refused(g.call(Op.PROGRAM_LINK, linkBlob(new long[] {QUEUE}, ""), T, 30, CTX, 1), Status.WRONG_HANDLE_KIND,
                "not a program");
        refused(g.call(Op.PROGRAM_LINK, linkBlob(new long[] {PROG}, ""), T, PROG, CTX, 1), Status.HANDLE_IN_USE,
                "already names");
        refused(g.call(Op.PROGRAM_LINK, linkBlob(new long[] {PROG}, ""), T, 30, PROG, 1), Status.WRONG_HANDLE_KIND,
                "not a context");

        long[][] binaries = {{0, 0}, {0, -1}, {0, (256L << 20) + 1}, {heap - 8, 64}, {-8, 64}, {Long.MAX_VALUE, 8}};
        long h = 40;
        for (long[] b : binaries) {
            ProgramCalls.ProgramCreateBinary c = g.put(new ProgramCalls.ProgramCreateBinary(), true, null);
            c.program(h++).context(CTX).heapOffset(b[0]).size(b[1]);
            RawGuest.Reply r = g.await(c, T);
            assertTrue(r.status() == Status.INVALID_ARGUMENT || r.status() == Status.HEAP_RANGE, r.status() + " "
                    + r.text());
        }
        sessionLivesOn();
    }
}
