package io.ferry.channel;

/**
 * Idling for a ring's consumer, by time: spin with {@code Thread.onSpinWait} for {@code spinNanos} (most answers
 * come within microseconds and a spinning consumer sees them at once), then yield for {@code yieldNanos} (the
 * producer may need this core), then sleep on the ring's doorbell, a futex the producer rings when it publishes to
 * a sleeping consumer, with timeouts growing from {@code minSleepNanos} to {@code maxSleepNanos}. A long wait (a
 * large copy, a long kernel) thus leaves the CPU to the work it waits for, and an idle consumer costs one wake-up
 * per {@code maxSleepNanos}.
 */
public final class RingIdleStrategy implements IdleStrategy {
    private final SpscRing ring;
    private final long spinNanos;
    private final long yieldNanos;
    private final long minSleepNanos;
    private final long maxSleepNanos;
    private long idleSince;
    private long sleepNanos;

    public RingIdleStrategy(SpscRing ring, long spinNanos, long yieldNanos, long minSleepNanos, long maxSleepNanos) {
        if (spinNanos < 0 || yieldNanos < 0 || minSleepNanos < 1 || maxSleepNanos < minSleepNanos) {
            throw new IllegalArgumentException("invalid ring idle strategy parameters");
        }
        this.ring = ring;
        this.spinNanos = spinNanos;
        this.yieldNanos = yieldNanos;
        this.minSleepNanos = minSleepNanos;
        this.maxSleepNanos = maxSleepNanos;
        reset();
    }

    /** A caller waiting for an answer: spins 20 µs, yields 200 µs, then doorbell sleeps up to 1 ms. */
    public static RingIdleStrategy forAnswers(SpscRing ring) {
        return new RingIdleStrategy(ring, 20_000, 200_000, 50_000, 1_000_000);
    }

    /**
     * A caller waiting for device work (a finish, an event, a build): yields at once instead of spinning, since
     * on a small machine the device's own threads (a CPU device) need the core, then sleeps on the doorbell.
     */
    public static RingIdleStrategy forDeviceWork(SpscRing ring) {
        return new RingIdleStrategy(ring, 0, 200_000, 50_000, 1_000_000);
    }

    /**
     * A caller whose ring has an interrupt {@link SpscRing#doorbell(RingDoorbell) doorbell} (a VM guest): no spinning
     * or yielding, it sleeps at once and the interrupt wakes it; 1 ms naps bound a lost interrupt.
     */
    public static RingIdleStrategy forInterrupts(SpscRing ring) {
        return new RingIdleStrategy(ring, 0, 0, 1_000_000, 1_000_000);
    }

    /** A server waiting for requests: as above, sleeping up to {@code maxSleepNanos} when idle. */
    public static RingIdleStrategy forRequests(SpscRing ring, long maxSleepNanos) {
        return new RingIdleStrategy(ring, 20_000, 200_000, 50_000, maxSleepNanos);
    }

    /**
     * Between sessions: no spinning, a sleep on the ring's doorbell of up to {@code napNanos} after each turn with
     * no work (a connect request rings it).
     */
    public static IdleStrategy doorbellNaps(SpscRing ring, long napNanos) {
        return new IdleStrategy() {
            @Override
            public void idle(int workCount) {
                if (workCount == 0) {
                    ring.awaitDoorbell(napNanos);
                }
            }

            @Override
            public void reset() {
            }
        };
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
            return;
        }
        long now = System.nanoTime();
        if (idleSince == Long.MIN_VALUE) {
            idleSince = now;
        }
        long idle = now - idleSince;
        if (idle < spinNanos) {
            Thread.onSpinWait();
        } else if (idle < spinNanos + yieldNanos) {
            Thread.yield();
        } else {
            ring.awaitData(sleepNanos);
            sleepNanos = Math.min(sleepNanos << 1, maxSleepNanos);
        }
    }

    @Override
    public void reset() {
        idleSince = Long.MIN_VALUE;
        sleepNanos = minSleepNanos;
    }
}
