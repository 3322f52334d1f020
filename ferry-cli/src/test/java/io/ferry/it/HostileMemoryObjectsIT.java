package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Op;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.testkit.RawGuest;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The memory-object calls as a hostile guest writes them (RawGuest, straight from the wire format): ranges that
 * overflow, rectangles whose extent overflows 64 bits, unaligned origins, bad wait lists. Each is a clear error that
 * names the bad figure; the session lives on and serves the next good call.
 */
class HostileMemoryObjectsIT {
    static final long T = 10_000_000_000L;
    static final long CONTEXT = 1, QUEUE = 2, BUFFER = 3, SIZE = 4096;

    Path dir;
    Devices devices;
    FerryHost host;
    RawGuest g;
    long heap;

    @BeforeEach
    void connect() throws Exception {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-memobj-");
        devices = Devices.discover(List.of());
        host = FerryHost.start(new HostConfig(dir, true, List.of(), List.of(new HostConfig.GuestConfig("g", 1L << 20))),
                devices);
        g = new RawGuest(host.regionPath("g"));
        assertEquals(Status.OK, g.connect(5_000_000_000L).status());
        heap = g.region.heap().byteSize();
        assertEquals(Status.OK, g.call(Op.CONTEXT_CREATE, null, T, CONTEXT, 0).status());
        assertEquals(Status.OK, g.call(Op.QUEUE_CREATE, null, T, QUEUE, CONTEXT, 0, 0).status());
        assertEquals(Status.OK, g.call(Op.BUFFER_CREATE, null, T, BUFFER, CONTEXT, SIZE, 0, -1).status());
    }

    @AfterEach
    void close() throws Exception {
        g.close();
        host.close();
        devices.close();
        Hosts.deleteTree(dir);
    }

