package io.ferry.channel;

import io.ferry.channel.os.CpuMove;

/**
 * Idling for a ring's consumer, by time: spin with {@code Thread.onSpinWait} for {@code spinNanos} (most answers
 * come within microseconds and a spinning consumer sees them at once), then yield for {@code yieldNanos} (the
 * producer may need this core), then sleep on the ring's doorbell, a futex the producer rings when it publishes to
 * a sleeping consumer, with timeouts growing from {@code minSleepNanos} to {@code maxSleepNanos}. A long wait (a
 * large copy, a long kernel) thus leaves the CPU to the work it waits for, and an idle consumer costs one wake-up
 * per {@code maxSleepNanos}.
 *
 * <p><b>A server sharing a CPU with its caller.</b> The kernel may put a server's spinning thread and its caller's
 * on one CPU and leave them there (its load balancer does not move a thread that always runs, as cache-hot); each
 * then spins its whole spin before the other runs, about 50 µs a call on the 2-core VM where a call takes 1 µs
 * (docs/benchmarks.md, "Two spinning threads on one CPU"). So a server's wait ({@link #forRequests} with the ring it
 * answers on) looks, once its spin is over, whether its caller has read the answers ({@link SpscRing#holdsUnread()}):
 * after {@link #MOVE_AFTER} waits in a row in which it has not, the caller is not running, and the server moves its
 * own thread to another CPU ({@link CpuMove}), at most once per {@link #MIN_MOVE_INTERVAL_NANOS}. A move that did not
 * help (the caller is still behind in the next wait) doubles that interval, up to {@link #MAX_MOVE_INTERVAL_NANOS};
 * one that helped sets it back. So a caller slow for other reasons (a busy machine, a guest that does not read)
 * costs a move (0.1–0.3 ms of the server's time on the VM) a second at most. A caller that keeps up costs nothing:
 * the look comes after the spin and reads two words of a ring header. A guest's own threads are never moved.
 */
public final class RingIdleStrategy implements IdleStrategy {
    /** Waits in a row in which the caller had not read the server's answers by the end of the spin. */
    static final int MOVE_AFTER = 2;
    static final long MIN_MOVE_INTERVAL_NANOS = 1_000_000;
    static final long MAX_MOVE_INTERVAL_NANOS = 1_000_000_000;

    private final SpscRing ring;
    /** A server's: the ring it answers on, whose reader is its caller; else null (it never moves). */
    private final SpscRing answers;
    private final long spinNanos;
    private final long yieldNanos;
    private final long minSleepNanos;
    private final long maxSleepNanos;
    private long idleSince;
    private long sleepNanos;
    /** Whether the caller was behind in this wait; in how many waits in a row it was. */
    private boolean late;
    private int lateWaits;
    private long movedAt = Long.MIN_VALUE / 2;
    private long moveInterval = MIN_MOVE_INTERVAL_NANOS;
    private long moves;
    /** Whether a move is to be judged: none, made in this wait, or to be judged by this one. */
    private int judge;
    private static final int NONE = 0;
    private static final int MOVED = 1;
    private static final int JUDGE_THIS = 2;

    public RingIdleStrategy(SpscRing ring, long spinNanos, long yieldNanos, long minSleepNanos, long maxSleepNanos) {
        this(ring, null, spinNanos, yieldNanos, minSleepNanos, maxSleepNanos);
    }

    /**
     * A server's wait: as above, moving to another CPU when the caller, which reads {@code answers}, falls behind
     * (see the class's text); {@code answers} null: never.
     */
    public RingIdleStrategy(SpscRing ring, SpscRing answers, long spinNanos, long yieldNanos, long minSleepNanos,
                            long maxSleepNanos) {
        if (spinNanos < 0 || yieldNanos < 0 || minSleepNanos < 1 || maxSleepNanos < minSleepNanos) {
            throw new IllegalArgumentException("invalid ring idle strategy parameters");
        }
        this.ring = ring;
        this.answers = answers;
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

    /**
     * A server waiting for requests on {@code ring}, answering on {@code answers} (null: none to look at): spins 20
     * µs, yields 200 µs, then doorbell sleeps up to {@code maxSleepNanos}; moves off a CPU it shares with its caller.
     */
    public static RingIdleStrategy forRequests(SpscRing ring, SpscRing answers, long maxSleepNanos) {
        return new RingIdleStrategy(ring, answers, 20_000, 200_000, 50_000, maxSleepNanos);
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
            if (answers != null && !late && answers.holdsUnread()) {
                late = true;
                if (++lateWaits >= MOVE_AFTER && now - movedAt >= moveInterval) {
                    move(now);
                    return;
                }
            }
            Thread.yield();
        } else {
            ring.awaitData(sleepNanos);
            sleepNanos = Math.min(sleepNanos << 1, maxSleepNanos);
        }
    }

    /** Moves this thread off its CPU; the next wait that idles tells whether that helped. */
    private void move(long now) {
        movedAt = now;
        lateWaits = 0;
        moves++;
        judge = MOVED;
        CpuMove.moveOff();
    }

    /** How many times this waiter has moved its thread (tried to: one allowed CPU leaves it where it is). */
    long moves() {
        return moves;
    }

    @Override
    public void reset() {
        if (idleSince != Long.MIN_VALUE) { // a wait that idled
            if (judge == JUDGE_THIS) {
                // the first wait after a move: the caller kept up (the move helped), or the next move waits longer
                moveInterval = late ? Math.min(moveInterval * 2, MAX_MOVE_INTERVAL_NANOS) : MIN_MOVE_INTERVAL_NANOS;
                judge = NONE;
            } else if (judge == MOVED) {
                judge = JUDGE_THIS;
            }
            if (!late) {
                lateWaits = 0; // the caller kept up: the streak ends
            }
        }
        late = false;
        idleSince = Long.MIN_VALUE;
        sleepNanos = minSleepNanos;
    }
}
