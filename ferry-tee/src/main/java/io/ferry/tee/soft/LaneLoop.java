package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * The loop every lane thread of a TEE process runs, the host's lane ({@link LaneServer}) and a guest's direct lanes
 * ({@link DirectLanes}) alike: wait for the next request (yielding, then sleeping on the lane's futex), have it
 * answered, publish the answer.
 */
final class LaneLoop {
    /** The longest sleep on a lane's futex: how soon an idle thread that missed its wake-up sees that it is to stop. */
    static final long SLEEP_NANOS = 50_000_000;

    private LaneLoop() {
    }

    /**
     * Serves {@code wire}'s requests after {@code first} while {@code running}: {@code answer} writes the reply to
     * each request (it must not throw), then the reply is published.
     */
    static void serve(TeeLane wire, long first, BooleanSupplier running, LongConsumer answer) {
        long last = first;
        Backoff idle = new Backoff(1_000_000);
        while (running.getAsBoolean()) {
            long seq = wire.requestSeq();
            if (seq == last) {
                if (!idle.busy() && !wire.awaitRequest(last, SLEEP_NANOS)) {
                    idle.nap();
                }
                continue;
            }
            last = seq;
            idle.reset();
            answer.accept(seq);
            wire.publishReply(seq);
        }
    }
}
