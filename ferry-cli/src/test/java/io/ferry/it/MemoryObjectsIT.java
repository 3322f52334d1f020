package io.ferry.it;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Event;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Image;
import io.ferry.client.Kernel;
import io.ferry.client.MapAccess;
import io.ferry.client.Mapping;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.Rect;
import io.ferry.client.Sampler;
import io.ferry.client.UserEvent;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sub-buffers, rectangular transfers and mappings through a real host and real PoCL, each checked against the same
 * computation in Java.
 */
class MemoryObjectsIT {
    static final String ADD = """
            __kernel void add(__global int* a, int k) {
                a[get_global_id(0)] += k;
            }
            """;
    /** PoCL's CPU device reports CL_DEVICE_MEM_BASE_ADDR_ALIGN of 1024 bits or more; 4096 bytes suits any device. */
    static final long ALIGNED = 4096;

    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("mem");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    private static int[] ints(int n, long seed) {
        Random r = new Random(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt();
        }
        return a;
    }

    @Test
    void aSubBufferWrittenThroughItsParentReadsBackThroughItself() {
        int n = 4096;
        int[] data = ints(n, 1);
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer parent = ctx.createBuffer(4L * n);
             DeviceBuffer sub = parent.subBuffer(ALIGNED, 1024 * 4)) {
            q.write(parent, 0, MemorySegment.ofArray(data));
            int[] out = new int[1024];
            q.read(sub, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            int[] want = java.util.Arrays.copyOfRange(data, (int) (ALIGNED / 4), (int) (ALIGNED / 4) + 1024);
            assertArrayEquals(want, out);
            assertEquals(1024 * 4, sub.size());
        }
    }

    @Test
    void aKernelOnASubBufferChangesOnlyThatRangeOfItsParent() {
        int n = 4096;
        int[] data = ints(n, 2);
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(ADD);
             Kernel k = p.kernel("add");
             DeviceBuffer parent = ctx.createBuffer(4L * n);
             DeviceBuffer sub = parent.subBuffer(ALIGNED, 512 * 4)) {
            q.write(parent, 0, MemorySegment.ofArray(data));
            k.arg(0, sub).arg(1, 7);
            q.launch(k, NDRange.of(512));
            int[] out = new int[n];
            q.read(parent, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            int first = (int) (ALIGNED / 4);
            for (int i = 0; i < n; i++) {
                int want = i >= first && i < first + 512 ? data[i] + 7 : data[i];
                assertEquals(want, out[i], "element " + i);
            }
        }
    }

