package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.host.session.CallCounts;
import io.ferry.host.session.CallSink;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The worker's table of calls in its control region, as the host reads and folds it. */
class WorkerCallTableTest {
    private static int at(Op op, Status s) {
        return op.ordinal() * CallCounts.STATUSES + s.ordinal();
    }

    @Test
    void countsReachTheHostAndStayWithTheLaneAfterTheWorkerGoes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment control = arena.allocate(4096);
            WorkerCallTable worker = new WorkerCallTable(control);
            for (int i = 0; i < 5; i++) {
                worker.call(Op.LAUNCH, Status.OK);
            }
            worker.call(Op.BUFFER_CREATE, Status.QUOTA_EXCEEDED);
            worker.call(Op.TEE_INVOKE, Status.OK); // the host's session counts TEE calls
            worker.refusal(CallSink.Quota.DEVICE_MEMORY);

            CallCounts lane = new CallCounts();
            lane.call(Op.HELLO, Status.OK);
            lane.attach(worker);
            CallCounts.Totals live = CallCounts.sum(java.util.List.of(lane));
            assertEquals(5, live.calls()[at(Op.LAUNCH, Status.OK)]);
            assertEquals(1, live.calls()[at(Op.BUFFER_CREATE, Status.QUOTA_EXCEEDED)]);
            assertEquals(1, live.calls()[at(Op.HELLO, Status.OK)]);
            assertEquals(0, live.calls(Op.TEE_INVOKE));
            assertEquals(1, live.refusals()[CallSink.Quota.DEVICE_MEMORY.ordinal()]);

            lane.detach();
            control.fill((byte) 0); // the worker's region is gone: nothing more is read from it
            CallCounts.Totals after = CallCounts.sum(java.util.List.of(lane));
            assertEquals(5, after.calls()[at(Op.LAUNCH, Status.OK)]);
            assertEquals(1, after.refusals()[CallSink.Quota.DEVICE_MEMORY.ordinal()]);
        }
    }

    @Test
    void aFullTableCountsTheRestAsOtherAndGarbageIsIgnored() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment control = arena.allocate(4096);
            WorkerCallTable worker = new WorkerCallTable(control);
            int pairs = 0;
            outer:
            for (Op op : Op.values()) {
                if (op.service() == Op.Service.TEE) {
                    continue;
                }
                for (Status s : Status.values()) {
                    worker.call(op, s);
                    if (++pairs == WorkerCallTable.SLOT_COUNT + 10) {
                        break outer;
                    }
                }
            }
            long[] calls = new long[CallCounts.OTHER + 1];
            worker.addTo(calls, new long[CallSink.Quota.values().length]);
            assertEquals(11, calls[CallCounts.OTHER], "the pairs beyond the table's free slots");
            assertEquals(pairs, java.util.Arrays.stream(calls).sum());

            // a hostile worker's words: keys outside the table are ignored, counts stay within 48 bits
            MemorySegment other = arena.allocate(4096);
            other.set(ValueLayout.JAVA_LONG, WorkerCallTable.SLOTS, -1L);
            other.set(ValueLayout.JAVA_LONG, WorkerCallTable.SLOTS + 8, 0x7FFEL << 48 | 3);
            long[] c = new long[CallCounts.OTHER + 1];
            new WorkerCallTable(other).addTo(c, new long[CallSink.Quota.values().length]);
            assertEquals((1L << 48) - 1, c[CallCounts.OTHER], "0xFFFF is the overflow key; the count is 48 bits");
            assertEquals((1L << 48) - 1, java.util.Arrays.stream(c).sum());
        }
    }
}