    /** A blob: the wait list, then a rectangle of {@code region} with side A and side B as given (origin, pitches). */
    static byte[] rect(long[] waits, long[] region, long[] a, long[] b) {
        MemorySegment s = MemorySegment.ofArray(new byte[8 * waits.length + RectLayout.LENGTH]);
        for (int i = 0; i < waits.length; i++) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, waits[i]);
        }
        RectLayout l = new RectLayout().wrap(s, 8L * waits.length);
        for (int i = 0; i < 3; i++) {
            l.region(i, region[i]).origin(RectLayout.A, i, a[i]).origin(RectLayout.B, i, b[i]);
        }
        l.rowPitch(RectLayout.A, a[3]).slicePitch(RectLayout.A, a[4]).rowPitch(RectLayout.B, b[3])
                .slicePitch(RectLayout.B, b[4]);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    private void refused(RawGuest.Reply reply, Status status, String text) {
        assertEquals(status, reply.status(), reply.text());
        assertTrue(reply.text().contains(text), reply.text());
    }

    private RawGuest.Reply readRect(long heapOffset, long heapSize, long waits, byte[] blob) {
        return g.call(Op.BUFFER_READ_RECT, blob, T, QUEUE, BUFFER, heapOffset, heapSize, 0, waits);
    }

    private void sessionLivesOn() {
        assertTrue(g.open());
        assertEquals(Status.OK, readRect(0, SIZE, 0, rect(new long[0], new long[] {64, 4, 1},
                new long[] {0, 0, 0, 128, 0}, new long[] {0, 0, 0, 0, 0})).status());
        assertEquals(Status.OK, g.call(Op.FINISH, null, T, QUEUE).status());
    }

    @Test
    void subBufferRangesThatOverflowOrLeaveTheParentAreRefused() {
        long[][] ranges = {{Long.MAX_VALUE - 8, 64}, {SIZE - 128, 256}, {0, -1}, {-128, 256}, {0, Long.MIN_VALUE}};
        long h = 100;
        for (long[] r : ranges) {
            refused(g.call(Op.SUB_BUFFER_CREATE, null, T, h++, BUFFER, r[0], r[1], 0), Status.OUT_OF_RANGE,
                    "is outside parent buffer " + BUFFER + " of " + SIZE + " bytes");
        }
        sessionLivesOn();
    }

    @Test
    void anUnalignedSubBufferOriginIsRefusedNamingTheAlignment() {
        refused(g.call(Op.SUB_BUFFER_CREATE, null, T, 100, BUFFER, 4, 64, 0), Status.INVALID_ARGUMENT,
                "is not a multiple of the device's base-address alignment of");
        refused(g.call(Op.SUB_BUFFER_CREATE, null, T, 101, QUEUE, 0, 64, 0), Status.WRONG_HANDLE_KIND, "not a buffer");
        refused(g.call(Op.SUB_BUFFER_CREATE, null, T, 102, BUFFER, 0, 64, 9), Status.INVALID_ARGUMENT,
                "sub-buffer access 9");
        assertEquals(Status.OK, g.call(Op.SUB_BUFFER_CREATE, null, T, 103, BUFFER, 0, 64, 0).status());
        refused(g.call(Op.SUB_BUFFER_CREATE, null, T, 104, 103, 0, 32, 0), Status.INVALID_ARGUMENT,
                "is itself a sub-buffer");
        sessionLivesOn();
    }

    @Test
    void aRectWhoseExtentOverflowsIsRefused() {
        long[] none = new long[0];
        long[] host0 = {0, 0, 0, 0, 0};
        // huge slice pitch x slices: (0 + 8 - 1) x 2^61 overflows
        refused(readRect(0, SIZE, 0, rect(none, new long[] {8, 2, 8}, new long[] {0, 0, 0, 1L << 40, 1L << 61}, host0)),
                Status.OUT_OF_RANGE, "overflows 64 bits");
        // rows x row pitch overflows already in the default slice pitch
        refused(readRect(0, SIZE, 0, rect(none, new long[] {8, 4, 1}, new long[] {0, 0, 0, 1L << 62, 0}, host0)),
                Status.OUT_OF_RANGE, "overflows 64 bits");
        // a huge origin on the heap side
        refused(readRect(0, SIZE, 0, rect(none, new long[] {8, 1, 1}, new long[] {0, 0, 0, 0, 0},
                new long[] {Long.MAX_VALUE - 4, 0, 0, 0, 0})), Status.HEAP_RANGE, "overflows 64 bits");
        // a negative origin
        refused(readRect(0, SIZE, 0, rect(none, new long[] {8, 1, 1}, new long[] {-8, 0, 0, 0, 0}, host0)),
                Status.OUT_OF_RANGE, "origin[0] is -8");
        sessionLivesOn();
    }

    @Test
    void aRectOutsideItsHeapRangeOrTheHeapIsRefused() {
        long[] none = new long[0];
        long[] buf = {0, 0, 0, 0, 0};
        refused(readRect(0, 100, 0, rect(none, new long[] {64, 2, 1}, buf, new long[] {0, 0, 0, 0, 0})),
                Status.HEAP_RANGE, "reaches byte 128 of the heap range [0, +100)");
        refused(readRect(heap - 64, 128, 0, rect(none, new long[] {64, 1, 1}, buf, new long[] {0, 0, 0, 0, 0})),
                Status.HEAP_RANGE, "outside the guest heap");
        refused(readRect(0, SIZE, 0, rect(none, new long[] {0, 1, 1}, buf, new long[] {0, 0, 0, 0, 0})),
                Status.INVALID_ARGUMENT, "region[0] is 0");
        refused(readRect(0, SIZE, 0, rect(none, new long[] {16, 2, 2}, new long[] {0, 0, 0, 16, 40},
                new long[] {0, 0, 0, 0, 0})), Status.INVALID_ARGUMENT, "slice pitch 40 must be at least");
        sessionLivesOn();
    }

    @Test
    void badWaitListsAreRefused() {
        long[] region = {64, 1, 1};
        long[] side = {0, 0, 0, 0, 0};
        refused(readRect(0, SIZE, 1000, rect(new long[0], region, side, side)), Status.INVALID_ARGUMENT,
                "a wait list of 1000 events");
        refused(readRect(0, SIZE, 2, rect(new long[] {5}, region, side, side)), Status.INVALID_ARGUMENT,
                "2 waited events");
        refused(readRect(0, SIZE, 1, rect(new long[] {QUEUE}, region, side, side)), Status.WRONG_HANDLE_KIND,
                "not a event");
        refused(readRect(0, SIZE, 1, rect(new long[] {777}, region, side, side)), Status.UNKNOWN_HANDLE,
                "wait list entry 0 handle 777");
        sessionLivesOn();
    }

    private static long depthWord(long depth, int type) {
        return io.ferry.protocol.ImageFormats.depthWord(depth, type);
    }

    @Test
    void imagesOfBadSizesFormatsOrPixelRangesAreRefused() {
        long rgbaFloat = io.ferry.protocol.ImageFormats.CL_RGBA, f = io.ferry.protocol.ImageFormats.CL_FLOAT;
        refused(g.call(Op.IMAGE_CREATE, null, T, 100, CONTEXT, 1L << 40, 4, 0, rgbaFloat, f, 0),
                Status.INVALID_ARGUMENT, "width and height must be 1..65536");
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 4, 1, rgbaFloat, f, 0), Status.INVALID_ARGUMENT,
                "a 3D image's depth must be 2..2048");
        // the image type in the depth word's bits 32-47 (ImageFormats.depthWord): each type's own figures
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 2, depthWord(0, 0x10F4), rgbaFloat, f, 0),
                Status.INVALID_ARGUMENT, "a 1D image has height 1 and depth 0");
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 4, depthWord(0, 0x10F3), rgbaFloat, f, 0),
                Status.INVALID_ARGUMENT, "a 2D array's layers (the depth) must be 1..2048");
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 3000, depthWord(0, 0x10F5), rgbaFloat, f, 0),
                Status.INVALID_ARGUMENT, "a 1D array's layers (the height) must be 1..2048");
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 1, depthWord(0, 0x10F6), rgbaFloat, f, 0),
                Status.UNSUPPORTED, "1D buffer images are not carried");
        refused(g.call(Op.IMAGE_CREATE, null, T, 101, CONTEXT, 4, 4, 2L | 0x7FFFL << 48, rgbaFloat, f, 0),
                Status.UNSUPPORTED, "is not one Ferry carries");
        refused(g.call(Op.IMAGE_CREATE, null, T, 102, CONTEXT, 4, 4, 0, 0x1234, f, 0), Status.UNSUPPORTED,
                "is not one Ferry carries");
        assertEquals(Status.OK, g.call(Op.IMAGE_CREATE, null, T, 103, CONTEXT, 8, 8, 0, rgbaFloat, f, 0).status());
        long[] none = new long[0];
        long[] heapSide = {0, 0, 0, 0, 0};
        refused(g.call(Op.IMAGE_READ, rect(none, new long[] {4, 4, 1}, new long[] {Long.MAX_VALUE - 2, 0, 0, 0, 0},
                heapSide), T, QUEUE, 103, 0, SIZE, 0, 0), Status.OUT_OF_RANGE, "outside image 103 of 8 x 8 pixels");
        // 8 pixels of 16 bytes in a row of 64 bytes: a row pitch under the row's bytes
        refused(g.call(Op.IMAGE_READ, rect(none, new long[] {8, 2, 1}, new long[] {0, 0, 0, 0, 0},
                new long[] {0, 0, 0, 64, 0}), T, QUEUE, 103, 0, SIZE, 0, 0), Status.INVALID_ARGUMENT,
                "row pitch 64 is less than region[0] = 128");
        // a 2D array of 3 layers: its layers are origin[2], as a 3D image's slices; one past the last is refused
        assertEquals(Status.OK, g.call(Op.IMAGE_CREATE, null, T, 105, CONTEXT, 8, 8, depthWord(3, 0x10F3), rgbaFloat,
                f, 0).status());
        refused(g.call(Op.IMAGE_READ, rect(none, new long[] {8, 8, 1}, new long[] {0, 0, 3, 0, 0}, heapSide), T, QUEUE,
                105, 0, SIZE, 0, 0), Status.OUT_OF_RANGE, "outside image 105 of 8 x 8 x 3 pixels");
        refused(g.call(Op.SAMPLER_CREATE, null, T, 104, CONTEXT, 2, 0x1131, 0x1140), Status.INVALID_ARGUMENT,
                "normalized 2 must be 0 or 1");
        refused(g.call(Op.KERNEL_ARG_SAMPLER, null, T, 1234, 0, 103), Status.UNKNOWN_HANDLE, "kernel handle 1234");
        sessionLivesOn();
    }
}
