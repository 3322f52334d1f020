package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Event;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.QueueOptions;
import io.ferry.client.UserEvent;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.testkit.RawGuest;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenCL's event and queue model through Ferry, against a real host and real PoCL: events on every enqueue, wait
 * lists across queues, markers, barriers, user events, out-of-order queues, the global work offset, the kernel
 * work-group query and NULL buffer arguments; and hostile wait lists from a raw guest.
 */
class EventsIT {
    static final String KERNELS = """
            __kernel void twice(__global int* a) {
                size_t i = get_global_id(0);
                a[i] = 2 * a[i];
            }
            __kernel void ids(__global int* a) {
                size_t i = get_global_id(0);
                a[i] = (int) i * 3 + 1;
            }
            __kernel void isnull(__global int* maybe, __global int* out) {
                out[get_global_id(0)] = maybe == 0 ? 1 : 2;
            }
            """;
    static final int N = 256;
    static final long TIMEOUT = 10_000_000_000L;

    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("alice");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    private static int[] ints(HeapBlock b, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = b.segment().getAtIndex(ValueLayout.JAVA_INT, i);
        }
        return out;
    }

    @Test
    void everyEnqueueKindGivesAnEventWithOrderedProfilingTimes() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue(QueueOptions.defaults().withProfiling(true));
             Program p = ctx.buildProgram(KERNELS);
             Kernel twice = p.kernel("twice");
             HeapBlock in = ferry.heap().allocate(4L * N);
             HeapBlock out = ferry.heap().allocate(4L * N);
             DeviceBuffer a = ctx.createBuffer(4L * N);
             DeviceBuffer b = ctx.createBuffer(4L * N)) {
            for (int i = 0; i < N; i++) {
                in.segment().setAtIndex(ValueLayout.JAVA_INT, i, i);
            }
            twice.arg(0, b);
            Event w = q.writeWithEvent(a, 0, in.segment());
            Event c = q.copyWithEvent(a, 0, b, 0, 4L * N, w);
            MemorySegment seven = MemorySegment.ofArray(new int[] {7});
            Event f = q.fillWithEvent(b, seven, 0, 16, c); // b[0..4) = 7
            Event k = q.launchWithEvent(twice, NDRange.of(N), null, f);
            Event r = q.readWithEvent(b, 0, out.segment(), k);
            Event.Times previous = null;
            for (Event e : List.of(w, c, f, k, r)) {
                Event.Times t = e.await();
                assertEquals(Event.ExecutionStatus.COMPLETE, e.status());
                assertTrue(t.startNanos() > 0 && t.endNanos() >= t.startNanos(), t.toString());
                // all four from the device's clock, in order (the worker hop once put another figure in submit)
                assertTrue(t.queuedNanos() > 0 && t.queuedNanos() <= t.submitNanos()
                        && t.submitNanos() <= t.startNanos(), t.toString());
                if (previous != null) {
                    assertTrue(t.startNanos() >= previous.endNanos(), previous + " then " + t);
                }
                previous = t;
                e.close();
            }
            int[] got = ints(out, N);
            for (int i = 0; i < N; i++) {
                assertEquals(i < 4 ? 14 : 2 * i, got[i], "element " + i);
            }
            q.finish();
        }
    }

    @Test
    void waitListsMarkersAndBarriersOrderWorkAcrossTwoQueues() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue ooo = ctx.createQueue(QueueOptions.defaults().withOutOfOrder(true));
             CommandQueue other = ctx.createQueue();
             Program p = ctx.buildProgram(KERNELS);
             Kernel twice = p.kernel("twice");
             HeapBlock in = ferry.heap().allocate(4L * N);
             HeapBlock out = ferry.heap().allocate(4L * N);
             DeviceBuffer a = ctx.createBuffer(4L * N)) {
            for (int i = 0; i < N; i++) {
                in.segment().setAtIndex(ValueLayout.JAVA_INT, i, i + 1);
            }
            twice.arg(0, a);
            Event written = ooo.writeWithEvent(a, 0, in.segment());
            Event doubled = other.launchWithEvent(twice, NDRange.of(N), null, written);   // the other queue
            Event mark = ooo.marker(doubled);
            Event again = other.launchWithEvent(twice, NDRange.of(N), null, mark);        // x4 in all
            ooo.barrier(again);
            Event read = ooo.readWithEvent(a, 0, out.segment());  // after the barrier, though out of order
            read.await();
            int[] got = ints(out, N);
            for (int i = 0; i < N; i++) {
                assertEquals(4 * (i + 1), got[i], "element " + i);
            }
            assertEquals(Event.ExecutionStatus.COMPLETE, mark.status());
            ooo.finish();
            other.finish();
        }
    }

    @Test
    void aUserEventGatesALaunchUntilItIsCompleted() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             CommandQueue look = ctx.createQueue();
             Program p = ctx.buildProgram(KERNELS);
             Kernel ids = p.kernel("ids");
             HeapBlock out = ferry.heap().allocate(4L * N);
             DeviceBuffer a = ctx.createBuffer(4L * N);
             UserEvent go = ctx.createUserEvent()) {
            look.fill(a, MemorySegment.ofArray(new int[] {0}), 0, 4L * N);
            look.finish();
            ids.arg(0, a);
            Event launched = q.launchWithEvent(ids, NDRange.of(N), null, go);
            assertNotEquals(Event.ExecutionStatus.COMPLETE, launched.status());
            // Waiting for it now would wait forever: refused, naming the user event; the session lives on.
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("user event " + go.handle()), e.getMessage());
            assertThrows(FerryException.class, launched::await);
            look.read(a, 0, out.segment()).finish();
            assertEquals(0, ints(out, N)[5], "the launch ran before its user event was completed");

            go.complete();
            launched.await();
            assertEquals(Event.ExecutionStatus.COMPLETE, launched.status());
            q.finish();
            look.read(a, 0, out.segment()).finish();
            int[] got = ints(out, N);
            for (int i = 0; i < N; i++) {
                assertEquals(3 * i + 1, got[i], "element " + i);
            }
            FerryException twice = assertThrows(FerryException.class, go::complete);
            assertTrue(twice.getMessage().contains("already set"), twice.getMessage());
        }
    }

    @Test
    void aSessionThatEndsWithAnUnsetUserEventLeavesNothingWaiting() {
        try (Ferry ferry = host.connect("alice")) {
            Context ctx = ferry.createContext(ferry.defaultDevice());
            CommandQueue q = ctx.createQueue();
            Kernel ids = ctx.buildProgram(KERNELS).kernel("ids");
            DeviceBuffer a = ctx.createBuffer(4L * N);
            UserEvent never = ctx.createUserEvent();
            ids.arg(0, a);
            Event gated = q.launchWithEvent(ids, NDRange.of(N), null, never);
            q.writeWithEvent(a, 0, MemorySegment.ofArray(new int[N]), gated); // gated through the event too
            q.flush();
        } // the session ends: the host fails the user event, so its queue can be finished and released
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             UserEvent released = ctx.createUserEvent();
             HeapBlock out = ferry.heap().allocate(64)) {
            Event gated = q.fillWithEvent(a, MemorySegment.ofArray(new int[] {9}), 0, 64, released);
            released.close(); // released unset: failed, so the fill fails rather than waiting forever
            assertThrows(FerryException.class, gated::await);
            q.fill(a, MemorySegment.ofArray(new int[] {5}), 0, 64).read(a, 0, out.segment()).finish();
            assertEquals(5, ints(out, 16)[15]);
        }
    }

    @Test
    void aFailedUserEventFailsTheCommandThatWaitsForIt() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue(QueueOptions.defaults().withOutOfOrder(true));
             Program p = ctx.buildProgram(KERNELS);
             Kernel ids = p.kernel("ids");
             HeapBlock out = ferry.heap().allocate(4L * N);
             DeviceBuffer a = ctx.createBuffer(4L * N);
             UserEvent go = ctx.createUserEvent()) {
            ids.arg(0, a);
            Event launched = q.launchWithEvent(ids, NDRange.of(N), null, go);
            go.fail(-5);
            assertThrows(FerryException.class, launched::await);
            assertEquals(Event.ExecutionStatus.ERROR, launched.status());
            // the session and the queue go on
            q.launchWithEvent(ids, NDRange.of(N), null).await();
            q.read(a, 0, out.segment()).finish();
            assertEquals(3 * 7 + 1, ints(out, N)[7]);
        }
    }

    @Test
    void aGlobalOffsetShiftsTheWorkItemIds() {
        int offset = 32;
        int global = 64;
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(KERNELS);
             Kernel ids = p.kernel("ids");
             HeapBlock out = ferry.heap().allocate(4L * N);
             DeviceBuffer a = ctx.createBuffer(4L * N)) {
            q.fill(a, MemorySegment.ofArray(new int[] {-1}), 0, 4L * N);
            ids.arg(0, a);
            q.launchWithEvent(ids, new long[] {offset}, NDRange.of(global), NDRange.of(16)).await();
            q.read(a, 0, out.segment()).finish();
            int[] got = ints(out, N);
            for (int i = 0; i < N; i++) {
                int want = i >= offset && i < offset + global ? 3 * i + 1 : -1;
                assertEquals(want, got[i], "element " + i);
            }
        }
    }

    @Test
    void kernelWorkGroupInfoIsSaneAndNullBuffersReachTheKernel() {
        try (Ferry ferry = host.connect("alice");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(KERNELS);
             Kernel isnull = p.kernel("isnull");
             HeapBlock out = ferry.heap().allocate(16);
             DeviceBuffer a = ctx.createBuffer(16);
             DeviceBuffer o = ctx.createBuffer(16)) {
            Kernel.WorkGroupInfo info = isnull.workGroupInfo();
            assertTrue(info.workGroupSize() > 0 && info.preferredMultiple() > 0, info.toString());
            assertEquals(0, info.workGroupSize() % info.preferredMultiple(), info.toString());
            assertTrue(info.localMemoryBytes() >= 0 && info.privateMemoryBytes() >= 0, info.toString());

            isnull.argNull(0).arg(1, o);
            q.launch(isnull, NDRange.of(2)).read(o, 0, out.segment()).finish();
            assertEquals(1, ints(out, 2)[0]);
            isnull.arg(0, a);
            q.launch(isnull, NDRange.of(2)).read(o, 0, out.segment()).finish();
            assertEquals(2, ints(out, 2)[0]);
            isnull.arg(0, (DeviceBuffer) null);
            q.launch(isnull, NDRange.of(2)).read(o, 0, out.segment()).finish();
            assertEquals(1, ints(out, 2)[1]);
        }
    }

    @Test
    void hostileWaitListsAreRefusedAndTheSessionLivesOn() {
        try (RawGuest g = new RawGuest(host.region("alice"))) {
            assertEquals(Status.OK, g.connect(5_000_000_000L).status());
            assertEquals(Status.OK, g.call(Op.CONTEXT_CREATE, null, TIMEOUT, 1, 0).status());
            assertEquals(Status.OK, g.call(Op.QUEUE_CREATE, null, TIMEOUT, 2, 1, 0, 0).status());
            assertEquals(Status.OK, g.call(Op.BUFFER_CREATE, null, TIMEOUT, 3, 1, 4096, 0, -1).status());
            // an event to wait for: a write with event 4
            assertEquals(Status.OK, g.call(Op.BUFFER_WRITE, null, TIMEOUT, 2, 3, 0, 64, 0, 4, 0).status());

            RawGuest.Reply bufferInList = g.call(Op.BUFFER_WRITE, WaitList.encode(new long[] {3}, null), TIMEOUT,
                    2, 3, 0, 64, 0, 0, 1);
            assertEquals(Status.WRONG_HANDLE_KIND, bufferInList.status(), bufferInList.text());
            RawGuest.Reply tooMany = g.call(Op.BUFFER_COPY, WaitList.encode(new long[] {4}, null), TIMEOUT,
                    2, 3, 3, 0, 128, 64, 0, 3);
            assertEquals(Status.INVALID_ARGUMENT, tooMany.status(), tooMany.text());
            assertTrue(tooMany.text().contains("wait list of 3 events"), tooMany.text());
            RawGuest.Reply unknown = g.call(Op.MARKER, WaitList.encode(new long[] {4, 999}, null), TIMEOUT, 2, 0, 2);
            assertEquals(Status.UNKNOWN_HANDLE, unknown.status(), unknown.text());
            RawGuest.Reply overLimit = g.call(Op.BARRIER, new byte[8 * 65], TIMEOUT, 2, 0, 65);
            assertEquals(Status.INVALID_ARGUMENT, overLimit.status(), overLimit.text());
            RawGuest.Reply negative = g.call(Op.BUFFER_FILL, new byte[] {1}, TIMEOUT, 2, 3, 0, 64, 0, -1);
            assertEquals(Status.INVALID_ARGUMENT, negative.status(), negative.text());
            RawGuest.Reply setNotUser = g.call(Op.USER_EVENT_SET, null, TIMEOUT, 4, 0);
            assertEquals(Status.INVALID_ARGUMENT, setNotUser.status(), setNotUser.text());

            // a fill whose pattern follows a wait list of one, then the session's work goes on
            assertEquals(Status.OK, g.call(Op.BUFFER_FILL, WaitList.encode(new long[] {4},
                    MemorySegment.ofArray(new byte[] {1, 2, 3, 4})), TIMEOUT, 2, 3, 0, 64, 0, 1).status());
            assertEquals(Status.OK, g.call(Op.FINISH, null, TIMEOUT, 2).status());
            assertTrue(g.open());
        }
    }
}
