package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.workload.VaddWorkload;
import io.ferry.cli.workload.Workload;
import io.ferry.cli.workload.WorkloadResult;
import io.ferry.cli.workload.Workloads;
import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Event;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.MapAccess;
import io.ferry.client.Mapping;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.Rect;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeSharedMemory;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.protocol.Status;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Java client over the stream transport (docs/network.md) against a real host with real PoCL devices and the
 * software TEE: the example workloads verified over loopback TCP, over mutual TLS 1.3 with a bundle the host's CA
 * issued (another guest's refused) and over the vsock Unix socket, data through staging,
 * mappings and rectangles, TEE memrefs, a refused secret, a connection silently dropped, and a connection killed under the client (a TCP relay cut
 * between client and host) that fails the next call with HOST_UNAVAILABLE, then a reconnect.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamClientIT {
    private Path dir;
    private Devices devices;
    private TeeServiceFactory tee;
    private FerryHost host;
    private byte[] secret;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-client");
        DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
        tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"),
                TeePolicy.parse("allow guest=w ta=" + BuiltinTas.HELLO + " login=public"), TeeLimits.DEFAULT);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), List.of(
                new HostConfig.GuestConfig("w", 64L << 20).withLanes(2), new HostConfig.GuestConfig("v", 4L << 20)))
                .withNet(new NetConfig(List.of(new NetConfig.Address("127.0.0.1", 0)), 0,
                        new NetConfig.Vsock(dir.resolve("v.sock"), 7072), dir.resolve("tls")));
        devices = Devices.discover(List.of());
        host = FerryHost.start(cfg, devices, tee);
        secret = host.secret("w");
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {host, devices, tee}) {
            if (c != null) {
                c.close();
            }
        }
        if (dir != null) {
            Hosts.deleteTree(dir);
        }
    }

    private URI tcp() {
        return URI.create("ferry+tcp://127.0.0.1:" + host.net().insecureAddress().getPort() + "/w");
    }

    private URI tls() {
        return URI.create("ferry+tls://127.0.0.1:" + host.net().tlsAddresses().getFirst().getPort() + "/w");
    }

    /** A bundle issued by the host's CA to {@code guest}, as 'ferry guest add GUEST --tls' writes it. */
    private Path bundle(String guest) throws IOException {
        CertificateAuthority ca = CertificateAuthority.open(dir.resolve("tls"));
        Path b = dir.resolve("bundle-" + guest + "-" + System.nanoTime());
        GuestBundle.write(b, guest, ca.issue(guest, 1), ca.certificate());
        return b;
    }

    private static void verified(Ferry ferry, Workload w) {
        WorkloadResult r = w.run(ferry, ferry.defaultDevice());
        assertTrue(r.verified(), r.humanLine("w"));
    }

    @Test
    void everyWorkloadVerifiesOverLoopbackTcp() {
        try (Ferry ferry = Ferry.connect(tcp(), secret)) {
            assertEquals("w", ferry.guest());
            long published = ferry.scheduling().updates();
            for (Workload w : Workloads.all()) {
                verified(ferry, w);
            }
            // the host's scheduling figures come over as FIGURES frames while the session lives (about every 100 ms)
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (ferry.scheduling().updates() == published && System.nanoTime() < deadline) {
                sleep(10);
            }
            assertTrue(ferry.scheduling().updates() > published, "figures published: " + ferry.scheduling());
        }
    }

    @Test
    void aWorkloadVerifiesOverTheVsockUnixSocket() {
        URI uds = URI.create("ferry+uds://" + host.net().vsockPath() + "/w");
        try (Ferry ferry = Ferry.connect(uds, secret)) {
            verified(ferry, new VaddWorkload());
        }
    }

    @Test
    void aWorkloadVerifiesOverMutualTls() throws IOException {
        try (Ferry ferry = Ferry.connect(tls(), bundle("w"))) {
            verified(ferry, new VaddWorkload());
        }
    }

    @Test
    void anotherGuestsCertificateIsRefusedWithTheHostsReason() throws IOException {
        Path other = bundle("v");
        FerryException e = assertThrows(FerryException.class, () -> Ferry.connect(tls(), other));
        assertEquals(Status.BAD_CREDENTIAL, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("the host at " + tls() + " refused guest 'w'"), e.getMessage());
    }

    @Test
    void aWrongSecretIsRefusedWithTheHostsReason() {
        FerryException e = assertThrows(FerryException.class, () -> Ferry.connect(tcp(), new byte[32]));
        assertEquals(Status.BAD_CREDENTIAL, e.status());
        assertTrue(e.getMessage().contains("the host at " + tcp() + " refused guest 'w'"), e.getMessage());
    }

    @Test
    void aBufferInTheHeapIsRefusedSayingWhatToUse() {
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             HeapBlock block = ferry.heap().allocate(4096)) {
            FerryException e = assertThrows(FerryException.class,
                    () -> ctx.createBuffer(block, DeviceBuffer.Access.READ_WRITE));
            assertEquals(Status.UNSUPPORTED, e.status());
            assertTrue(e.getMessage().contains("use createBuffer(size)"), e.getMessage());
            assertEquals(7, ferry.nop(7), "the connection goes on");
        }
    }

    @Test
    void stagingMappingsAndRectanglesMoveTheRightBytes() {
        byte[] data = new byte[256 * 1024 + 3];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(data.length)) {
            q.write(buf, 0, data);
            byte[] back = new byte[data.length];
            q.read(buf, 0, back);
            q.finish();
            assertArrayEquals(data, back, "through staging blocks, both ways");

            try (Mapping m = q.map(buf, 100, 64, MapAccess.READ_WRITE)) {
                q.finish();
                assertEquals(data[100], m.segment().get(ValueLayout.JAVA_BYTE, 0), "a mapping reads first");
                m.segment().fill((byte) 0x5a);
            }
            byte[] mapped = new byte[64];
            q.read(buf, 100, mapped);
            q.finish();
            for (byte b : mapped) {
                assertEquals((byte) 0x5a, b, "unmapping wrote the mapping back");
            }

            // A rectangle of 16 x 4 bytes read into rows 64 bytes apart: the bytes between the rows stay the guest's.
            try (HeapBlock rows = ferry.heap().allocate(256)) {
                rows.segment().fill((byte) 0x11);
                q.readRect(buf, Rect.at(1000, 0, 0), rows.segment(), Rect.at(0, 0, 64), Rect.of(16, 4));
                q.finish();
                for (int y = 0; y < 4; y++) {
                    for (int x = 0; x < 64; x++) {
                        byte want = x < 16 ? data[1000 + y * 16 + x] : 0x11;
                        assertEquals(want, rows.segment().get(ValueLayout.JAVA_BYTE, y * 64L + x),
                                "row " + y + " byte " + x);
                    }
                }
            }
        }
    }

    /**
     * A heap write larger than a piece ({@code CommandQueue.STREAM_PIECE}: it goes as several writes, each copied to
     * the device while the next travels) and not a multiple of one, at an offset, read back whole: the same bytes,
     * over plain TCP (the host reads HEAP payloads from the socket straight into the heap), TLS (it copies them) and
     * the Unix socket; and one that runs past the buffer's end is refused whole, writing nothing.
     */
    @Test
    void aProgramLargerThanARecordCarriesIsBuiltThroughTheHeap() throws IOException {
        // 300 KiB of source: more than a record (half the 256 KiB command ring) carries, so PROGRAM_CREATE_HEAP
        StringBuilder source = new StringBuilder();
        while (source.length() < 300 << 10) {
            source.append("// a long comment line, to make the source larger than a record carries ..........\n");
        }
        source.append("__kernel void seven(__global int* out) { out[get_global_id(0)] = 7 * (int) get_global_id(0); }\n");
        for (URI at : List.of(tcp(), URI.create("ferry+uds://" + host.net().vsockPath() + "/w"), URI.create("shm:local"))) {
            try (Ferry ferry = at.getScheme().equals("shm") ? Ferry.connect(host.guestSocket(), "w", secret)
                    : Ferry.connect(at, secret); Context ctx = ferry.createContext(ferry.defaultDevice());
                 CommandQueue q = ctx.createQueue(); Program p = ctx.buildProgram(source.toString());
                 Kernel k = p.kernel("seven"); DeviceBuffer out = ctx.createBuffer(64 * 4);
                 HeapBlock back = ferry.heap().allocate(64 * 4)) {
                k.arg(0, out);
                q.launch(k, NDRange.of(64)).read(out, 0, back.segment()).finish();
                for (int i = 0; i < 64; i++) {
                    assertEquals(7 * i, back.segment().getAtIndex(ValueLayout.JAVA_INT, i), at + " item " + i);
                }
            }
        }
    }

    @Test
    void aLargeHeapWriteInPiecesReadsBackTheSameBytes() throws IOException {
        long size = (9L << 20) + 12_345;
        Path bundle = bundle("w");
        URI uds = URI.create("ferry+uds://" + host.net().vsockPath() + "/w");
        for (URI at : List.of(tcp(), tls(), uds)) {
            try (Ferry ferry = at.getScheme().equals("ferry+tls") ? Ferry.connect(at, bundle) : Ferry.connect(at, secret);
                 Context ctx = ferry.createContext(ferry.defaultDevice());
                 CommandQueue q = ctx.createQueue();
                 DeviceBuffer buf = ctx.createBuffer(size + 4096);
                 HeapBlock out = ferry.heap().allocate(size);
                 HeapBlock back = ferry.heap().allocate(size)) {
                for (long i = 0; i < size; i += 8) {
                    out.segment().set(ValueLayout.JAVA_LONG_UNALIGNED, Math.min(i, size - 8), i * 0x9e3779b97f4a7c15L);
                }
                back.segment().fill((byte) 0);
                q.write(buf, 4096, out.segment()).read(buf, 4096, back.segment()).finish();
                long differs = out.segment().mismatch(back.segment());
                assertEquals(-1, differs, at.getScheme() + ": the first byte that differs");
                // past the buffer's end: refused whole, nothing of it written
                back.segment().fill((byte) 0x3c);
                q.write(buf, 8192, back.segment());
                FerryException e = assertThrows(FerryException.class, q::finish);
                assertEquals(Status.OUT_OF_RANGE, e.status(), e.getMessage());
                q.read(buf, 4096, back.segment()).finish();
                assertEquals(-1, out.segment().mismatch(back.segment()), at.getScheme() + ": a refused write wrote");
            }
        }
    }

    @Test
    void aReadIsValidAtItsEventAtALaterEventOfItsQueueAndOnceItsStatusIsComplete() {
        byte[] data = new byte[64 * 1024];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 13 + 1);
        }
        MemorySegment want = MemorySegment.ofArray(data);
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(data.length);
             HeapBlock a = ferry.heap().allocate(data.length);
             HeapBlock b = ferry.heap().allocate(data.length);
             HeapBlock c = ferry.heap().allocate(data.length)) {
            q.write(buf, 0, data);
            try (Event e = q.readWithEvent(buf, 0, a.segment())) {
                e.await();
                assertEquals(-1L, a.segment().mismatch(want), "at its own event");
            }
            q.read(buf, 0, b.segment());
            try (Event marker = q.marker()) {
                marker.await();
                assertEquals(-1L, b.segment().mismatch(want), "at a later event of its in-order queue");
            }
            try (Event e = q.readWithEvent(buf, 0, c.segment())) {
                while (e.status() != Event.ExecutionStatus.COMPLETE) {
                    sleep(1);
                }
                assertEquals(-1L, c.segment().mismatch(want), "once its status is COMPLETE");
            }
            q.finish();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void teeMemrefsTravelBothWays() {
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             TeeContext ctx = ferry.tee();
             TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             TeeSharedMemory shm = ctx.allocateSharedMemory(128, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(40);
            for (int i = 0; i < 40; i++) {
                in.set(ValueLayout.JAVA_BYTE, i, (byte) (i + 1));
            }
            MemorySegment out = arena.allocate(40);
            s.invoke(BuiltinTas.HELLO_ECHO, TeeOperation.of(TeeParam.input(in), TeeParam.output(out)));
            assertEquals(-1L, in.mismatch(out), "temporary memrefs: in to the TA, out back");

            shm.segment().fill((byte) 0);
            s.invoke(BuiltinTas.HELLO_FILL, TeeOperation.of(TeeParam.valueInput(9, 0),
                    TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, shm, 32, 64)));
            for (int i = 0; i < 128; i++) {
                assertEquals(i >= 32 && i < 96 ? 9 : 0, shm.segment().get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
            for (int i = 0; i < 16; i++) {
                shm.segment().set(ValueLayout.JAVA_BYTE, i, (byte) (i * 17 + 3));
            }
            long words = shm.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 0)
                    + shm.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 8);
            TeeOperation sum = TeeOperation.of(TeeParam.partial(TeeParam.MEMREF_PARTIAL_INPUT, shm, 0, 16),
                    TeeParam.valueOutput());
            s.invoke(BuiltinTas.HELLO_CHECKSUM, sum);
            assertEquals((int) (words ^ (words >>> 32)), sum.value(1).a(), "registered memory reaches the TA");
            assertEquals(16, sum.value(1).b());
        }
    }

    /**
     * A calling thread reads the host's answers itself (docs/network.md, "Who reads"); being interrupted, again and
     * again while it waits, must not close the connection (a socket channel's read would): over plain TCP, the vsock
     * Unix socket and TLS (from a platform thread, and over TLS from a virtual thread too, which leaves reading and
     * sending to the library's threads), every call of the interrupted thread answers and the connection serves
     * afterwards.
     */
    @Test
    void interruptingACallerDoesNotCloseTheConnection() throws Exception {
        URI uds = URI.create("ferry+uds://" + host.net().vsockPath() + "/w");
        Path bundle = bundle("w");
        boolean virtualDone = false;
        for (URI uri : java.util.List.of(tcp(), uds, tls(), tls())) {
            boolean virtual = uri.getScheme().equals("ferry+tls") && !virtualDone; // TLS: a virtual thread's turn too
            virtualDone |= virtual;
            try (Ferry ferry = uri.getScheme().equals("ferry+tls") ? Ferry.connect(uri, bundle)
                    : Ferry.connect(uri, secret)) {
                java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
                java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
                Thread caller = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                    try {
                        for (int i = 0; i < 3_000; i++) {
                            if (ferry.nop(i) == i) {
                                answered.incrementAndGet();
                            }
                        }
                    } catch (Throwable t) {
                        failed.set(t);
                    }
                });
                while (caller.isAlive()) {
                    caller.interrupt();
                    Thread.sleep(0, 200_000);
                }
                assertEquals(null, failed.get(), uri + ": the interrupted caller's calls failed");
                assertEquals(3_000, answered.get(), uri.toString());
                assertEquals(7, ferry.nop(7), uri + ": the connection serves after the interrupts");
            }
        }
    }

    /**
     * A network that stops delivering without a reset (no FIN, no RST: the relay drops every byte): the mirrored host
     * heartbeat stands still, and the waiting call fails with HOST_UNAVAILABLE about a second after the last WORDS
     * frame (the Channel's own heartbeat check, as on shared memory), long before the 10 s silence limit closes the
     * socket; then a reconnect works. The time it took is printed, not asserted.
     */
    @Test
    void aSilentlyDroppedConnectionFailsTheWaitingCallThenReconnects() throws IOException {
        dropThenReconnect(TcpRelay::freeze, (via, e) -> {
            assertEquals(Status.HOST_UNAVAILABLE, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("heartbeat"), "the heartbeat check, not the socket: " + e.getMessage());
        });
    }

    /**
     * {@link Ferry#reconnect()}, again while the host has not yet freed the lost connection's lane (QUOTA_EXCEEDED:
     * all lanes busy), as an application would; at most 30 s.
     */
    private static Ferry reconnect(Ferry lost) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                return lost.reconnect();
            } catch (FerryException e) {
                if (e.status() != Status.QUOTA_EXCEEDED || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aKilledConnectionFailsTheNextCallThenReconnects() throws IOException {
        dropThenReconnect(TcpRelay::cut, (via, e) -> {
            assertEquals(Status.HOST_UNAVAILABLE, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains(via.toString()), e.getMessage());
        });
    }

    private interface Drop {
        void apply(TcpRelay relay) throws IOException;
    }

    /**
     * Connects through a relay, drops the connection with {@code drop}, checks the failed call with {@code failed},
     * checks that every later call fails too, then reconnects and verifies vadd. How long the failing call took is
     * printed, not asserted.
     */
    private void dropThenReconnect(Drop drop, java.util.function.BiConsumer<URI, FerryException> failed)
            throws IOException {
        try (TcpRelay relay = new TcpRelay(host.net().insecureAddress())) {
            URI via = URI.create("ferry+tcp://127.0.0.1:" + relay.port() + "/w");
            Ferry ferry = Ferry.connect(via, secret);
            Ferry again = null;
            try {
                assertEquals(1, ferry.nop(1));
                drop.apply(relay);
                long start = System.nanoTime();
                FerryException e = assertThrows(FerryException.class, () -> ferry.nop(2));
                System.out.println("dropped connection: the waiting call failed after "
                        + (System.nanoTime() - start) / 1_000_000 + " ms: " + e.getMessage());
                failed.accept(via, e);
                FerryException later = assertThrows(FerryException.class, () -> ferry.nopOneWay(3));
                assertEquals(Status.HOST_UNAVAILABLE, later.status(), "every later call: " + later.getMessage());

                again = reconnect(ferry);
                assertEquals(4, again.nop(4));
                verified(again, new VaddWorkload());
            } finally {
                ferry.close();
                if (again != null) {
                    again.close();
                }
            }
        }
    }
}
