package io.ferry.host.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.config.Quotas;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The rules of sticky errors: each failure surfaces once, at the first synchronous call of its scope. */
class StickyErrorsTest {
    static final long KERNEL = 5, QUEUE = 7, OTHER_QUEUE = 8;
    final HandleTable handles = new HandleTable(Quotas.DEFAULT);
    final StickyErrors sticky = new StickyErrors(handles);

    StickyErrorsTest() {
        handles.put(QUEUE, HandleTable.Kind.QUEUE, null, 0, 0);
        handles.put(OTHER_QUEUE, HandleTable.Kind.QUEUE, null, 0, 0);
        handles.put(KERNEL, HandleTable.Kind.KERNEL, null, 0, 3);
    }

    static CallFailure failure(long seq, Op op) {
        return new CallFailure(seq, op, Status.INVALID_ARGUMENT, "call " + seq + " was wrong");
    }

    void argFailed(long seq) {
        sticky.file(failure(seq, Op.KERNEL_ARG_VALUE), Op.KERNEL_ARG_VALUE, KERNEL);
    }

    void launchFailed(long seq, long follows) {
        sticky.file(failure(seq, Op.LAUNCH), Op.LAUNCH, QUEUE, follows);
    }

    CallFailure finish(long queue, long seq) {
        MemorySegment rec = Arena.ofAuto().allocate(CallRecord.length(Op.FINISH, 0), 8);
        new Calls.Finish().wrap(rec, 0).header(seq, 0, 0);
        new Calls.Finish().wrap(rec, 0).queue(queue);
        return sticky.take(Op.FINISH, rec, seq);
    }

    CallFailure otherSyncCall(long seq) {
        return sticky.take(Op.KERNEL_CREATE, null, seq);
    }

    @Test
    void aSynchronousCallReportsTheFirstSessionFailureAndClearsTheRestWithACount() {
        argFailed(3);
        argFailed(5);
        CallFailure f = otherSyncCall(6);
        assertEquals(3, f.seq());
        assertTrue(f.message().endsWith("(and 1 later failure in this session, not reported separately)"), f.message());
        assertNull(otherSyncCall(7), "nothing stale surfaces at a later call");
    }

    @Test
    void finishTakesItsQueueAndTheSessionSoNothingSurfacesAtTheNextFinish() {
        argFailed(3);
        launchFailed(4, 0);
        launchFailed(5, 0);
        CallFailure f = finish(QUEUE, 6);
        assertEquals(3, f.seq());
        assertTrue(f.message().contains("and 2 later failures on this queue"), f.message());
        assertNull(finish(QUEUE, 7));
    }

    @Test
    void anotherQueuesFailureWaitsForThatQueuesFinish() {
        launchFailed(4, 0);
        assertNull(finish(OTHER_QUEUE, 5));
        assertNull(otherSyncCall(6), "a queue's failure is not the session's");
        assertEquals(4, finish(QUEUE, 7).seq());
    }

    @Test
    void aFollowOnOfAnUnreportedCauseGoesWithIt() {
        argFailed(3);
        launchFailed(4, 3);
        CallFailure f = finish(QUEUE, 5);
        assertEquals(Op.KERNEL_ARG_VALUE, f.op());
        assertTrue(f.message().contains("and 1 later failure"), f.message());
        assertNull(finish(QUEUE, 6));
    }

    @Test
    void aFollowOnOfAReportedCauseIsReportedOnItsOwn() {
        argFailed(3);
        assertEquals(3, otherSyncCall(4).seq());
        launchFailed(5, 3);
        CallFailure f = finish(QUEUE, 6);
        assertEquals(5, f.seq());
        assertFalse(f.message().contains("later failure"), f.message());
    }

    @Test
    void anEarlierFailureFiledLateStillComesFirst() {
        argFailed(9);
        argFailed(4); // a device worker's deferred failure, found after call 9 failed
        CallFailure f = otherSyncCall(10);
        assertEquals(4, f.seq());
        assertTrue(f.message().contains("and 1 later failure"), f.message());
    }
}
