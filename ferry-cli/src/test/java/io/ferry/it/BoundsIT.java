package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.admin.StatusJson;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every guest resource has a bound (issue 11, items 3 and 10a/10e): a flood of one-way calls is refused over the
 * session's {@code oneWayOutstanding} quota and host memory stays bounded while a bystander keeps verifying; the
 * commands-in-flight quota counts the whole session; idle admin connections do not keep {@code status} from others.
 */
class BoundsIT {
    static final String SCALE = "__kernel void scale(__global float* a, float f) {"
            + " size_t i = get_global_id(0); a[i] = a[i] * f; }";
    /** Calls in the big flood: with the host's old per-call bookkeeping (about 50 bytes each), over 100 MiB. */
    static final int FLOOD = 2_500_000;

    static Hosts hosts;

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(
                Hosts.guest("flood", null, Quotas.DEFAULT),
                Hosts.guest("small", null, new Quotas(1L << 30, 4096, 4096, 1000)),
                Hosts.guest("inflight", null, new Quotas(1L << 30, 4096, 4)),
                Hosts.guest("bystander", null, Quotas.DEFAULT)),
                // FIFO: commands pile up on queues until finish (Ferry's scheduler runs each to completion)
                HostConfig.Policy.FIFO);
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    static long heapAfterGc() {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** Waits until the host has read {@code calls} calls of {@code guest}'s session. */
    static void awaitCalls(String guest, long calls) throws InterruptedException {
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (hosts.view(guest).calls() < calls) {
            assertTrue(System.nanoTime() < deadline, "the host did not read the flood: " + hosts.view(guest));
            Thread.sleep(20);
        }
    }

    @Test
    void aFloodOfOneWayCallsIsRefusedOverTheQuotaAndHostMemoryStaysBounded() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong verified = new AtomicLong();
        AtomicReference<Throwable> bystanderFailed = new AtomicReference<>();
        Thread bystander = Thread.ofPlatform().name("bounds-bystander").start(() -> {
            try {
                io.ferry.bench.ChaosBench.verifyLoop(hosts.connect("bystander"), stop, verified);
            } catch (Throwable e) {
                bystanderFailed.set(e);
            }
        });
        try (Ferry ferry = hosts.connect("flood");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SCALE);
             Kernel k = p.kernel("scale");
             DeviceBuffer a = ctx.createBuffer(4096)) {
            q.finish();
            long verifiedBefore = verified.get();
            long before = heapAfterGc();
            long calls = hosts.view("flood").calls();
            for (int i = 0; i < FLOOD; i += 4) { // no synchronous call: all outstanding
                k.arg(1, 2.0f);
                k.arg(0, a);
                k.arg(1, 0.5f);
                q.hint(i & 7, null);
            }
            q.flush();
            awaitCalls("flood", calls + FLOOD);
            long grown = heapAfterGc() - before;
            System.out.println("BoundsIT: heap growth over a flood of " + FLOOD + " one-way calls: "
                    + (grown >> 10) + " KiB");
            assertTrue(grown < 64L << 20, "host heap grew by " + (grown >> 20) + " MiB over a flood of " + FLOOD
                    + " one-way calls");

            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertEquals(Op.KERNEL_ARG_VALUE, e.failedCall().op()); // call 65537 of the flood: 1 mod 4
            String m = e.getMessage();
            assertTrue(m.contains("one-way calls outstanding: 65537"), m);
            assertTrue(m.contains("session quota of 65536"), m);
            assertTrue(m.contains("quotas.oneWayOutstanding"), m);
            assertTrue(m.contains((FLOOD - 65536) + " one-way calls refused in all"), m);

            // The session goes on: the count starts again after the synchronous call.
            try (HeapBlock h = ferry.heap().allocate(4096)) {
                for (int i = 0; i < 1024; i++) {
                    h.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
                }
                k.arg(0, a).arg(1, 3.0f);
                q.write(a, 0, h.segment()).launch(k, NDRange.of(1024)).read(a, 0, h.segment()).finish();
                for (int i = 0; i < 1024; i++) {
                    assertEquals(3.0f * i, h.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i));
                }
            }
            // The bystander verified work while the flood was served, and after.
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (verified.get() < verifiedBefore + 3 && bystanderFailed.get() == null
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } finally {
            stop.set(true);
            bystander.join(30_000);
        }
        if (bystanderFailed.get() != null) {
            throw new AssertionError("the bystander failed", bystanderFailed.get());
        }
        assertTrue(verified.get() >= 3, "bystander verified " + verified.get());
    }

    @Test
    void theOneWayQuotaNamesTheFiguresAndCountsFromTheLastSynchronousCall() {
        try (Ferry ferry = hosts.connect("small");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(SCALE);
             Kernel k = p.kernel("scale")) {
            q.finish();
            for (int round = 0; round < 3; round++) { // 900 at a time, each drained by a finish: within the quota
                for (int i = 0; i < 900; i++) {
                    k.arg(1, (float) i);
                }
                q.finish();
            }
            for (int i = 0; i < 1500; i++) {
                k.arg(1, (float) i);
            }
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertEquals(Op.KERNEL_ARG_VALUE, e.failedCall().op());
            String m = e.getMessage();
            assertTrue(m.contains("one-way calls outstanding: 1001 since the last synchronous call, over the "
                    + "session quota of 1000"), m);
            assertTrue(m.contains("500 one-way calls refused in all"), m);
            for (int i = 0; i < 1000; i++) {
                k.arg(1, (float) i);
            }
            q.finish(); // exactly the quota: fine
        }
    }

    @Test
    void commandsInFlightIsAQuotaOfTheSessionNotOfEachQueue() {
        try (Ferry ferry = hosts.connect("inflight");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q1 = ctx.createQueue();
             CommandQueue q2 = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             HeapBlock h = ferry.heap().allocate(64)) {
            q1.write(a, 0, h.segment()).write(a, 0, h.segment());
            q2.write(a, 0, h.segment()).write(a, 0, h.segment());
            q2.write(a, 0, h.segment()); // the fifth of the session (third of q2): over the quota of 4
            FerryException e = assertThrows(FerryException.class, q2::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertEquals(Op.BUFFER_WRITE, e.failedCall().op());
            String m = e.getMessage();
            assertTrue(m.contains("commands-in-flight quota"), m);
            assertTrue(m.contains("the session holds 4 device commands"), m);
            assertTrue(m.contains("(2 on queue "), m);
            assertTrue(m.contains("the limit is 4 per session"), m);
            q1.finish();
            // Both drained: four again, over two queues.
            q1.write(a, 0, h.segment()).write(a, 0, h.segment());
            q2.write(a, 0, h.segment()).write(a, 0, h.segment());
            q1.finish();
            q2.finish();
            assertEquals(0, hosts.view("inflight").commandsInFlight());
        }
    }

    @Test
    void aKernelNameOverTheLimitIsRefusedNamingTheLimit() {
        try (Ferry ferry = hosts.connect("small");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             Program p = ctx.buildProgram(SCALE)) {
            FerryException e = assertThrows(FerryException.class, () -> p.kernel("k".repeat(5000)));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("kernel name of 5000 bytes is longer than the host's limit of 4096"),
                    e.getMessage());
        }
    }

    @Test
    @Timeout(120)
    void idleAdminConnectionsDoNotKeepStatusFromOthers() throws Exception {
        try (TestHost host = TestHost.start("alice")) {
            Path socket = host.dir.resolve("admin.sock");
            List<SocketChannel> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 100; i++) { // more than the host keeps open at once
                    SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                    c.connect(UnixDomainSocketAddress.of(socket));
                    if (i % 2 == 0) {
                        c.write(ByteBuffer.wrap("sta".getBytes(StandardCharsets.US_ASCII))); // and never the rest
                    }
                    idle.add(c);
                }
                for (int i = 0; i < 3; i++) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(StatusIT.ask(socket, "status\n"));
                    assertEquals("alice", StatusIT.guest(doc, "alice").get("name"));
                }
                // The host lets an idle connection go (it sent nothing, or half a request, in time).
                SocketChannel last = idle.getLast();
                last.configureBlocking(true);
                ByteBuffer buf = ByteBuffer.allocate(64);
                assertEquals(-1, last.read(buf), "an idle connection was answered instead of closed");
            } finally {
                for (SocketChannel c : idle) {
                    try {
                        c.close();
                    } catch (IOException ignored) {
                        // closing a test socket
                    }
                }
            }
        }
    }
}
