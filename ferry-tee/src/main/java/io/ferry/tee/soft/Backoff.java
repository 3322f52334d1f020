package io.ferry.tee.soft;

import java.util.concurrent.locks.LockSupport;

/**
 * How one side of a {@link Lane} waits: spin briefly (only where cores are plenty), then yield for
 * {@link #YIELD_NANOS}, then sleep on the lane's futex, which the other side rings when it publishes (see
 * {@code TeeLane}). While calls keep coming the waiting side answers within a yield; a call after a pause costs one
 * futex wake-up; an idle side costs no CPU. Not thread-safe: one per waiting thread.
 */
final class Backoff {
    /**
     * A TEE call keeps three threads busy (the guest, its host endpoint, the TEE lane), each waiting for the next.
     * Where they do not each have a core, a spinner holds the core its peer needs to answer: measured on 2 cores,
     * 200 spins cost about 7 µs per hand-over, a yield about 1 µs. So spin only with 4 cores or more.
     */
    private static final int SPINS = Integer.getInteger("ferry.tee.spins",
            Runtime.getRuntime().availableProcessors() >= 4 ? 200 : 0);
    /**
     * How long a waiting side yields before it sleeps on the lane's futex: long enough that a TA called at 20 Hz or
     * more stays awake (on the 2-core development VM a call to a sleeping TA took 230-330 µs, to a yielding one
     * 25-45 µs: there a wake-up of an idle vCPU is slow), short enough that an idle TA stops taking turns on a core
     * soon. It used to yield for 50,000 turns (about 65 ms there) and then poll with sleeps growing to a
     * millisecond, so a TA called every 100 ms answered in 0.63-0.84 ms at the median (docs/benchmarks.md, "tee").
     * The host passes its value on to the TEE processes ({@code -Dferry.tee.yieldNanos}).
     */
    static final long YIELD_NANOS = Long.getLong("ferry.tee.yieldNanos", 50_000_000);
    private static final long MIN_NAP_NANOS = 1_000;
    private final long maxNapNanos;
    private int spins;
    private long idleSince = -1;
    private long nap = MIN_NAP_NANOS;

    /** {@code maxNapNanos}: the longest nap where futexes do not work (see {@link #nap}). */
    Backoff(long maxNapNanos) {
        this.maxNapNanos = maxNapNanos;
    }

    /** The spin count of this process (passed on to the TEE processes, so both sides back off alike). */
    static int spins() {
        return SPINS;
    }

    /**
     * One turn of a young wait: spins or yields, and answers true. Answers false, doing nothing, once the wait is
     * old enough to sleep on the lane's futex.
     */
    boolean busy() {
        if (spins < SPINS) {
            spins++;
            Thread.onSpinWait();
            return true;
        }
        long now = System.nanoTime();
        if (idleSince < 0) {
            idleSince = now;
        }
        if (now - idleSince < YIELD_NANOS) {
            Thread.yield();
            return true;
        }
        return false;
    }

    /** Where the lane's futex does not work: a timed nap instead, growing from 1 µs to the maximum. */
    void nap() {
        LockSupport.parkNanos(nap);
        nap = Math.min(nap * 2, maxNapNanos);
    }

    void reset() {
        spins = 0;
        idleSince = -1;
        nap = MIN_NAP_NANOS;
    }
}
