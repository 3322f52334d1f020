package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.NetCounters;
import io.ferry.protocol.StreamFrame;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The stream transport's slow paths with the real Java client against a real host with PoCL (docs/network.md,
 * "Bounds and back-pressure"): a session that stops consuming (its device worker waits in a FINISH behind a
 * long-running kernel) while the client floods one-way calls, so the lane's command ring fills and the host's
 * connection stops reading: the proxy keeps the lane's heartbeat going for the client meanwhile (the session
 * survives), the host's buffers stay within their bounds, and every call completes correctly afterwards. And a
 * client that stops reading while the host has a large read for it: bounded host memory, and the connection ends
 * with the reason; and a read on one queue made certain by another queue's completion. No timing is asserted; the kernel is sized (by a first run) to outlast the host's 3 s heartbeat
 * limit, so that a proxy that did not beat for the client would end the session.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamStallIT {
    private static final String SPIN = """
            __kernel void spin(__global uint* out, const ulong n) {
                uint x = get_global_id(0) + 1;
                for (ulong i = 0; i < n; i++) {
                    x = x * 1664525u + 1013904223u;
                }
                out[get_global_id(0)] = x;
            }
            """;
    /** How long the stalling kernel should run: past the host's heartbeat limit (3 s) with room. */
    private static final long SPIN_NANOS = 6_000_000_000L;

    /** Held: the log manager keeps loggers weakly. */
    private static final java.util.logging.Logger AUDIT = java.util.logging.Logger.getLogger("ferry.audit");
    private final List<String> ended = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.logging.Handler log = new java.util.logging.Handler() {
        @Override
        public void publish(java.util.logging.LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains("stream connection")) {
                ended.add(r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private Path dir;
    private Devices devices;
    private FerryHost host;
    private byte[] secret;

    @BeforeAll
    void start() throws Exception {
        AUDIT.addHandler(log);
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-stall");
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), List.of(
                new HostConfig.GuestConfig("s", 160L << 20).withScheduling(io.ferry.host.sched.SchedClass.NORMAL, 1,
                        null, 60_000_000_000L))) // the stalling kernel runs past the default overrun limit (2 s)
                .withNet(new NetConfig(List.of(), 0, null, null));
        devices = Devices.discover(List.of());
        host = FerryHost.start(cfg, devices, null);
        secret = host.secret("s");
    }

    @AfterAll
    void stop() throws Exception {
        AUDIT.removeHandler(log);
        for (AutoCloseable c : new AutoCloseable[] {host, devices}) {
            if (c != null) {
                c.close();
            }
        }
        if (dir != null) {
            Hosts.deleteTree(dir);
        }
    }

    private URI tcp() {
        return URI.create("ferry+tcp://127.0.0.1:" + host.net().insecureAddress().getPort() + "/s");
    }

    private static URI via(TcpRelay relay) {
        return URI.create("ferry+tcp://127.0.0.1:" + relay.port() + "/s");
    }

    /** The bounds docs/network.md states for what one connection holds buffered. */
    private static void withinBounds(NetCounters.Figures f) {
        long inbound = StreamFrame.HEADER_LENGTH + StreamFrame.MAX_PAYLOAD + 4 * 65536L;
        long outbound = 1024 * 1024 + 2L * (StreamFrame.HEADER_LENGTH + StreamFrame.MAX_PAYLOAD);
        assertTrue(f.maxInboundBytes() <= inbound, "read buffer grew to " + f.maxInboundBytes() + " bytes: " + f);
        assertTrue(f.maxOutboundBytes() <= outbound, "queued writes grew to " + f.maxOutboundBytes() + " bytes: " + f);
        assertEquals(0, f.internalErrors(), f.toString());
    }

    /** Iterations of the spin kernel that take about {@link #SPIN_NANOS} here (measured by a short run). */
    private static long calibrate(CommandQueue q, Kernel k) {
        long probe = 50_000_000L;
        k.arg(1, probe);
        q.launch(k, NDRange.of(1)); // the first launch builds the kernel for the device: not measured
        q.finish();
        long t0 = System.nanoTime();
        q.launch(k, NDRange.of(1));
        q.finish();
        long took = Math.max(1, System.nanoTime() - t0);
        return Math.min(40_000_000_000L, Math.max(probe, (long) (probe * (double) SPIN_NANOS / took)));
    }

    @Test
    void aSessionThatStopsConsumingStallsTheConnectionWithTheHeartbeatKeptAndEverythingCompletes() throws Exception {
        int calls = 6_000;
        int ints = 16;
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q1 = ctx.createQueue();
             CommandQueue q2 = ctx.createQueue();
             Program p = ctx.buildProgram(SPIN);
             Kernel k = p.kernel("spin");
             DeviceBuffer out = ctx.createBuffer(4);
             DeviceBuffer data = ctx.createBuffer(4L * ints * calls)) {
            k.arg(0, out);
            long n = calibrate(q1, k);
            k.arg(1, n);
            NetCounters.Figures before = host.net().counters().figures();
            q1.launch(k, NDRange.of(1));
            AtomicReference<Throwable> finished = new AtomicReference<>();
            Thread finisher = Thread.ofPlatform().start(() -> {
                try {
                    q1.finish(); // the device worker waits in it for the kernel: the session consumes nothing more
                } catch (Throwable t) {
                    finished.set(t);
                }
            });
            // the FINISH is in the host's command ring before the flood (the records counter says so)
            for (int i = 0; i < 20_000 && host.net().counters().figures().records() < before.records() + 2; i++) {
                Thread.sleep(1);
            }
            assertTrue(host.net().counters().figures().records() >= before.records() + 2, "the FINISH never went up");
            int[] chunk = new int[ints];
            for (int i = 0; i < calls; i++) {
                for (int j = 0; j < ints; j++) {
                    chunk[j] = i * 31 + j;
                }
                q2.write(data, 4L * ints * i, chunk); // one-way, behind the FINISH
            }
            finisher.join();
            assertNull(finished.get(), () -> "the FINISH behind the long kernel failed: " + finished.get());
            q2.finish();
            int[] back = new int[ints * calls];
            q2.read(data, 0, back);
            q2.finish();
            for (int i = 0; i < calls; i++) {
                for (int j = 0; j < ints; j++) {
                    assertEquals(i * 31 + j, back[i * ints + j], "call " + i + " word " + j);
                }
            }
            NetCounters.Figures f = host.net().counters().figures();
            assertTrue(f.stalls() > before.stalls(), "the command ring never filled: " + f);
            withinBounds(f);
            // the same session goes on
            assertEquals(7, ferry.nop(7));
        }
    }

    @Test
    void aClientThatStopsReadingALargeReadEndsWithTheReasonAndHostMemoryBounded() throws Exception {
        long size = 64L << 20;
        try (TcpRelay relay = new TcpRelay(host.net().insecureAddress());
             Ferry ferry = Ferry.connect(via(relay), secret)) {
            // not closed one by one: the connection is gone by the end, and with it the session's objects
            Context ctx = ferry.createContext(ferry.defaultDevice());
            CommandQueue q = ctx.createQueue();
            DeviceBuffer buf = ctx.createBuffer(size);
            HeapBlock dst = ferry.heap().allocate(size);
            q.fill(buf, java.lang.foreign.MemorySegment.ofArray(new byte[] {7}), 0, size);
            q.finish();
            int seen = ended.size();
            relay.stopReadingHost(); // the client's bytes still reach the host; the host's wait in its buffers
            q.read(buf, 0, dst.segment());
            // nothing of the host reaches the client any more, its heartbeat included: the client gives up
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(io.ferry.protocol.Status.HOST_UNAVAILABLE, e.status(), e.getMessage());
            withinBounds(host.net().counters().figures()); // the host held at most its bounds meanwhile
            ferry.close();
            // the host sees the connection end and says so (hang guard 60 s: its idle limit is 10 s)
            // a snapshot each time (stream() of the copy-on-write list): the host's thread adds lines meanwhile
            for (int i = 0; i < 6_000 && ended.stream().skip(seen).noneMatch(l -> l.contains(" ended: ")); i++) {
                Thread.sleep(10);
            }
            List<String> lines = ended.stream().skip(seen).toList();
            assertTrue(lines.stream().anyMatch(l -> l.contains(" ended: ")), "the host never ended it: " + lines);
            NetCounters.Figures f = host.net().counters().figures();
            withinBounds(f);
            assertTrue(f.maxOutboundBytes() >= 512 * 1024, "the host never had much waiting for the client: " + f);
        }
        // the lane comes back for the next connection
        try (Ferry again = reconnectable()) {
            assertEquals(3, again.nop(3));
        }
    }

    /**
     * A one-way read on queue A whose completion the program learns only through queue B: waiting on B's marker
     * that waited for the read's event, and B's FINISH after a barrier that did. The read's bytes are in the
     * client's heap at that point (docs/network.md, "Heap bytes": wait lists are followed).
     */
    @Test
    void aReadOnOneQueueIsValidOnceAnotherQueueSynchronisedOnIt() {
        byte[] data = new byte[64 * 1024];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7 + 3);
        }
        java.lang.foreign.MemorySegment want = java.lang.foreign.MemorySegment.ofArray(data);
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue qa = ctx.createQueue();
             CommandQueue qb = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(data.length);
             HeapBlock a = ferry.heap().allocate(data.length);
             HeapBlock b = ferry.heap().allocate(data.length)) {
            qa.write(buf, 0, data);
            qa.finish();
            try (io.ferry.client.Event read = qa.readWithEvent(buf, 0, a.segment());
                 io.ferry.client.Event marker = qb.marker(read)) {
                marker.await();
                assertEquals(-1L, a.segment().mismatch(want), "at B's marker that waited for A's read");
            }
            try (io.ferry.client.Event read = qa.readWithEvent(buf, 0, b.segment());
                 io.ferry.client.Event barrier = qb.barrier(read)) {
                qb.finish();
                assertEquals(-1L, b.segment().mismatch(want), "at B's FINISH after a barrier that waited for it");
            }
            qa.finish();
        }
    }

    /**
     * A FINISH after the user event that gated a command was set waits for that command: the host had only enqueued
     * it (it could not finish a queue that waits for the guest), and once the gate is open FINISH must finish the
     * queue for real, not return while the command still runs (the ICD's events_test saw this as a gated write not
     * yet complete after clFinish). The gated command is a kernel that runs about a second, so a FINISH that did not
     * wait would leave it running.
     */
    @Test
    void aFinishAfterTheUserEventIsSetWaitsForTheCommandItGated() {
        try (Ferry ferry = Ferry.connect(tcp(), secret);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SPIN);
             Kernel k = p.kernel("spin");
             DeviceBuffer out = ctx.createBuffer(4);
             io.ferry.client.UserEvent gate = ctx.createUserEvent()) {
            k.arg(0, out);
            k.arg(1, Math.max(1, calibrate(q, k) / 6));
            try (io.ferry.client.Event run = q.launchWithEvent(k, NDRange.of(1), null, gate)) {
                gate.complete();
                q.finish();
                assertEquals(io.ferry.client.Event.ExecutionStatus.COMPLETE, run.status(),
                        "the gated kernel after FINISH");
            }
        }
    }

    private Ferry reconnectable() throws InterruptedException {
        for (int i = 0; ; i++) {
            try {
                return Ferry.connect(tcp(), secret);
            } catch (FerryException e) {
                if (i > 300) {
                    throw e;
                }
                Thread.sleep(100); // the old connection is still leaving its lane
            }
        }
    }
}
