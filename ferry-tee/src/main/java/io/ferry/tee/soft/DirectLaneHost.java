package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
import io.ferry.protocol.TeeWire;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeReturn;
import java.lang.foreign.MemorySegment;

/**
 * The host's part in an instance's direct lanes (docs/protocol.md, "Direct TEE lanes"): asks the instance's process
 * to serve one ({@link TeeLane#ATTACH} on its own lane), and closes them: with their session, or all at once when the
 * process is gone, answering a call in flight TARGET_DEAD so no guest waits for an instance that will not answer.
 * The lanes are guest memory: the host only writes them here, and reads nothing from them but a sequence number it
 * hands back.
 */
final class DirectLaneHost {
    private DirectLaneHost() {
    }

    /** Attaches {@code lane} to {@code session} of {@code inst} (lock held, process started). */
    static TeeReturn attach(Instance inst, long session, TeeBackend.DirectLane lane, long limitNanos) {
        if (inst.lane == null || inst.exited || !inst.process.isAlive()) {
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        LaneClient.Outcome o = inst.lane.attach(inst.process, session & 0xFFFF_FFFFL, lane.regionOffset(), lane.size(),
                limitNanos);
        if (o != LaneClient.Outcome.REPLIED) {
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        TeeReturn r = inst.lane.reply(new io.ferry.spi.TeeParams());
        if (r.ok()) {
            inst.direct.put(session, lane.hostView());
            if (inst.dead || inst.exited || !inst.process.isAlive()) {
                closeAll(inst); // gone meanwhile: its death may have closed the others before this one was listed
            }
        }
        return new TeeReturn(r.code(), r.origin(), session);
    }

    /** Invokes the process of {@code inst} served on its direct lanes (its count in the host's lane), 0 once unmapped. */
    static long served(Instance inst) {
        LaneClient lane = inst.lane;
        try {
            return lane == null ? 0 : lane.lane().wire().directCalls();
        } catch (IllegalStateException e) {
            return 0;
        }
    }

    /** Closes every lane of {@code inst}: its process has ended. */
    static void closeAll(Instance inst) {
        for (Long s : inst.direct.keySet()) {
            close(inst.direct.remove(s));
        }
    }

    /**
     * Closes one lane (null: none): sets CLOSED, and answers a request the instance has not answered with
     * TARGET_DEAD, waking the guest. The guest may have unmapped or rewritten it: only its own call suffers.
     */
    static void close(MemorySegment view) {
        if (view == null) {
            return;
        }
        try {
            TeeLane w = new TeeLane(view);
            w.markClosed();
            long asked = w.requestSeq();
            if (w.replySeq() != asked) {
                w.clearReply();
                w.reply(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE, 0);
                w.publishReply(asked);
            }
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException e) {
            // the guest's session (and the host's mapping of its heap) ended first: nobody waits there
        }
    }
}
