package io.ferry.tee.soft;

import static io.ferry.tee.soft.LaneMessages.*;

import io.ferry.protocol.TeeWire;
import io.ferry.tee.ta.TaParams;
import java.lang.foreign.MemorySegment;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The TEE process's thread for its {@link Lane}: waits for a request, runs it on the {@link TaRuntime}, writes the
 * reply. The process serves one (guest, TA) pair: every OpenSession runs for that guest, and one for any other TA
 * answers ITEM_NOT_FOUND. Fields of the request are read once into locals and memref ranges are checked against the
 * data area, although only the host can write a lane.
 */
final class LaneServer implements Runnable {
    private static final Logger LOG = Logger.getLogger("ferry.tee");

    private final Lane lane;
    private final TaRuntime runtime;
    private final String guest;
    private final UUID ta;
    private final TaParams params = new TaParams();
    private volatile boolean running = true;

    private final long startSeq;

    /** Reads the lane's request sequence now, before the host is told READY, so no request can slip past. */
    LaneServer(Lane lane, TaRuntime runtime, String guest, UUID ta) {
        this.lane = lane;
        this.runtime = runtime;
        this.guest = guest;
        this.ta = ta;
        this.startSeq = lane.getAcquire(Lane.REQUEST_SEQ);
    }

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        long last = startSeq;
        Backoff idle = new Backoff(1_000_000);
        while (running) {
            long seq = lane.getAcquire(Lane.REQUEST_SEQ);
            if (seq == last) {
                idle.idle();
                continue;
            }
            last = seq;
            idle.reset();
            MemorySegment reply = lane.reply();
            try {
                serve(seq, lane.request(), reply);
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "lane " + lane.path().getFileName() + ": request " + seq + " failed", e);
                reply.fill((byte) 0);
                reply.set(INT, RET, TeeWire.ERROR_GENERIC);
                reply.set(INT, ORIGIN, TeeWire.ORIGIN_TEE);
            }
            // Release: the reply body is visible before REPLY_SEQ.
            lane.setRelease(Lane.REPLY_SEQ, seq);
        }
    }

    private void serve(long seq, MemorySegment req, MemorySegment reply) {
        int kind = req.get(INT, KIND);
        int types = req.get(INT, TYPES);
        for (int i = 0; i < 4; i++) {
            int t = (types >>> (4 * i)) & 0xF;
            long a = param(req, PARAMS, i, A);
            long b = param(req, PARAMS, i, B);
            long c = param(req, PARAMS, i, C);
            if (t >= 5 && t <= 7) {
                MemorySegment buf = null;
                if (a != -1) {
                    if (a < 0 || c < 0 || a > lane.dataSize() - c) {
                        throw new IllegalArgumentException("memref " + i + " [" + a + ", +" + c + ") outside the data area");
                    }
                    buf = lane.segment().asSlice(Lane.DATA_OFFSET + a, c);
                }
                params.set(i, t, 0, 0, buf, c);
            } else if (t >= 1 && t <= 3) {
                params.set(i, t, (int) a, (int) b, null, 0);
            } else {
                params.set(i, 0, 0, 0, null, 0);
            }
        }
        BooleanSupplier cancelled = () -> lane.getAcquire(Lane.CANCEL_SEQ) == seq;
        TaRuntime.Result r = switch (kind) {
            case OPEN -> {
                UUID asked = new UUID(req.get(LONG, TA_HI), req.get(LONG, TA_LO));
                yield !asked.equals(ta) ? TaRuntime.Result.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE)
                        : runtime.open(guest, ta, req.get(INT, LOGIN),
                                new UUID(req.get(LONG, CLIENT_HI), req.get(LONG, CLIENT_LO)), params, cancelled);
            }
            case INVOKE -> runtime.invoke(req.get(LONG, SESSION), req.get(INT, COMMAND), params, cancelled);
            case CLOSE -> {
                runtime.close(req.get(LONG, SESSION));
                yield TaRuntime.Result.of(TeeWire.SUCCESS, TeeWire.ORIGIN_TEE);
            }
            default -> TaRuntime.Result.of(TeeWire.ERROR_BAD_FORMAT, TeeWire.ORIGIN_TEE);
        };
        reply.set(INT, RET, r.code());
        reply.set(INT, ORIGIN, r.origin());
        reply.set(LONG, REPLY_SESSION, r.session());
        for (int i = 0; i < 4; i++) {
            param(reply, REPLY_PARAMS, i, A, params.a(i) & 0xFFFF_FFFFL);
            param(reply, REPLY_PARAMS, i, B, params.b(i) & 0xFFFF_FFFFL);
            param(reply, REPLY_PARAMS, i, C, params.size(i));
        }
    }
}