    @Test
    void releasingTheParentFirstLeavesItsSubBufferUsable() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue()) {
            DeviceBuffer parent = ctx.createBuffer(2 * ALIGNED);
            DeviceBuffer sub = parent.subBuffer(ALIGNED, ALIGNED);
            parent.close();
            int[] in = ints((int) (ALIGNED / 4), 3);
            q.write(sub, 0, MemorySegment.ofArray(in));
            int[] out = new int[in.length];
            q.read(sub, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            assertArrayEquals(in, out);
            sub.close();
            q.finish();
        }
    }

    @Test
    void anUnalignedSubBufferIsRefusedNamingTheAlignment() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer parent = ctx.createBuffer(ALIGNED)) {
            parent.subBuffer(4, 64);
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertEquals(Op.SUB_BUFFER_CREATE, e.failedCall().op());
            assertTrue(e.getMessage().contains("base-address alignment of"), e.getMessage());
            assertTrue(e.getMessage().contains("sub-buffer offset 4"), e.getMessage());
            // the session goes on
            int[] out = new int[4];
            q.read(parent, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
        }
    }

    @Test
    void aSubBufferOfASubBufferIsRefused() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer parent = ctx.createBuffer(4 * ALIGNED);
             DeviceBuffer sub = parent.subBuffer(ALIGNED, 2 * ALIGNED)) {
            sub.subBuffer(0, 64);
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("is itself a sub-buffer"), e.getMessage());
        }
    }

    // ---- rectangles ----

    /** A 16 x 12 matrix of floats in a buffer; a 5 x 4 tile of it at column 3, row 2. */
    static final int COLS = 16, ROWS = 12, TW = 5, TH = 4, TX = 3, TY = 2;

    private static float[] matrix() {
        float[] m = new float[COLS * ROWS];
        for (int i = 0; i < m.length; i++) {
            m[i] = i * 0.5f - 7;
        }
        return m;
    }

    private static float[] tileOf(float[] m) {
        float[] t = new float[TW * TH];
        for (int y = 0; y < TH; y++) {
            for (int x = 0; x < TW; x++) {
                t[y * TW + x] = m[(TY + y) * COLS + TX + x];
            }
        }
        return t;
    }

    @Test
    void readRectOfATileIntoHeapMemoryMatchesJava() {
        float[] m = matrix();
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(4L * m.length);
             HeapBlock tile = ferry.heap().allocate(4L * TW * TH)) {
            q.write(b, 0, MemorySegment.ofArray(m));
            q.readRect(b, Rect.at(4L * TX, TY, 4L * COLS), tile.segment(), Rect.at(0, 0, 0), Rect.of(4L * TW, TH));
            q.finish();
            assertArrayEquals(tileOf(m), tile.segment().toArray(JAVA_FLOAT));
        }
    }

    @Test
    void readRectIntoMemoryOutsideTheHeapIsStagedAndKeepsTheOtherBytes() {
        float[] m = matrix();
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(4L * m.length)) {
            q.write(b, 0, MemorySegment.ofArray(m));
            // into a 8-wide array with a one-float margin: the margin keeps its -1s
            float[] out = new float[8 * (TH + 1)];
            java.util.Arrays.fill(out, -1f);
            q.readRect(b, Rect.at(4L * TX, TY, 4L * COLS), MemorySegment.ofArray(out), Rect.at(4, 1, 4 * 8),
                    Rect.of(4L * TW, TH));
            q.finish(); // as with read: staged data is valid after finish
            float[] want = new float[out.length];
            java.util.Arrays.fill(want, -1f);
            float[] t = tileOf(m);
            for (int y = 0; y < TH; y++) {
                System.arraycopy(t, y * TW, want, (y + 1) * 8 + 1, TW);
            }
            assertArrayEquals(want, out);
        }
    }

    @Test
    void writeRectPutsATileIntoTheMatrixAndNothingElse() {
        float[] m = matrix();
        float[] t = new float[TW * TH];
        for (int i = 0; i < t.length; i++) {
            t[i] = 1000 + i;
        }
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(4L * m.length)) {
            q.write(b, 0, MemorySegment.ofArray(m));
            q.writeRect(b, Rect.at(4L * TX, TY, 4L * COLS), MemorySegment.ofArray(t), Rect.at(0, 0, 0),
                    Rect.of(4L * TW, TH));
            float[] out = new float[m.length];
            q.read(b, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            for (int y = 0; y < TH; y++) {
                System.arraycopy(t, y * TW, m, (TY + y) * COLS + TX, TW);
            }
            assertArrayEquals(m, out);
        }
    }

    @Test
    void aRectWriteWaitingForAUserEventIsGatedAsAnyCommand() {
        int n = 256;
        int[] data = ints(n, 9);
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(4L * n);
             HeapBlock src = ferry.heap().allocate(4L * n);
             UserEvent go = ctx.createUserEvent()) {
            q.fill(b, MemorySegment.ofArray(new int[] {0}), 0, 4L * n);
            q.finish();
            src.segment().copyFrom(MemorySegment.ofArray(data));
            try (Event written = q.writeRectWithEvent(b, Rect.at(0, 0, 0), src.segment(), Rect.at(0, 0, 0),
                    Rect.of(4L * n, 1), go)) {
                // the host's event gates hold for the rectangles too: finishing now would wait forever, so refused
                FerryException e = assertThrows(FerryException.class, q::finish);
                assertEquals(Status.INVALID_ARGUMENT, e.status());
                assertTrue(e.getMessage().contains("user event " + go.handle()), e.getMessage());
                go.complete();
                written.await();
            }
            int[] out = new int[n];
            q.read(b, 0, MemorySegment.ofArray(out));
            q.finish();
            assertArrayEquals(data, out);
        }
    }

    @Test
    void copyRectOfA3DBlockBetweenBuffersMatchesJava() {
        int nx = 6, ny = 5, nz = 4; // ints: a 6 x 5 x 4 volume; copy a 3 x 2 x 2 block at (2, 1, 1) to (0, 0, 0) of a 4 x 3 x 2 volume
        int[] v = ints(nx * ny * nz, 4);
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer src = ctx.createBuffer(4L * v.length);
             DeviceBuffer dst = ctx.createBuffer(4L * 4 * 3 * 2)) {
            q.write(src, 0, MemorySegment.ofArray(v));
            q.fill(dst, MemorySegment.ofArray(new int[] {-5}), 0, dst.size());
            Event e = q.copyRectWithEvent(src, Rect.at(8, 1, 1, 4L * nx, 4L * nx * ny), dst,
                    Rect.at(0, 0, 0, 4 * 4, 4 * 4 * 3), Rect.of(3 * 4, 2, 2));
            int[] out = new int[4 * 3 * 2];
            q.readRectWithEvent(dst, Rect.at(0, 0, 0), MemorySegment.ofArray(out), Rect.at(0, 0, 0),
                    Rect.of(4L * out.length, 1), e);
            q.finish(); // staged into a Java array: valid after finish
            int[] want = new int[out.length];
            java.util.Arrays.fill(want, -5);
            for (int z = 0; z < 2; z++) {
                for (int y = 0; y < 2; y++) {
                    for (int x = 0; x < 3; x++) {
                        want[z * 12 + y * 4 + x] = v[(1 + z) * nx * ny + (1 + y) * nx + 2 + x];
                    }
                }
            }
            assertArrayEquals(want, out);
            e.await();
        }
    }

    @Test
    void aRectPastTheBufferIsRefusedNamingTheByteItReaches() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(256);
             HeapBlock h = ferry.heap().allocate(1024)) {
            q.readRect(b, Rect.at(0, 0, 64), h.segment(), Rect.at(0, 0, 0), Rect.of(64, 5)); // 5 x 64 > 256
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.OUT_OF_RANGE, e.status());
            assertTrue(e.getMessage().contains("reaches byte 320 of the buffer"), e.getMessage());
            q.readRect(b, Rect.at(0, 0, 32), h.segment(), Rect.at(0, 0, 0), Rect.of(64, 2)); // row pitch < width
            e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("row pitch 32 is less than region[0] = 64"), e.getMessage());
        }
    }

    // ---- mappings ----

    @Test
    void aMappedDeviceBufferChangedAndUnmappedIsWhatTheKernelSees() {
        int n = 1024;
        int[] data = ints(n, 5);
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(ADD);
             Kernel k = p.kernel("add");
             DeviceBuffer b = ctx.createBuffer(4L * n)) {
            q.write(b, 0, MemorySegment.ofArray(data));
            try (Mapping m = q.map(b, 4 * 100, 4 * 200, MapAccess.READ_WRITE)) {
                q.finish();
                assertFalse(m.zeroCopy());
                for (int i = 0; i < 200; i++) {
                    assertEquals(data[100 + i], m.segment().getAtIndex(JAVA_INT, i));
                    m.segment().setAtIndex(JAVA_INT, i, i);
                }
            }
            k.arg(0, b).arg(1, 3);
            q.launch(k, NDRange.of(n));
            int[] out = new int[n];
            q.read(b, 0, MemorySegment.ofArray(out));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            for (int i = 0; i < n; i++) {
                int before = i >= 100 && i < 300 ? i - 100 : data[i];
                assertEquals(before + 3, out[i], "element " + i);
            }
        }
    }

    @Test
    void mappingAHeapBackedBufferReturnsTheBlockItselfWithTheKernelsResults() {
        int n = 1024;
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(ADD);
             Kernel k = p.kernel("add");
             HeapBlock block = ferry.heap().allocate(4L * n);
             DeviceBuffer b = ctx.createBuffer(block, DeviceBuffer.Access.READ_WRITE)) {
            for (int i = 0; i < n; i++) {
                block.segment().setAtIndex(JAVA_INT, i, i);
            }
            k.arg(0, b).arg(1, 10);
            q.launch(k, NDRange.of(n));
            try (Mapping m = q.map(b, 64, 4L * 16, MapAccess.READ)) {
                q.finish();
                assertTrue(m.zeroCopy());
                assertEquals(block.segment().address() + 64, m.segment().address());
                for (int i = 0; i < 16; i++) {
                    assertEquals(16 + i + 10, m.segment().getAtIndex(JAVA_INT, i));
                }
            }
            try (Mapping m = q.map(b, 0, 4L * n, MapAccess.WRITE_INVALIDATE)) {
                m.segment().fill((byte) 0);
            }
            q.launch(k, NDRange.of(n));
            q.finish();
            for (int i = 0; i < n; i++) {
                assertEquals(10, block.segment().getAtIndex(JAVA_INT, i));
            }
        }
    }

    // ---- images and samplers ----

    static final Image.Format RGBA_FLOAT = new Image.Format(Image.ChannelOrder.RGBA, Image.ChannelType.FLOAT);
    static final int W = 8, H = 6;

    private static float[] pixels() {
        float[] p = new float[W * H * 4];
        for (int i = 0; i < p.length; i++) {
            p[i] = i * 0.25f - 3;
        }
        return p;
    }

    @Test
    void anImageCountsAgainstTheGuestsDeviceMemoryUntilReleased() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice())) {
            long before = deviceMemory();
            try (Image img = ctx.createImage(RGBA_FLOAT, 256, 128, DeviceBuffer.Access.READ_WRITE)) {
                ferry.nop(0);
                assertEquals(before + 256L * 128 * 16, deviceMemory(), "the image's bytes are the guest's device memory");
            }
            ferry.nop(0);
            assertEquals(before, deviceMemory(), "released with the image");
        }
    }

    private static long deviceMemory() {
        return host.host.guests().stream().filter(g -> g.name().equals("mem")).findFirst().orElseThrow()
                .deviceMemoryBytes();
    }

    @Test
    void anImageRoundTripsAndASubRegionReadsBackAsJavaSlicesIt() {
        float[] p = pixels();
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Image img = ctx.createImage(RGBA_FLOAT, W, H, DeviceBuffer.Access.READ_WRITE);
             HeapBlock part = ferry.heap().allocate(4L * 4 * 3 * 2)) {
            q.writeImage(img, Rect.at(0, 0, 0), Rect.of(W, H), MemorySegment.ofArray(p), Rect.at(0, 0, 0));
            float[] all = new float[p.length];
            q.readImage(img, Rect.at(0, 0, 0), Rect.of(W, H), MemorySegment.ofArray(all), Rect.at(0, 0, 0));
            q.finish();
            assertArrayEquals(p, all);
            // 3 x 2 pixels at (4, 3), packed
            q.readImage(img, Rect.at(4, 3, 0), Rect.of(3, 2), part.segment(), Rect.at(0, 0, 0));
            q.finish();
            float[] want = new float[3 * 2 * 4];
            for (int y = 0; y < 2; y++) {
                System.arraycopy(p, ((3 + y) * W + 4) * 4, want, y * 12, 12);
            }
            assertArrayEquals(want, part.segment().toArray(JAVA_FLOAT));
        }
    }

    @Test
    void aKernelSamplingAnImageSeesItsPixels() {
        float[] p = pixels();
        String source = """
                __kernel void sample(__read_only image2d_t img, sampler_t s, __global float* out) {
                    int x = get_global_id(0), y = get_global_id(1);
                    float4 v = read_imagef(img, s, (int2)(x + 1, y));
                    out[y * get_global_size(0) + x] = v.x + v.w;
                }
                """;
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program prog = ctx.buildProgram(source);
             Kernel k = prog.kernel("sample");
             Image img = ctx.createImage(RGBA_FLOAT, W, H, DeviceBuffer.Access.READ_ONLY);
             Sampler smp = ctx.createSampler(false, Sampler.Addressing.CLAMP_TO_EDGE, Sampler.Filter.NEAREST);
             DeviceBuffer out = ctx.createBuffer(4L * W * H)) {
            q.writeImage(img, Rect.at(0, 0, 0), Rect.of(W, H), MemorySegment.ofArray(p), Rect.at(0, 0, 0));
            k.arg(0, img).arg(1, smp).arg(2, out);
            q.launch(k, NDRange.of(W, H));
            float[] got = new float[W * H];
            q.read(out, 0, MemorySegment.ofArray(got));
            q.finish(); // a read is valid after finish, whatever memory it goes to
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    int sx = Math.min(x + 1, W - 1); // clamp to edge
                    int at = (y * W + sx) * 4;
                    assertEquals(p[at] + p[at + 3], got[y * W + x], 1e-5f, "pixel " + x + ", " + y);
                }
            }
        }
    }

    @Test
    void pixelsOutsideTheImageAreRefusedNamingItsSize() {
        try (Ferry ferry = host.connect("mem");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Image img = ctx.createImage(RGBA_FLOAT, W, H, DeviceBuffer.Access.READ_WRITE);
             HeapBlock h = ferry.heap().allocate(4096)) {
            q.readImage(img, Rect.at(6, 0, 0), Rect.of(4, 1), h.segment(), Rect.at(0, 0, 0));
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.OUT_OF_RANGE, e.status());
            assertTrue(e.getMessage().contains("outside image " + img.handle() + " of 8 x 6 pixels"), e.getMessage());
        }
    }
}
