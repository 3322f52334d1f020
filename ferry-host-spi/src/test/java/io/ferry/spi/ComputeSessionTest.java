package io.ferry.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ComputeSessionTest {
    static class Buf extends DeviceObject {
        final long size;

        Buf(long size) {
            this.size = size;
        }
    }

    static final class Q extends DeviceObject {
    }

    /** A session whose "device" records what it destroys. */
    static final class Fake extends ComputeSession<DeviceObject> {
        final List<DeviceObject> destroyed = new ArrayList<>();
        final List<DeviceObject> closedWith = new ArrayList<>();
        boolean closedCalled;

        Fake(MemorySegment heap) {
            super("Fake", "g", heap, 256, s -> { });
        }

        void newBuffer(long handle, long size) {
            put(handle, new Buf(size));
            allocated(size);
        }

        @Override
        protected void destroy(long handle, DeviceObject o) {
            if (o instanceof Buf b) {
                freed(b.size);
            }
            destroyed.add(o);
        }

        @Override
        protected void closeAll(List<DeviceObject> live) {
            closedCalled = true;
            closedWith.addAll(live);
        }

        @Override public void createContext(long context, int deviceIndex) throws BackendException {
            device(List.of("only"), deviceIndex);
        }
        @Override public void createQueue(long q, long c, boolean p, int pr) {
            put(q, new Q());
        }
        @Override public void createBuffer(long b, long c, long s, int a, long h) { }
        @Override public void createProgram(long p, long c, SourceLanguage l, String s) { }
        @Override public String buildProgram(long p, String o) {
            return "";
        }
        @Override public int createKernel(long k, long p, String n) {
            return 0;
        }
        @Override public void setKernelArgBuffer(long k, int i, long b) { }
        @Override public void setKernelArgValue(long k, int i, MemorySegment v) { }
        @Override public void setKernelArgLocal(long k, int i, long b) { }
        @Override public void enqueueWrite(long q, long b, long o, long s, long h, long e, long[] w) { }
        @Override public void enqueueRead(long q, long b, long o, long s, long h, long e, long[] w) { }
        @Override public void enqueueCopy(long q, long s, long d, long so, long dof, long n, long e, long[] w) { }
        @Override public void enqueueFill(long q, long b, MemorySegment p, long o, long s, long e, long[] w) { }
        @Override public void enqueueLaunch(long q, long k, int d, long[] o, long[] g, long[] l, long e, long[] w) { }
        @Override public void finish(long q) { }
        @Override public long[] waitEvent(long e) {
            return new long[2];
        }
    }

    @Test
    void tableLooksUpByHandleAndKind() throws BackendException {
        try (Arena arena = Arena.ofConfined(); Fake s = new Fake(arena.allocate(4096))) {
            s.newBuffer(7, 100);
            s.createQueue(8, 0, false, 0);
            assertEquals(100, s.get(7, Buf.class).size);
            BackendException e = assertThrows(BackendException.class, () -> s.get(8, Buf.class));
            assertEquals(Status.WRONG_HANDLE_KIND, e.status());
            assertEquals("handle 8 names a q, not a buf", e.getMessage());
            e = assertThrows(BackendException.class, () -> s.get(9, Buf.class));
            assertEquals(Status.UNKNOWN_HANDLE, e.status());
            e = assertThrows(BackendException.class, () -> s.release(9));
            assertEquals(Status.UNKNOWN_HANDLE, e.status());
            e = assertThrows(BackendException.class, () -> s.createContext(1, 1));
            assertEquals(Status.NO_DEVICE, e.status());
        }
    }

    @Test
    void releaseMarksAndCountsAndAStaleObjectIsDestroyedNotLost() throws BackendException {
        try (Arena arena = Arena.ofConfined(); Fake s = new Fake(arena.allocate(4096))) {
            s.newBuffer(7, 100);
            s.newBuffer(8, 50);
            assertEquals(150, s.deviceMemoryBytes());
            Buf b = s.get(7, Buf.class);
            s.release(7);
            assertTrue(b.isReleased());
            assertEquals(List.of(b), s.destroyed);
            assertEquals(50, s.deviceMemoryBytes());
            Buf stale = s.get(8, Buf.class);
            s.newBuffer(8, 10); // the host saw 8 unused: the stale object goes first
            assertTrue(stale.isReleased());
            assertSame(stale, s.destroyed.get(1));
            assertEquals(10, s.deviceMemoryBytes());
        }
    }

    @Test
    void heapSlicesStayInsideTheHeap() throws BackendException {
        try (Arena arena = Arena.ofConfined(); Fake s = new Fake(arena.allocate(4096))) {
            assertEquals(96, s.heapSlice(4000, 96).byteSize());
            BackendException e = assertThrows(BackendException.class, () -> s.heapSlice(4000, 97));
            assertEquals(Status.HEAP_RANGE, e.status());
            assertThrows(BackendException.class, () -> s.heapSlice(-1, 1));
        }
    }

    @Test
    void endedAndClosedSessionsRefuseCalls() throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            Fake s = new Fake(arena.allocate(64));
            s.newBuffer(7, 100);
            assertFalse(s.deviceWorkEnded());
            assertEquals(Status.DEVICE_LOST, s.endDeviceWork("boom").status());
            s.endDeviceWork("second");
            BackendException e = assertThrows(BackendException.class, () -> s.get(7, Buf.class));
            assertEquals(Status.DEVICE_LOST, e.status());
            assertTrue(e.getMessage().endsWith("ended earlier: boom"), e.getMessage());
            s.close();
            assertTrue(s.closedCalled);
            assertTrue(s.closedWith.getFirst().isReleased());
            assertEquals(0, s.deviceMemoryBytes());
            e = assertThrows(BackendException.class, () -> s.release(7));
            assertEquals(Status.SESSION_CLOSED, e.status());
            s.close(); // twice is harmless
        }
    }
}
