package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.bench.chaos.SandboxProbes;
import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.Handshake;
import io.ferry.channel.Region;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.CommandQueue;
import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.protocol.Status;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On a host whose devices are CPU devices (PoCL), a guest's session moves to its sandboxed device worker at its first
 * device context: the worker reads the command ring and answers. Checked from outside: which process serves, that
 * answers and figures stay right across the move, that a reconnect starts afresh, and that a killed worker hands the
 * session back to the host (device calls DEVICE_LOST, the rest goes on).
 */
class HandoverIT {
    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("mover", "again", "orphan");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    static boolean servedByWorker(String guest) {
        try {
            ProcessHandle w = SandboxProbes.workerJvm(guest);
            return SandboxProbes.cmdline(w.pid()).contains("io.ferry.host.compute.InWorker");
        } catch (IllegalStateException none) {
            return false;
        }
    }

    static HostViews.GuestView view(String guest) {
        return host.host.guests().stream().filter(v -> v.name().equals(guest)).findFirst().orElseThrow();
    }

    @Test
    void theWorkerServesTheSessionFromItsFirstContextOnWithTheSameAnswers() throws Exception {
        ProcessHandle worker;
        try (Ferry ferry = host.connect("mover")) {
            assertEquals(7, ferry.nop(7));
            assertFalse(servedByWorker("mover"), "no worker before the first device context");
            Context ctx = ferry.createContext(ferry.defaultDevice());
            CommandQueue q = ctx.createQueue();
            DeviceBuffer b = ctx.createBuffer(4096);
            try (HeapBlock in = ferry.heap().allocate(4096); HeapBlock out = ferry.heap().allocate(4096)) {
                for (int i = 0; i < 1024; i++) {
                    in.segment().setAtIndex(ValueLayout.JAVA_INT, i, i * 3);
                }
                q.write(b, 0, in.segment()).read(b, 0, out.segment()).finish();
                assertArrayEquals(in.segment().toArray(ValueLayout.JAVA_INT), out.segment().toArray(ValueLayout.JAVA_INT));
            }
            assertTrue(servedByWorker("mover"), "the worker serves the session after its first device context");
            worker = SandboxProbes.workerJvm("mover");
            assertEquals(11, ferry.nop(11));
            HostViews.GuestView v = view("mover");
            assertEquals(3, v.objects(), v.toString());
            assertEquals(4096, v.deviceMemoryBytes(), v.toString());
            // a call the worker refuses is refused as the host would: same status and words, the session goes on
            try (HeapBlock h = ferry.heap().allocate(4096)) {
                q.read(b, 32, h.segment());
                FerryException e = assertThrows(FerryException.class, q::finish);
                assertEquals(Status.OUT_OF_RANGE, e.status(), e.getMessage());
                assertTrue(e.getMessage().contains("offset 32, size 4096"), e.getMessage());
            }
            assertEquals(13, ferry.nop(13));
        }
        assertTrue(worker.onExit().get(5, TimeUnit.SECONDS) != null, "the worker ends with its session");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (view("mover").connected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        HostViews.GuestView v = view("mover");
        assertFalse(v.connected(), v.toString());
        assertEquals(0, v.objects(), v.toString());
    }

    @Test
    void aReconnectOnTheLaneWhileTheWorkerServesStartsAFreshSession() throws Exception {
        Ferry first = host.connect("again");
        first.createContext(first.defaultDevice()).createQueue().finish();
        ProcessHandle oldWorker = SandboxProbes.workerJvm("again");
        try (Region region = Region.open(host.region("again"))) {
            // a new connect request on the lane the worker serves (as a guest library reconnecting its lane does)
            Region lane = region.lane(first.lane());
            long nonce = Handshake.request(lane, ProcessHandle.current().pid());
            oldWorker.onExit().get(5, TimeUnit.SECONDS);
            Handshake.awaitAck(lane, nonce, new BackoffIdleStrategy(), waited -> {
                if (waited > 5_000_000_000L) {
                    throw new AssertionError("the host did not acknowledge the reconnect");
                }
            });
            assertTrue(lane.sessionId() != first.sessionId(), "a fresh session on the lane");
        } finally {
            assertThrows(FerryException.class, () -> first.nop(1), "the first session is over");
            first.close();
        }
        try (Ferry second = host.connect("again")) {
            assertEquals(5, second.nop(5));
            Context ctx = second.createContext(second.defaultDevice());
            ctx.createQueue().finish();
            assertTrue(servedByWorker("again"));
        }
    }

    @Test
    void aSecondConnectionWhileTheWorkerServesTheFirstHasItsOwnSessionAndWorker() throws Exception {
        // Held in variables: an unreachable context or queue would be released by the client's cleaner.
        try (Ferry first = host.connect("again"); Ferry second = host.connect("again");
             Context c1 = first.createContext(first.defaultDevice()); CommandQueue q1 = c1.createQueue()) {
            q1.finish();
            ProcessHandle firstWorker = SandboxProbes.workerJvm("again");
            try (Context c2 = second.createContext(second.defaultDevice()); CommandQueue q2 = c2.createQueue()) {
                q2.finish();
                assertTrue(firstWorker.isAlive(), "the second session's worker leaves the first one's alone");
                assertEquals(5, second.nop(5));
                assertEquals(6, first.nop(6));
                assertEquals(4, view("again").objects(), "two contexts and two queues, one pair per lane");
            }
        }
    }

    @Test
    void aKilledWorkerHandsTheSessionBackToTheHost() throws Exception {
        try (Ferry ferry = host.connect("orphan")) {
            Context ctx = ferry.createContext(ferry.defaultDevice());
            CommandQueue q = ctx.createQueue();
            q.finish();
            ProcessHandle worker = SandboxProbes.workerJvm("orphan");
            worker.destroyForcibly();
            worker.onExit().get(5, TimeUnit.SECONDS);
            FerryException e = assertThrows(FerryException.class, () -> {
                for (int i = 0; i < 1000; i++) { // until the host has seen the worker gone
                    q.finish();
                    Thread.sleep(5);
                }
            });
            assertEquals(Status.DEVICE_LOST, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("device worker"), e.getMessage());
            assertEquals(9, ferry.nop(9), "the host serves the rest of the session");
            FerryException later = assertThrows(FerryException.class, () -> ctx.createQueue().finish());
            assertEquals(Status.DEVICE_LOST, later.status());
            assertTrue(later.getMessage().contains("reconnect"), later.getMessage());
            var counts = host.host.counters("orphan"); // ferry_worker_restarts_total, ferry_calls_total of /metrics
            assertEquals(1, counts.workerRestarts());
            assertTrue(counts.calls()[io.ferry.protocol.Op.FINISH.ordinal() * io.ferry.host.session.CallCounts.STATUSES
                    + Status.DEVICE_LOST.ordinal()] >= 1, "the finish its worker's death failed is counted");
            assertTrue(counts.calls()[io.ferry.protocol.Op.QUEUE_CREATE.ordinal()
                    * io.ferry.host.session.CallCounts.STATUSES + Status.OK.ordinal()] >= 1, "the worker's calls stay");
        }
    }
}
