package io.ferry.host.compute;

import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.host.sched.Hint;
import io.ferry.host.session.CallException;
import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;
import io.ferry.host.worker.Grant;
import io.ferry.host.worker.GrantLink;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;

/**
 * In a worker that serves its guest's session: its link to the host over the private control region, one request
 * at a time, each answered before the next is sent.
 * <ul>
 *   <li><b>Forwarded calls</b> (the TEE's, as this session's {@link SessionService}): the guest's record, sent with
 *   the reply flag whatever the guest asked (the worker's session keeps the sticky failures of one-way calls, so it
 *   must learn every outcome), answered by the host's half of the session with the call's completion record.</li>
 *   <li><b>Device turns</b> without a lease ({@link #forDevice}): a record {@link #REQUEST} (device index, hint
 *   priority, hint deadline), answered by a completion record {@link #GRANTED} whose result 0 is the
 *   {@link Grant}'s ordinal; a single turn's end is a record {@link #DONE} (device index, device time), not
 *   answered. A request carries the command's kernel key (its kind, for the host's learnt durations) as a fourth
 *   word; a guest's release declaration is a record {@link #DECLARE} (device index, period, offset, budget), not
 *   answered.</li>
 * </ul>
 * The host is trusted by the worker; its answers are still read once and checked.
 */
final class HostLink implements SessionService, SessionService.Factory, RecordHandler {
    static final int REQUEST = Wire.WORKER_FIRST + 0x11;
    static final int DONE = Wire.WORKER_FIRST + 0x12;
    static final int DECLARE = Wire.WORKER_FIRST + 0x13;
    static final int GRANTED = Wire.WORKER_FIRST + 0x20;
    static final boolean SMALL_MACHINE = Runtime.getRuntime().availableProcessors() < 4;

    private final SpscRing toHost;
    private final SpscRing fromHost;
    private final CallRecord call = new CallRecord();
    private final CompletionRecord answer = new CompletionRecord();
    /** The answer awaited: a forwarded call's seq, or -1 for a grant. */
    private long awaited;
    private boolean answered;
    private int status;
    private final long[] results = new long[CompletionRecord.RESULT_WORDS];
    private byte[] blob;

    HostLink(SpscRing toHost, SpscRing fromHost) {
        this.toHost = toHost;
        this.fromHost = fromHost;
    }

    @Override
    public SessionService open(SessionContext session) {
        return this;
    }

    @Override
    public void call(Op op, MemorySegment rec, long[] out, SessionContext session) throws CallException {
        CallRecord c = call.wrap(rec, 0);
        int length = c.length();
        long seq = c.seq();
        int flags = c.flags();
        int blobLength = c.blobLength();
        long at = claim(op.code(), length);
        MemorySegment.copy(rec, 0, toHost.segment(), at, length);
        // the reply flag: the host answers even a one-way call, so this session learns its outcome
        call.wrap(toHost.segment(), at).header(seq, flags | Wire.FLAG_REPLY, blobLength);
        toHost.publish();
        // The answer comes from two more processes (the host, the TEE's): on a small machine a spinning wait takes
        // the core they need, so yield at once there (as the guest and the host do for TEE calls).
        await(seq, SMALL_MACHINE ? new RingIdleStrategy(fromHost, 0, 200_000, 50_000, 1_000_000)
                : RingIdleStrategy.forAnswers(fromHost));
        Status s = Status.of(status);
        if (s == null) {
            throw new CallException(Status.INTERNAL, "the host answered a forwarded " + op + " with status " + status);
        }
        if (s != Status.OK) {
            throw new CallException(s, blob == null ? s.message() : new String(blob,
                    java.nio.charset.StandardCharsets.UTF_8));
        }
        System.arraycopy(results, 0, out, 0, results.length);
        if (blob != null && blob.length > 0) {
            session.replyBytes(blob);
        }
    }

    /** The grant link of device {@code index}. */
    GrantLink forDevice(int index) {
        return new GrantLink() {
            @Override
            public Grant request(Hint hint) throws BackendException {
                send(REQUEST, index, hint.priority(), hint.deadlineNanos(), hint.kernelKey(), hint.compiles() ? 1 : 0);
                await(-1, RingIdleStrategy.forDeviceWork(fromHost));
                Grant[] all = Grant.values();
                long granted = Math.max(0, results[0]);
                if (granted >= all.length) {
                    throw new BackendException(Status.INTERNAL, "the host granted the device as " + granted);
                }
                return all[(int) granted];
            }

            @Override
            public void done(long deviceNanos) {
                send(DONE, index, deviceNanos, 0, 0, 0);
            }

            @Override
            public void declareRelease(long periodNanos, long offsetNanos, long budgetNanos) {
                send(DECLARE, index, periodNanos, offsetNanos, budgetNanos, 0);
            }
        };
    }

    private void send(int type, long a0, long a1, long a2, long a3, long a4) {
        long at = claim(type, CallRecord.length(5, 0));
        call.wrap(toHost.segment(), at).header(0, 0, 0).arg(0, a0).arg(1, a1).arg(2, a2).arg(3, a3).arg(4, a4);
        toHost.publish();
    }

    /** Room for a record: the host reads every request before it answers one, so room comes. */
    private long claim(int type, int length) {
        long at;
        while ((at = toHost.tryClaim(type, length)) < 0) {
            Thread.onSpinWait();
        }
        return at;
    }

    private void await(long what, IdleStrategy idle) {
        awaited = what;
        answered = false;
        while (!answered) {
            idle.idle(fromHost.poll(this, 1));
        }
    }

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        CompletionRecord a = answer.wrap(rec, 0);
        String problem = a.problem(length);
        boolean grant = awaited < 0;
        if (problem != null || (grant ? type != GRANTED : type == GRANTED || a.seq() != awaited)) {
            throw new IllegalStateException("the host's answer is broken: " + (problem != null ? problem
                    : "record type " + type + ", seq " + a.seq() + ", awaited " + (grant ? "a grant" : awaited)));
        }
        status = a.status();
        for (int i = 0; i < results.length; i++) {
            results[i] = a.result(i);
        }
        blob = a.blobBytes();
        answered = true;
    }

    @Override
    public void close() {
        // the host closes its half of the session (the TEE's sessions) itself
    }
}
