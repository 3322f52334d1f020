package io.ferry.tee.soft;

import java.util.concurrent.locks.LockSupport;

/**
 * Spin briefly (only where cores are plenty), then yield (for some tens of milliseconds), then park with growing
 * sleeps (capped): a waiting side answers within a microsecond or two while calls keep coming, and costs almost no
 * CPU when idle. Not thread-safe: one per waiting thread.
 */
final class Backoff {
    /**
     * A TEE call keeps three threads busy (the guest, its host endpoint, the TEE lane), each waiting for the next.
     * Where they do not each have a core, a spinner holds the core its peer needs to answer: measured on 2 cores,
     * 200 spins cost about 7 µs per hand-over, a yield about 1 µs. So spin only with 4 cores or more.
     */
    private static final int SPINS = Integer.getInteger("ferry.tee.spins",
            Runtime.getRuntime().availableProcessors() >= 4 ? 200 : 0);
    private static final int YIELDS = 50_000;
    private static final long MIN_PARK_NANOS = 1_000;
    private final long maxParkNanos;
    private int count;
    private long park = MIN_PARK_NANOS;

    Backoff(long maxParkNanos) {
        this.maxParkNanos = maxParkNanos;
    }

    /** The spin count of this process (passed on to the TEE processes, so both sides back off alike). */
    static int spins() {
        return SPINS;
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
