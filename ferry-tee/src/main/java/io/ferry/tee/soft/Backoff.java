package io.ferry.tee.soft;

import java.util.concurrent.locks.LockSupport;

/**
 * Spin briefly, then yield (for some tens of milliseconds), then park with growing sleeps (capped): a waiting side
 * answers within a microsecond or two while calls keep coming, and costs almost no CPU when idle. Not thread-safe: one per waiting thread.
 */
final class Backoff {
    private static final int SPINS = 200;
    // Yields, not spins, for most of the wait: on a machine with fewer cores than busy threads (guest, endpoint,
    // TEE lane), a spinner would hold the core the peer needs to answer.
    private static final int YIELDS = 50_000;
    private static final long MIN_PARK_NANOS = 1_000;
    private final long maxParkNanos;
    private int count;
    private long park = MIN_PARK_NANOS;

    Backoff(long maxParkNanos) {
        this.maxParkNanos = maxParkNanos;
    }

    void idle() {
        if (count < SPINS) {
            count++;
            Thread.onSpinWait();
        } else if (count < SPINS + YIELDS) {
            count++;
            Thread.yield();
        } else {
            LockSupport.parkNanos(park);
            park = Math.min(park * 2, maxParkNanos);
        }
    }

    void reset() {
        count = 0;
        park = MIN_PARK_NANOS;
    }
}
