package io.ferry.channel;

import java.util.concurrent.locks.LockSupport;

/**
 * Backs off in phases while there is no work: return at once ({@code maxSpins} times, so the caller busy-spins),
 * then {@link Thread#onSpinWait()} ({@code maxSpinWaits} times), then {@link Thread#yield()}
 * ({@code maxYields} times), then {@link LockSupport#parkNanos(long)} with sleeps doubling from
 * {@code minParkNanos} to {@code maxParkNanos}. Any work resets it. With the defaults (100 spins, 100 spin
 * waits, 100 yields, 1 µs to 1 ms) an idle loop wakes about a thousand times a second: near-zero CPU.
 * One instance per thread.
 */
public final class BackoffIdleStrategy implements IdleStrategy {

    public static final int DEFAULT_MAX_SPINS = 100;
    public static final int DEFAULT_MAX_SPIN_WAITS = 100;
    public static final int DEFAULT_MAX_YIELDS = 100;
    public static final long DEFAULT_MIN_PARK_NANOS = 1_000;
    public static final long DEFAULT_MAX_PARK_NANOS = 1_000_000;

    private final long maxSpins;
    private final long maxSpinWaits;
    private final long maxYields;
    private final long minParkNanos;
    private final long maxParkNanos;

    private long idleCount;
    private long parkNanos;

    /** The defaults: 100 spins, 100 spin waits, 100 yields, parks from 1 µs to 1 ms. */
    public BackoffIdleStrategy() {
        this(DEFAULT_MAX_SPINS, DEFAULT_MAX_SPIN_WAITS, DEFAULT_MAX_YIELDS, DEFAULT_MIN_PARK_NANOS,
                DEFAULT_MAX_PARK_NANOS);
    }

    /**
     * @throws IllegalArgumentException when a count is negative or {@code 0 < minParkNanos <= maxParkNanos}
     *                                  does not hold
     */
    public BackoffIdleStrategy(int maxSpins, int maxSpinWaits, int maxYields, long minParkNanos,
                               long maxParkNanos) {
        if (maxSpins < 0 || maxSpinWaits < 0 || maxYields < 0) {
            throw new IllegalArgumentException("spin, spin-wait and yield counts must be >= 0");
        }
        if (minParkNanos <= 0 || maxParkNanos < minParkNanos) {
            throw new IllegalArgumentException("need 0 < minParkNanos (" + minParkNanos + ") <= maxParkNanos ("
                    + maxParkNanos + ")");
        }
        this.maxSpins = maxSpins;
        this.maxSpinWaits = maxSpins + (long) maxSpinWaits;
        this.maxYields = this.maxSpinWaits + maxYields;
        this.minParkNanos = minParkNanos;
        this.maxParkNanos = maxParkNanos;
        this.parkNanos = minParkNanos;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
            return;
        }
        long n = idleCount;
        if (n < maxSpins) {
            idleCount = n + 1;
        } else if (n < maxSpinWaits) {
            idleCount = n + 1;
            Thread.onSpinWait();
        } else if (n < maxYields) {
            idleCount = n + 1;
            Thread.yield();
        } else {
            LockSupport.parkNanos(parkNanos);
            parkNanos = Math.min(parkNanos << 1, maxParkNanos);
        }
    }

    @Override
    public void reset() {
        idleCount = 0;
        parkNanos = minParkNanos;
    }

    @Override
    public String toString() {
        return "BackoffIdleStrategy[spins=" + maxSpins + ", spinWaits=" + (maxSpinWaits - maxSpins) + ", yields="
                + (maxYields - maxSpinWaits) + ", park=" + minParkNanos + ".." + maxParkNanos + "ns]";
    }
}
