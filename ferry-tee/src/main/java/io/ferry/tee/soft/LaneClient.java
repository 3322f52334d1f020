package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import java.lang.foreign.MemorySegment;
import java.util.UUID;

/**
 * The host's side of one {@link Lane}: writes a request, waits for its reply within the call limit (forwarding a
 * cancel request, watching the process), reads the reply back into the parameters. Used under its instance's lock,
 * so one call at a time; nothing is allocated per call but for a sleep on the lane's futex.
 */
final class LaneClient implements AutoCloseable {
    /** Largest memref the lane carries (4 of them per call). */
    static final long MAX_MEMREF = 1024 * 1024;
    private static final long CHECK_NANOS = 1_000_000;

    /** How a call ended. */
    enum Outcome { REPLIED, TOO_LARGE, DIED, OVERRAN }

    private final Lane lane;
    private final TeeLane wire;
    private final Backoff idle = Backoff.forReply(200_000);
    /** Where each memref of the call in progress lies in the data area (-1: a null memref). */
    private final long[] placed = new long[TeeParams.COUNT];
    private long seq;

    LaneClient(Lane lane) {
        this.lane = lane;
        this.wire = lane.wire();
    }

    Lane lane() {
        return lane;
    }

    /**
     * Sends one request and waits for its reply; on {@link Outcome#REPLIED} {@link #reply} reads it. A memref that
     * does not fit answers {@link Outcome#TOO_LARGE} before anything is sent.
     */
    Outcome call(Process process, int kind, int command, long session, UUID ta, int login, UUID client,
                 TeeParams params, TeeCancellation cancel, long limitNanos) {
        int types = 0;
        long data = 0;
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = params.type(i);
            types |= t << (4 * i);
            if (TeeParams.isMemref(t)) {
                MemorySegment buf = params.buffer(i);
                long size = params.size(i);
                if (buf == null) {
                    placed[i] = TeeLane.NULL_MEMREF;
                } else {
                    if (buf.byteSize() > MAX_MEMREF || data + buf.byteSize() > wire.dataSize()) {
                        return Outcome.TOO_LARGE;
                    }
                    placed[i] = data;
                    // Every memref is copied in, output ones too (the host zeroed those): the lane never shows a
                    // TA what an earlier call left there.
                    MemorySegment.copy(buf, 0, wire.data(data, buf.byteSize()), 0, buf.byteSize());
                    size = buf.byteSize();
                    data += (buf.byteSize() + 63) & ~63L;
                }
                wire.param(i, placed[i], 0, size);
            } else {
                wire.param(i, params.a(i), params.b(i), 0);
            }
        }
        wire.request(kind, command, session, ta, login, client, types);
        long s = ++seq;
        wire.publishRequest(s);
        return await(process, s, cancel, limitNanos);
    }

    /**
     * Asks the instance to serve a direct lane for {@code session}: {@code size} bytes at {@code regionOffset} of the
     * guest's region ({@link TeeLane#ATTACH}); on {@link Outcome#REPLIED} {@link #reply} reads the answer.
     */
    Outcome attach(Process process, long session, long regionOffset, long size, long limitNanos) {
        wire.param(0, regionOffset, 0, size);
        for (int i = 1; i < TeeParams.COUNT; i++) {
            wire.param(i, 0, 0, 0);
        }
        wire.request(TeeLane.ATTACH, 0, session, null, 0, null, 0);
        long s = ++seq;
        wire.publishRequest(s);
        return await(process, s, TeeCancellation.NEVER, limitNanos);
    }

    /** Waits for the reply to {@code s}, forwarding a cancel request, within the call limit. */
    private Outcome await(Process p, long s, TeeCancellation cancel, long limitNanos) {
        idle.reset();
        long start = System.nanoTime();
        long nextCheck = start + CHECK_NANOS;
        boolean cancelSent = false;
        int spins = 0;
        long seen;
        while ((seen = wire.replySeq()) != s) {
            if (idle.busy()) {
                if ((++spins & 127) != 0) {
                    continue;
                }
            } else if (!wire.awaitReply(seen, CHECK_NANOS)) {
                idle.nap();
            }
            if (!cancelSent && cancel.requested()) {
                wire.requestCancel(s);
                cancelSent = true;
            }
            long now = System.nanoTime();
            if (now >= nextCheck) {
                nextCheck = now + CHECK_NANOS;
                if (!p.isAlive()) {
                    return wire.replySeq() == s ? Outcome.REPLIED : Outcome.DIED;
                }
                if (now - start > limitNanos) {
                    return Outcome.OVERRAN;
                }
            }
        }
        return Outcome.REPLIED;
    }

    /** The reply to the call just made: output values and sizes into {@code params}, output data into buffers. */
    TeeReturn reply(TeeParams params) {
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = params.type(i);
            if (TeeParams.isValue(t) && (t & 2) != 0) {
                params.setValue(i, wire.replyA(i), wire.replyB(i));
            } else if (TeeParams.isMemref(t) && (t & 2) != 0) {
                long out = wire.replyC(i);
                params.setSize(i, out);
                MemorySegment buf = params.buffer(i);
                if (buf != null && out > 0) {
                    long n = Math.min(out, buf.byteSize());
                    MemorySegment.copy(wire.data(placed[i], n), 0, buf, 0, n);
                }
            }
        }
        return new TeeReturn(wire.replyRet(), wire.replyOrigin(), wire.replySession());
    }

    @Override
    public void close() {
        lane.close();
    }
}
