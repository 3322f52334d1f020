package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stream transport's host side against a real host (in this JVM, no devices: the regions, lanes and sessions
 * are the real ones) over real sockets: the handshake and its refusals, a session's calls, the lane freed when a
 * connection dies, and the vsock Unix socket.
 */
class StreamHostTest {
    Path dir;
    FerryHost host;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-");
        host = start(dir, 1);
    }

    static FerryHost start(Path dir, int lanes) throws IOException {
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 4L << 20).withLanes(lanes),
                new HostConfig.GuestConfig("bob", 4L << 20)))
                .withNet(new NetConfig(List.of(), 0, new NetConfig.Vsock(dir.resolve("v.sock"), 7072)));
        return FerryHost.start(cfg, null, Devices.of(List.of(), List.of()), null);
    }

    @AfterEach
    void stop() throws IOException {
        if (host != null) {
            host.close();
        }
        clean(dir);
    }

    static void clean(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolveSibling(dir.getFileName() + ".sock"));
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    StreamClient client() throws IOException {
        return StreamClient.tcp(host.net().insecureAddress());
    }

    @Test
    void aGuestOpensALaneSaysHelloAndGetsItsNopBack() throws Exception {
        try (StreamClient c = client()) {
            StreamClient.Frame f = c.open("alice", host.secret("alice"));
            assertEquals(StreamFrame.OPENED, f.type(), () -> "got " + StreamClient.closed(f));
            assertEquals(0, c.lane);
            assertEquals("alice", c.guestName());
            StreamClient.Completion hello = c.connect();
            assertEquals(Status.OK.code(), hello.status(), hello.text());
            // the session watches the host's own process, never the remote pid HELLO carried (4242)
            assertEquals(ProcessHandle.current().pid(), host.guests().stream()
                    .filter(v -> v.name().equals("alice")).findFirst().orElseThrow().pid());
            StreamClient.Completion nop = c.nop(0x1234_5678_9abcL);
            assertEquals(Op.NOP.code(), nop.op());
            assertEquals(0x1234_5678_9abcL, nop.r0());
            // the host's heartbeat travels as WORDS: the keep-alive
            long beat = c.hostWords.getOrDefault(264, 0L);
            while (c.hostWords.getOrDefault(264, 0L) == beat) {
                c.take(c.read());
            }
            MemorySegment bye = c.record(Op.GOODBYE, true, null);
            StreamClient.Completion done = c.call(bye);
            assertNotNull(done);
        }
    }

    /**
     * HEAP frames cut anywhere by the network (seeded cuts, some a byte long, some with a pause so that the host reads
     * a frame in pieces): every byte lands where its frame says, in the lane's heap, whether the frame arrived whole
     * or its payload went to the heap piece by piece as it arrived. Over TCP and over the Unix socket.
     */
    @Test
    void heapBytesLandWhereverTheStreamIsCut() throws Exception {
        for (boolean unix : new boolean[] {false, true}) {
            String guest = unix ? "bob" : "alice";
            try (StreamClient c = unix ? StreamClient.unix(host.net().vsockPath()) : client();
                 io.ferry.channel.Region r = io.ferry.channel.Region.open(host.net().guests().find(guest).region().path())) {
                assertEquals(StreamFrame.OPENED, c.open(guest, host.secret(guest)).type());
                MemorySegment heap = r.lane(c.lane).heap();
                java.util.Random rnd = new java.util.Random(unix ? 11 : 7);
                byte[] expected = new byte[(int) Math.min(heap.byteSize(), 3L << 20)];
                java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < 40; i++) {
                    int n = 1 + (i % 3 == 0 ? rnd.nextInt(64) : rnd.nextInt(StreamFrame.MAX_CHUNK));
                    int at = rnd.nextInt(expected.length - n + 1);
                    byte[] data = new byte[n];
                    rnd.nextBytes(data);
                    System.arraycopy(data, 0, expected, at, n);
                    java.nio.ByteBuffer f = java.nio.ByteBuffer.allocate(16 + n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    f.putInt(16 + n).putShort((short) StreamFrame.HEAP).putShort((short) 0).putLong(at).put(data);
                    wire.writeBytes(f.array());
                }
                byte[] all = wire.toByteArray();
                for (int done = 0; done < all.length; ) {
                    int cut = Math.min(all.length - done, rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(16)
                            : 1 + rnd.nextInt(300_000));
                    c.raw(java.util.Arrays.copyOfRange(all, done, done + cut));
                    if (rnd.nextInt(8) == 0) {
                        Thread.sleep(2);
                    }
                    done += cut;
                }
                assertEquals(Status.OK.code(), c.connect().status(), "the frames before it were all taken");
                byte[] got = heap.asSlice(0, expected.length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                // bytes no frame wrote are whatever the heap held: compare only those the frames wrote
                java.util.BitSet written = new java.util.BitSet();
                rnd = new java.util.Random(unix ? 11 : 7);
                for (int i = 0; i < 40; i++) {
                    int n = 1 + (i % 3 == 0 ? rnd.nextInt(64) : rnd.nextInt(StreamFrame.MAX_CHUNK));
                    int at = rnd.nextInt(expected.length - n + 1);
                    rnd.nextBytes(new byte[n]);
                    written.set(at, at + n);
                }
                for (int i = written.nextSetBit(0); i >= 0; i = written.nextSetBit(i + 1)) {
                    if (got[i] != expected[i]) {
                        throw new AssertionError((unix ? "unix" : "tcp") + ": heap byte " + i + " is " + got[i]
                                + ", its frame wrote " + expected[i]);
                    }
                }
            }
        }
    }

    @Test
    void theVsockUnixSocketServesTheSameWay() throws Exception {
        Path sock = host.net().vsockPath();
        assertEquals(dir.resolve("v.sock_7072"), sock);
        try (StreamClient c = StreamClient.unix(sock)) {
            assertEquals(StreamFrame.OPENED, c.open("bob", host.secret("bob")).type());
            assertEquals(Status.OK.code(), c.connect().status());
            assertEquals(7, c.nop(7).r0());
        }
    }

    @Test
    void refusalsSayWhatWasWrong() throws Exception {
        byte[] secret = host.secret("alice");
        assertRefused(c -> c.open("mallory", secret), Status.BAD_CREDENTIAL, "no guest 'mallory' with that secret");
        assertRefused(c -> c.open("alice", host.secret("bob")), Status.BAD_CREDENTIAL, "with that secret");
        assertRefused(c -> c.open("alice", null), Status.BAD_CREDENTIAL, "must carry guest 'alice''s secret");
        assertRefused(c -> {
            c.frame(StreamFrame.OPEN, 0, StreamClient.openPayload(0x1234, StreamFrame.VERSION, "alice", secret));
            return c.read();
        }, Status.PROTOCOL_VIOLATION, "magic");
        assertRefused(c -> {
            c.frame(StreamFrame.OPEN, 0, StreamClient.openPayload(StreamFrame.OPEN_MAGIC, 99, "alice", secret));
            return c.read();
        }, Status.PROTOCOL_VIOLATION, "version");
        assertRefused(c -> {
            c.frame(StreamFrame.RECORD, 0, new byte[32]);
            return c.read();
        }, Status.PROTOCOL_VIOLATION, "before OPEN");
        assertRefused(c -> {
            c.raw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 1, 0, 0, 0});
            return c.read();
        }, Status.PROTOCOL_VIOLATION, "frame length");
        // a well-behaved guest is served after all of that
        try (StreamClient c = client()) {
            assertEquals(StreamFrame.OPENED, c.open("alice", secret).type());
            assertEquals(Status.OK.code(), c.connect().status());
        }
    }

    @Test
    void aHeapResidentBufferIsRefusedWithTheReason() throws Exception {
        try (StreamClient c = client()) {
            c.open("alice", host.secret("alice"));
            c.connect();
            MemorySegment rec = c.record(Op.BUFFER_CREATE, false, null);
            new io.ferry.protocol.CallRecord().wrap(rec, 0).arg(0, 5).arg(1, 1).arg(2, 4096).arg(4, 0);
            c.send(rec);
            StreamFrame.Closed closed = c.awaitClosed();
            assertNotNull(closed);
            assertEquals(Status.UNSUPPORTED.code(), closed.status());
            assertTrue(closed.reason().contains("not supported over a stream"), closed.reason());
        }
    }

    @Test
    void aKilledConnectionFreesTheLaneForTheNextOne() throws Exception {
        byte[] secret = host.secret("alice");
        StreamClient first = client();
        assertEquals(StreamFrame.OPENED, first.open("alice", secret).type());
        assertEquals(Status.OK.code(), first.connect().status());
        try (StreamClient second = client()) { // alice has one lane, held by the first connection
            StreamFrame.Closed busy = StreamClient.closed(second.open("alice", secret));
            assertNotNull(busy);
            assertEquals(Status.QUOTA_EXCEEDED.code(), busy.status());
            assertTrue(busy.reason().contains("busy"), busy.reason());
        }
        first.kill();
        assertTrue(awaitOpened("alice", secret), "the lane was never freed after the connection died");
    }

    @Test
    void silentConnectionsAreClosedAndLeaveNothingHeld() throws Exception {
        byte[] secret = host.secret("alice");
        try (StreamClient c = client()) { // not a single frame: closed at the idle limit
            StreamFrame.Closed closed = c.awaitClosed();
            assertNotNull(closed);
            assertEquals(Status.TIMEOUT.code(), closed.status());
            assertTrue(closed.reason().contains("no frame from the client for " + NetServer.IDLE_SECONDS + " s"),
                    closed.reason());
        }
        try (StreamClient c = client()) { // a lane, then nothing: the host frees the claim that brings no session
            assertEquals(StreamFrame.OPENED, c.open("alice", secret).type());
            StreamFrame.Closed closed = c.awaitClosed();
            assertNotNull(closed);
            assertEquals(Status.SESSION_CLOSED.code(), closed.status());
            assertTrue(closed.reason().contains("the host freed the lane"), closed.reason());
        }
        assertTrue(awaitOpened("alice", secret));
    }

    @Test
    void theVsockPathIsReplacedWhenItIsAStaleSocketAndRefusedWhenItIsAFile() throws Exception {
        Path file = dir.resolve("plain.sock_9");
        Files.writeString(file, "not a socket");
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> NetServer.start(new NetConfig(List.of(), NetConfig.OFF,
                        new NetConfig.Vsock(dir.resolve("plain.sock"), 9)), name -> null));
        assertTrue(e.getMessage().contains("exists and is not a socket"), e.getMessage());
        Path stale = dir.resolve("stale.sock_9");
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(stale)); // closed below: the file stays, as after a crash
        }
        try (NetServer s = NetServer.start(new NetConfig(List.of(), NetConfig.OFF,
                new NetConfig.Vsock(dir.resolve("stale.sock"), 9)), name -> null)) {
            assertEquals(stale, s.vsockPath());
        }
        assertTrue(!Files.exists(stale), "the host removes its vsock socket when it stops listening");
    }

    /** Opens connections until one gets a lane (the previous holder's leaving is asynchronous); a hang guard. */
    boolean awaitOpened(String guest, byte[] secret) throws Exception {
        for (int i = 0; i < 300; i++) {
            try (StreamClient c = client()) {
                StreamClient.Frame f = c.open(guest, secret);
                if (f != null && f.type() == StreamFrame.OPENED) {
                    assertEquals(Status.OK.code(), c.connect().status());
                    assertEquals(99, c.nop(99).r0());
                    return true;
                }
                assertEquals(Status.QUOTA_EXCEEDED.code(), StreamClient.closed(f).status());
            }
            Thread.sleep(100);
        }
        return false;
    }

    interface Attempt {
        StreamClient.Frame run(StreamClient c) throws Exception;
    }

    private void assertRefused(Attempt a, Status status, String says) throws Exception {
        try (StreamClient c = client()) {
            StreamClient.Frame f = a.run(c);
            StreamFrame.Closed closed = StreamClient.closed(f);
            assertNotNull(closed, "expected CLOSED, got " + (f == null ? "end of stream" : "frame type " + f.type()));
            assertEquals(status.code(), closed.status(), closed.reason());
            assertTrue(closed.reason().contains(says), closed.reason());
            assertNull(c.read(), "the host closes after CLOSED");
        }
    }
}
