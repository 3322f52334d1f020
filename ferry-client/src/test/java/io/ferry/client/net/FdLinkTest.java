package io.ferry.client.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.channel.os.StreamSocket;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The link a {@code ferry+vsock} connection runs over (a socket read and written through FFM), on a Unix socket pair:
 * an AF_VSOCK socket is never opened here. Heap and direct buffers both ways, the end of the stream, and a close
 * that ends a blocked read.
 */
class FdLinkTest {
    private static Links.FdLink[] pair() throws IOException {
        UnixSocket[] p = UnixSocket.pair();
        try {
            return new Links.FdLink[] {new Links.FdLink(StreamSocket.ofDescriptor(Memfd.dup(p[0].fd()))),
                    new Links.FdLink(StreamSocket.ofDescriptor(Memfd.dup(p[1].fd())))};
        } finally {
            p[0].close();
            p[1].close();
        }
    }

    @Test
    void bytesCrossInHeapAndDirectBuffers() throws Exception {
        Links.FdLink[] l = pair();
        try (Links.FdLink a = l[0]; Links.FdLink b = l[1]) {
            byte[] data = new byte[300_000];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 7 + 3);
            }
            ByteBuffer direct = Arena.ofAuto().allocate(100_000).asByteBuffer();
            direct.put(ByteBuffer.wrap(data, 0, 100_000)).flip();
            CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
                try {
                    ByteBuffer heap = ByteBuffer.allocate(200_000);
                    b.readFully(heap);
                    ByteBuffer into = Arena.ofAuto().allocate(200_000).asByteBuffer();
                    b.readFully(into);
                    byte[] all = new byte[400_000];
                    System.arraycopy(heap.array(), 0, all, 0, 200_000);
                    into.flip().get(all, 200_000, 200_000);
                    return all;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            a.write(direct, ByteBuffer.wrap(data));
            byte[] all = got.get(10, TimeUnit.SECONDS);
            byte[] want = new byte[400_000];
            System.arraycopy(data, 0, want, 0, 100_000);
            System.arraycopy(data, 0, want, 100_000, 300_000);
            assertArrayEquals(want, all);
            assertEquals(0, direct.remaining(), "written buffers are consumed");
        }
    }

    @Test
    void thePeersCloseIsTheEndAndOurCloseEndsABlockedRead() throws Exception {
        Links.FdLink[] l = pair();
        l[0].close();
        assertThrows(EOFException.class, () -> l[1].readFully(ByteBuffer.allocate(8)));
        l[1].close();

        Links.FdLink[] m = pair();
        try (Links.FdLink other = m[0]) {
            CompletableFuture<Throwable> blocked = CompletableFuture.supplyAsync(() -> {
                try {
                    m[1].readFully(ByteBuffer.allocate(8));
                    return null;
                } catch (IOException e) {
                    return e;
                }
            });
            Thread.sleep(100); // let it block (the read ends either way)
            m[1].close();
            assertEquals(true, blocked.get(10, TimeUnit.SECONDS) instanceof IOException);
            assertThrows(IOException.class, () -> m[1].write(ByteBuffer.allocate(1)), "closed stays closed");
        }
    }

    @Test
    void theVsockAddressIsLinuxsSockaddrVm() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = StreamSocket.vsockAddress(arena, StreamSocket.HOST_CID, 7072);
            assertEquals(16, a.byteSize());
            assertEquals(40, a.get(ValueLayout.JAVA_SHORT, 0));
            assertEquals(7072, a.get(ValueLayout.JAVA_INT, 4));
            assertEquals(2, a.get(ValueLayout.JAVA_INT, 8));
            assertEquals(0L, a.get(ValueLayout.JAVA_INT, 12));
            assertEquals(-1, StreamSocket.vsockAddress(arena, 0xFFFF_FFFFL, 1).get(ValueLayout.JAVA_INT, 8));
            assertThrows(IllegalArgumentException.class, () -> StreamSocket.vsockAddress(arena, 1L << 32, 1));
        }
    }
}
