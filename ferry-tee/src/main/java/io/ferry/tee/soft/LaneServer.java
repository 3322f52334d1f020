package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
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
    private final TeeLane wire;
    private final TaRuntime runtime;
    private final String guest;
    private final UUID ta;
    private final TaParams params = new TaParams();
    private final DirectLanes direct;
    private volatile boolean running = true;

    private final long startSeq;

    /** Reads the lane's request sequence now, before the host is told READY, so no request can slip past. */
    LaneServer(Lane lane, TaRuntime runtime, String guest, UUID ta, DirectLanes direct) {
        this.lane = lane;
        this.direct = direct;
        this.wire = lane.wire();
        this.runtime = runtime;
        this.guest = guest;
        this.ta = ta;
        this.startSeq = wire.requestSeq();
    }

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        LaneLoop.serve(wire, startSeq, () -> running, seq -> {
            try {
                serve(seq);
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "lane " + lane.path().getFileName() + ": request " + seq + " failed", e);
                wire.clearReply();
                wire.reply(TeeWire.ERROR_GENERIC, TeeWire.ORIGIN_TEE, 0);
            }
        });
    }

    private void serve(long seq) {
        // Each field is read once into a local; memref ranges are checked against the data area (TeeLane.data).
        int kind = wire.kind();
        int types = wire.types();
        for (int i = 0; i < 4; i++) {
            int t = (types >>> (4 * i)) & 0xF;
            long a = wire.paramA(i);
            long b = wire.paramB(i);
            long c = wire.paramC(i);
            if (t >= 5 && t <= 7) {
                MemorySegment buf = a == TeeLane.NULL_MEMREF ? null : wire.data(a, c);
                params.set(i, t, 0, 0, buf, c);
            } else if (t >= 1 && t <= 3) {
                params.set(i, t, (int) a, (int) b, null, 0);
            } else {
                params.set(i, 0, 0, 0, null, 0);
            }
        }
        BooleanSupplier cancelled = () -> wire.cancelSeq() == seq;
        TaRuntime.Result r = switch (kind) {
            case TeeLane.OPEN -> {
                UUID asked = wire.ta();
                yield !asked.equals(ta) ? TaRuntime.Result.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE)
                        : runtime.open(guest, ta, wire.login(), wire.client(), params, cancelled);
            }
            case TeeLane.INVOKE -> runtime.invoke(wire.session(), wire.command(), params, cancelled);
            case TeeLane.CLOSE -> {
                long session = wire.session();
                direct.detach(session);
                runtime.close(session);
                yield TaRuntime.Result.of(TeeWire.SUCCESS, TeeWire.ORIGIN_TEE);
            }
            case TeeLane.ATTACH -> {
                int code = direct.attach(wire.session(), wire.paramA(0), wire.paramC(0));
                yield TaRuntime.Result.of(code, code == TeeWire.ERROR_NOT_SUPPORTED ? TeeWire.ORIGIN_COMMS
                        : TeeWire.ORIGIN_TEE);
            }
            default -> TaRuntime.Result.of(TeeWire.ERROR_BAD_FORMAT, TeeWire.ORIGIN_TEE);
        };
        wire.reply(r.code(), r.origin(), r.session());
        for (int i = 0; i < 4; i++) {
            wire.replyParam(i, params.a(i) & 0xFFFF_FFFFL, params.b(i) & 0xFFFF_FFFFL, params.size(i));
        }
    }
}
