package io.ferry.host.compute;

import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.host.session.CallException;
import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;

/**
 * In a worker that serves its guest's session: the calls the worker does not serve itself (the TEE's), sent to
 * the host over the control region and answered there by the host's half of the session. Each is sent with the
 * reply flag, whatever the guest asked: the worker's session keeps the sticky failures of one-way calls, so it must
 * learn every outcome. The host is trusted by the worker, its answers are still read once and checked.
 */
final class ForwardedCalls implements SessionService, SessionService.Factory, RecordHandler {
    static final boolean SMALL_MACHINE = Runtime.getRuntime().availableProcessors() < 4;
    private final SpscRing toHost;
    private final SpscRing fromHost;
    private final CallRecord call = new CallRecord();
    private final CompletionRecord answer = new CompletionRecord();
    private long awaited;
    private boolean answered;
    private int status;
    private final long[] results = new long[CompletionRecord.RESULT_WORDS];
    private byte[] blob;

    ForwardedCalls(SpscRing toHost, SpscRing fromHost) {
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
        long at;
        while ((at = toHost.tryClaim(op.code(), length)) < 0) {
            Thread.onSpinWait(); // the host answers every forwarded call before it reads the next: room comes
        }
        MemorySegment.copy(rec, 0, toHost.segment(), at, length);
        // the reply flag: the host answers even a one-way call, so this session learns its outcome
        call.wrap(toHost.segment(), at).header(seq, flags | io.ferry.protocol.Wire.FLAG_REPLY, blobLength);
        toHost.publish();
        awaited = seq;
        answered = false;
        // The answer comes from two more processes (the host, the TEE's): on a small machine a spinning wait takes
        // the core they need, so yield at once there (as the guest and the host do for TEE calls).
        IdleStrategy idle = SMALL_MACHINE ? new RingIdleStrategy(fromHost, 0, 200_000, 50_000, 1_000_000)
                : RingIdleStrategy.forAnswers(fromHost);
        while (!answered) {
            idle.idle(fromHost.poll(this, 1));
        }
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

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        CompletionRecord a = answer.wrap(rec, 0);
        String problem = a.problem(length);
        if (problem != null || a.seq() != awaited) {
            throw new IllegalStateException("the host's answer to a forwarded call is broken: "
                    + (problem != null ? problem : "seq " + a.seq() + ", awaited " + awaited));
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
