package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.protocol.CallRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Op;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When the OUT heap ranges of one-way reads ship: docs/network.md, "Heap bytes". */
class OutRangesTest {
    private final OutRanges out = new OutRanges();
    private long seq;

    private MemorySegment call(Op op, long... args) {
        int length = CallRecord.length(op, 0);
        MemorySegment rec = MemorySegment.ofArray(new long[(length + 7) / 8]).asSlice(0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 4, op.code());
        CallRecord v = CallRecord.of(op).wrap(rec, 0).header(++seq, op.kind() == Op.Kind.SYNC ? Wire.FLAG_REPLY : 0, 0);
        for (int i = 0; i < args.length; i++) {
            v.arg(i, args[i]);
        }
        assertNull(out.forwarded(rec, op));
        return rec;
    }

    /** BUFFER_READ(queue, buffer, offset, size, heap offset, event, waits). */
    private void read(long queue, long heapOffset, long size, long event) {
        call(Op.BUFFER_READ, queue, 9, 0, size, heapOffset, event, 0);
    }

    private List<Long> completed(Op op, long status, long r0, long r1) {
        List<HeapTraffic.Range> ship = new ArrayList<>();
        out.completed(op.code(), seq, (int) status, r0, r1, ship);
        return ship.stream().map(HeapTraffic.Range::offset).toList();
    }

    @Test
    void finishShipsItsQueuesReadsOnly() {
        call(Op.QUEUE_CREATE, 1, 5, 0, 0);
        call(Op.QUEUE_CREATE, 2, 5, 0, 0);
        read(1, 0, 64, 0);
        read(2, 4096, 64, 0);
        read(1, 8192, 64, 0);
        call(Op.FINISH, 1);
        assertEquals(List.of(0L, 8192L), completed(Op.FINISH, 0, 0, 0));
        assertEquals(1, out.pendingCount());
        call(Op.FINISH, 2);
        assertEquals(List.of(4096L), completed(Op.FINISH, 0, 0, 0));
        assertEquals(0, out.pendingCount());
    }

    @Test
    void anEventWaitShipsItsReadAndTheEarlierOnesOfAnInOrderQueue() {
        call(Op.QUEUE_CREATE, 1, 5, 0, 0);
        call(Op.QUEUE_CREATE, 2, 5, Wire.QUEUE_OUT_OF_ORDER, 0);
        read(1, 0, 64, 0);
        read(1, 4096, 64, 77);
        read(1, 8192, 64, 0); // after the event: not certain yet
        read(2, 12288, 64, 0);
        read(2, 16384, 64, 88);
        call(Op.EVENT_WAIT, 77);
        assertEquals(List.of(0L, 4096L), completed(Op.EVENT_WAIT, 0, 0, 0));
        call(Op.EVENT_STATUS, 88);
        assertEquals(List.of(), completed(Op.EVENT_STATUS, 0, 1, 0), "still running: nothing is certain");
        call(Op.EVENT_STATUS, 88);
        assertEquals(List.of(16384L), completed(Op.EVENT_STATUS, 0, 0, 0), "an out-of-order queue: only the event's");
        assertEquals(2, out.pendingCount());
    }

    @Test
    void aNewSessionForgetsTheOldOnesRangesAndTheBoundHolds() {
        call(Op.QUEUE_CREATE, 1, 5, 0, 0);
        read(1, 0, 64, 0);
        out.reset();
        call(Op.FINISH, 1);
        assertEquals(List.of(), completed(Op.FINISH, 0, 0, 0));
        for (int i = 0; i < OutRanges.MAX_PENDING; i++) {
            read(1, 64L * (i % 1000), 64, 0);
        }
        int length = CallRecord.length(Op.BUFFER_READ, 0);
        MemorySegment rec = MemorySegment.ofArray(new long[(length + 7) / 8]).asSlice(0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 4, Op.BUFFER_READ.code());
        CallRecord.of(Op.BUFFER_READ).wrap(rec, 0).header(++seq, 0, 0).arg(0, 1).arg(3, 64);
        assertNotNull(out.forwarded(rec, Op.BUFFER_READ), "the 65,537th pending range closes the connection");
    }

    /** A one-way call with a wait list (its blob), arguments as given ({@code waits} among them). */
    private void withWaits(Op op, long[] waits, long... args) {
        byte[] blob = io.ferry.protocol.WaitList.encode(waits, null);
        int length = CallRecord.length(op, blob.length);
        MemorySegment rec = MemorySegment.ofArray(new long[(length + 7) / 8]).asSlice(0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 4, op.code());
        CallRecord v = CallRecord.of(op).wrap(rec, 0).header(++seq, 0, blob.length);
        for (int i = 0; i < args.length; i++) {
            v.arg(i, args[i]);
        }
        v.blob(blob);
        assertNull(out.forwarded(rec, op));
    }

    /** MARKER(queue, event, waits) waiting for {@code waits}. */
    private void marker(long queue, long event, long... waits) {
        withWaits(Op.MARKER, waits, queue, event, waits.length);
    }

    @Test
    void aReadIsShippedWhenAnotherQueuesCommandThatWaitedForItsEventIsComplete() {
        call(Op.QUEUE_CREATE, 1, 5, 0, 0);
        call(Op.QUEUE_CREATE, 2, 5, 0, 0);
        read(1, 0, 64, 77);
        marker(2, 88, 77); // queue 2's marker waits for the read's event
        call(Op.EVENT_WAIT, 88);
        assertEquals(List.of(0L), completed(Op.EVENT_WAIT, 0, 0, 0), "waiting on B's event that waited for A's read");
        read(1, 4096, 64, 78);
        marker(2, 0, 78); // no event of its own: only B's FINISH says it ran
        call(Op.FINISH, 2);
        assertEquals(List.of(4096L), completed(Op.FINISH, 0, 0, 0), "FINISH of B after a command that waited");
        assertEquals(0, out.pendingCount());
    }

    @Test
    void waitListsAreFollowedTransitivelyAndOnlyAsFarAsTheyProve() {
        call(Op.QUEUE_CREATE, 1, 5, 0, 0);
        call(Op.QUEUE_CREATE, 2, 5, 0, 0);
        call(Op.QUEUE_CREATE, 3, 5, Wire.QUEUE_OUT_OF_ORDER, 0);
        read(1, 0, 64, 0); // no event: certain once a later event of its in-order queue is
        marker(1, 79);
        read(3, 4096, 64, 0); // out of order, no event: no other command's completion proves it
        marker(3, 90, 79);
        marker(2, 91, 90);
        read(1, 8192, 64, 0); // after the marker 79: not proven
        call(Op.EVENT_STATUS, 91);
        assertEquals(List.of(0L), completed(Op.EVENT_STATUS, 0, 0, 0), "91 waited for 90, which waited for 79");
        assertEquals(2, out.pendingCount());
        call(Op.FINISH, 3);
        assertEquals(List.of(4096L), completed(Op.FINISH, 0, 0, 0));
        call(Op.FINISH, 1);
        assertEquals(List.of(8192L), completed(Op.FINISH, 0, 0, 0));
    }
}
