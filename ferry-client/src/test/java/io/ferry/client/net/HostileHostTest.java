package io.ferry.client.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RegionLayout;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The pump does not trust the host to be free of bugs: a scripted peer answers OPEN with a real region's header page
 * and then a frame that breaks a rule; the connect fails with PROTOCOL_VIOLATION naming the rule, and the peer gets
 * a CLOSED frame saying why.
 */
class HostileHostTest {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    /** What the scripted host sent back last: the client's CLOSED frame, if any. */
    record Seen(int status, String reason) {
    }

    /**
     * Runs a one-connection host on loopback: reads OPEN, answers OPENED (lane {@code lane} of a region made for
     * {@code guest}), then the frames {@code after} makes from that region; returns the client's CLOSED.
     */
    private static FerryException connectTo(String guest, int lane, Function<Region, byte[]> after,
                                            CompletableFuture<Seen> seen) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Region region = Region.createSealed(guest, RegionLayout.forSize(4L << 20), null)) {
            CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    frame(in); // OPEN
                    byte[] opened = new byte[StreamFrame.HEADER_LENGTH + 16 + StreamFrame.HEADER_PAGE];
                    StreamFrame.putOpened(MemorySegment.ofArray(opened), 0, lane,
                            region.segment().asSlice(0, StreamFrame.HEADER_PAGE));
                    OutputStream out = s.getOutputStream();
                    out.write(opened);
                    out.write(after.apply(region));
                    out.flush();
                    while (true) {
                        byte[] f = frame(in);
                        MemorySegment m = MemorySegment.ofArray(f);
                        if (StreamFrame.type(m, 0) == StreamFrame.CLOSED) {
                            StreamFrame.Closed c = StreamFrame.parseClosed(m.asSlice(StreamFrame.HEADER_LENGTH));
                            seen.complete(new Seen(c.status(), c.reason()));
                            return;
                        }
                    }
                } catch (IOException e) {
                    seen.complete(null);
                }
            });
            URI uri = URI.create("ferry+tcp://127.0.0.1:" + server.getLocalPort() + "/alice");
            return assertThrows(FerryException.class, () -> Ferry.connect(uri, new byte[32]));
        }
    }

    private static byte[] frame(DataInputStream in) throws IOException {
        byte[] head = new byte[StreamFrame.HEADER_LENGTH];
        in.readFully(head);
        int length = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        byte[] f = new byte[length];
        System.arraycopy(head, 0, f, 0, head.length);
        in.readFully(f, head.length, length - head.length);
        return f;
    }

    private static void refused(Function<Region, byte[]> after, String says) throws Exception {
        CompletableFuture<Seen> seen = new CompletableFuture<>();
        FerryException e = connectTo("alice", 0, after, seen);
        assertEquals(Status.PROTOCOL_VIOLATION, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("broke the stream protocol") && e.getMessage().contains(says),
                e.getMessage());
        Seen closed = seen.get(10, TimeUnit.SECONDS);
        assertEquals(Status.PROTOCOL_VIOLATION.code(), closed.status());
        assertTrue(closed.reason().contains(says), closed.reason());
    }

    @Test
    void heapBytesOutsideTheLanesHeapAreRefused() throws Exception {
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 8 + 16];
            StreamFrame.putHeap(MemorySegment.ofArray(f), 0, r.heap().byteSize() - 8, 16);
            return f;
        }, "outside the lane's heap slice");
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 8 + 16];
            StreamFrame.putHeap(MemorySegment.ofArray(f), 0, -16, 16);
            return f;
        }, "outside the lane's heap slice");
    }

    @Test
    void wordsTheHostDoesNotOwnAreRefused() throws Exception {
        for (long offset : new long[] {RegionDescriptor.LANE_CLAIM_OFFSET, RegionDescriptor.GUEST_HEARTBEAT_OFFSET,
                RegionDescriptor.MAGIC_OFFSET, RegionDescriptor.LANE_TABLE_OFFSET}) {
            refused(r -> {
                byte[] f = new byte[StreamFrame.HEADER_LENGTH + StreamFrame.WORD_ENTRY];
                StreamFrame.putWords(MemorySegment.ofArray(f), 0, new long[] {offset}, new long[] {1}, 1);
                return f;
            }, "region offset " + offset + ", which is not the host's to write");
        }
    }

    @Test
    void completionsThatDoNotMatchTheirFrameAreRefused() throws Exception {
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 64];
            MemorySegment m = MemorySegment.ofArray(f);
            StreamFrame.putHeader(m, 0, StreamFrame.COMPLETION, 64);
            m.set(INT, StreamFrame.HEADER_LENGTH, 4000); // LENGTH far past the frame
            return f;
        }, "does not match its frame");
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 64];
            MemorySegment m = MemorySegment.ofArray(f);
            StreamFrame.putHeader(m, 0, StreamFrame.COMPLETION, 64);
            m.set(INT, StreamFrame.HEADER_LENGTH, 64);
            m.set(INT, StreamFrame.HEADER_LENGTH + 4, -5);
            return f;
        }, "is negative");
    }

    @Test
    void framesOnlyAGuestSendsOrOfNoKnownTypeAreRefused() throws Exception {
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 24];
            StreamFrame.putHeader(MemorySegment.ofArray(f), 0, StreamFrame.RECORD, 24);
            return f;
        }, "frame type 4 is not sent by the host");
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH];
            StreamFrame.putHeader(MemorySegment.ofArray(f), 0, 99, 0);
            return f;
        }, "frame type 99 is not known");
        refused(r -> {
            byte[] f = new byte[StreamFrame.HEADER_LENGTH + 8];
            MemorySegment m = MemorySegment.ofArray(f);
            StreamFrame.putHeader(m, 0, StreamFrame.FIGURES, 8);
            m.set(LONG, StreamFrame.HEADER_LENGTH, 1);
            return f;
        }, "FIGURES of 8 bytes");
    }

    @Test
    void aLaneOrGuestThatIsNotOursIsRefusedAtOpen() throws Exception {
        FerryException e = connectTo("alice", 3, r -> new byte[0], new CompletableFuture<>());
        assertEquals(Status.PROTOCOL_VIOLATION, e.status());
        assertTrue(e.getMessage().contains("lane 3 of guest 'alice' (1 lanes)"), e.getMessage());
        e = connectTo("mallory", 0, r -> new byte[0], new CompletableFuture<>());
        assertEquals(Status.PROTOCOL_VIOLATION, e.status());
        assertTrue(e.getMessage().contains("not a lane of guest 'alice'"), e.getMessage());
    }
}
