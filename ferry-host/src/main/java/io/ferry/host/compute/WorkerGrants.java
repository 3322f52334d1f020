package io.ferry.host.compute;

import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.host.sched.Hint;
import io.ferry.host.worker.Grant;
import io.ferry.host.worker.GrantLink;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;

/**
 * In a worker that serves its guest's session: asking the host's scheduler for a device without a lease, over the
 * private control region. A request is a record {@link #REQUEST} (device index, hint priority, hint deadline), answered
 * by a completion record {@link #GRANTED} whose result 0 is the {@link Grant}'s ordinal; a single turn's end is a record
 * {@link #DONE} (device index, device time), not answered.
 */
final class WorkerGrants implements RecordHandler {
    static final int REQUEST = Wire.WORKER_FIRST + 0x11;
    static final int DONE = Wire.WORKER_FIRST + 0x12;
    static final int GRANTED = Wire.WORKER_FIRST + 0x20;

    private final SpscRing toHost;
    private final SpscRing fromHost;
    private final CallRecord call = new CallRecord();
    private final CompletionRecord answer = new CompletionRecord();
    private long granted = -1;

    WorkerGrants(SpscRing toHost, SpscRing fromHost) {
        this.toHost = toHost;
        this.fromHost = fromHost;
    }

    /** The link of device {@code index}. */
    GrantLink forDevice(int index) {
        return new GrantLink() {
            @Override
            public Grant request(Hint hint) throws BackendException {
                send(REQUEST, index, hint.priority(), hint.deadlineNanos());
                granted = -1;
                IdleStrategy idle = RingIdleStrategy.forDeviceWork(fromHost);
                while (granted < 0) {
                    idle.idle(fromHost.poll(WorkerGrants.this, 1));
                }
                Grant[] all = Grant.values();
                if (granted >= all.length) {
                    throw new BackendException(Status.INTERNAL, "the host granted the device as " + granted);
                }
                return all[(int) granted];
            }

            @Override
            public void done(long deviceNanos) {
                send(DONE, index, deviceNanos, 0);
            }
        };
    }

    private void send(int type, long a0, long a1, long a2) {
        int length = CallRecord.length(3, 0);
        long at;
        while ((at = toHost.tryClaim(type, length)) < 0) {
            Thread.onSpinWait(); // the host reads every request before it answers one: room comes
        }
        call.wrap(toHost.segment(), at).header(0, 0, 0).arg(0, a0).arg(1, a1).arg(2, a2);
        toHost.publish();
    }

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        CompletionRecord a = answer.wrap(rec, 0);
        if (type != GRANTED || a.problem(length) != null) {
            throw new IllegalStateException("the host answered a device request with a record of type " + type);
        }
        granted = Math.max(0, a.result(0));
    }
}
