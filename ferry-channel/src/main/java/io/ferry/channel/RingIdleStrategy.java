package io.ferry.channel;

import io.ferry.channel.os.CpuMove;
import java.util.function.LongSupplier;

/**
 * Idling for a ring's consumer, by time: spin with {@code Thread.onSpinWait} for {@code spinNanos} (most answers
 * come within microseconds and a spinning consumer sees them at once; between two readings of the clock it looks at
 * nothing but the ring's TAIL, up to {@link #SPIN_LOOKS} times, through this consumer's own view of the ring), then
 * yield for {@code yieldNanos} (the producer may need this core), then sleep on the ring's doorbell, a futex the
 * producer rings when it publishes to a sleeping consumer, with timeouts growing from {@code minSleepNanos} to
 * {@code maxSleepNanos}. A long wait (a large copy, a long kernel) thus leaves the CPU to the work it waits for, and
 * an idle consumer costs one wake-up per {@code maxSleepNanos}.
 *
 * <p><b>A server sharing a CPU with its caller.</b> The kernel may put a server's spinning thread and its caller's
 * on one CPU and leave them there (its load balancer does not move a thread that always runs, as cache-hot); each
 * then spins its whole spin before the other runs, about 50 µs a call on the 2-core VM where a call takes 1 µs
 * (docs/benchmarks.md, "Two spinning threads on one CPU"). So a server's wait ({@link #forRequests} with the ring it
 * answers on) looks, once its spin is over, whether its caller has read the answers ({@link SpscRing#holdsUnread()}):
 * after {@link #MOVE_AFTER} such looks in a row that found it had not, the caller is not running, and the server moves
 * its own thread to another CPU ({@link CpuMove}): at most once per {@link #MIN_MOVE_INTERVAL_NANOS} and
 * {@link #MOVES_PER_SECOND} times a second, so that a caller slow for other reasons (a busy machine, a guest that
 * reads late on purpose: nothing the guest writes tells the two apart) costs at most that many moves, each 0.1–0.3
 * ms of the server's time on the VM (6 % of a thread that spins when it is idle anyway). A wait shorter than the
 * spin looks at nothing, and a caller that keeps up costs nothing: the look comes after the spin and reads two words
 * of a ring header. A guest's own threads never move.
 */
public final class RingIdleStrategy implements IdleStrategy {
    /** Looks in a row (one a wait, at the end of its spin) that found the caller had not read the answers. */
    static final int MOVE_AFTER = 2;
    static final long MIN_MOVE_INTERVAL_NANOS = 1_000_000;
    static final int MOVES_PER_SECOND = 200;
    /**
     * While spinning: looks at the ring's TAIL per reading of the clock (about 1 µs of looks; a reading costs 25 ns
     * and more on a VM's clock, a look a few ns on a line in the cache).
     */
    static final int SPIN_LOOKS = 32;

    private final SpscRing ring;
    /** A server's: the ring it answers on, whose reader is its caller; else null (it never moves). */
    private final SpscRing answers;
    private final LongSupplier clock;
    private final long spinNanos;
    private final long yieldNanos;
    private final long minSleepNanos;
    private final long maxSleepNanos;
    private long idleSince;
    private long sleepNanos;
    /** Whether this wait has looked at the caller (its spin is over). */
    private boolean looked;
    /** In how many of the looks in a row the caller was behind. */
    private int lateWaits;
    private long movedAt = Long.MIN_VALUE / 2;
    /** The second the move budget counts in: when it began, how many moves it has had. */
    private long secondStart = Long.MIN_VALUE / 2;
    private int movesThisSecond;
    private long moves;

    public RingIdleStrategy(SpscRing ring, long spinNanos, long yieldNanos, long minSleepNanos, long maxSleepNanos) {
        this(ring, null, spinNanos, yieldNanos, minSleepNanos, maxSleepNanos, System::nanoTime);
    }

    /**
     * {@code answers}: a server's, the ring it answers on, whose reader is its caller (it moves off a CPU it shares
     * with the caller: see the class's text); null: never moves. {@code clock}: {@code System::nanoTime} but in tests.
     */
    RingIdleStrategy(SpscRing ring, SpscRing answers, long spinNanos, long yieldNanos, long minSleepNanos,
                     long maxSleepNanos, LongSupplier clock) {
        if (spinNanos < 0 || yieldNanos < 0 || minSleepNanos < 1 || maxSleepNanos < minSleepNanos) {
            throw new IllegalArgumentException("invalid ring idle strategy parameters");
        }
        this.ring = ring;
        this.answers = answers;
        this.clock = clock;
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
        return new RingIdleStrategy(ring, answers, 20_000, 200_000, 50_000, maxSleepNanos, System::nanoTime);
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
        long now = clock.getAsLong();
        if (idleSince == Long.MIN_VALUE) {
            idleSince = now;
        }
        long idle = now - idleSince;
        if (idle < spinNanos) {
            // Between two readings of the clock, look at the ring alone: a record is seen within one look, not
            // one turn of the caller's loop and a clock reading later (docs/benchmarks.md, "Spinning on the ring").
            for (int i = 0; i < SPIN_LOOKS && ring.isEmpty(); i++) {
                Thread.onSpinWait();
            }
        } else if (idle < spinNanos + yieldNanos) {
            if (answers != null && !looked) {
                looked = true; // once a wait, at the end of its spin
                if (!answers.holdsUnread()) {
                    lateWaits = 0; // the caller kept up: the streak ends
                } else if (++lateWaits >= MOVE_AFTER && mayMove(now)) {
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

    private boolean mayMove(long now) {
        if (now - movedAt < MIN_MOVE_INTERVAL_NANOS) {
            return false;
        }
        if (now - secondStart >= 1_000_000_000L) {
            secondStart = now;
            movesThisSecond = 0;
        }
        return movesThisSecond < MOVES_PER_SECOND;
    }

    private void move(long now) {
        movedAt = now;
        movesThisSecond++;
        lateWaits = 0;
        moves++;
        CpuMove.moveOff();
    }

    /** How many times this waiter has moved its thread (tried to: one allowed CPU leaves it where it is). */
    long moves() {
        return moves;
    }

    @Override
    public void reset() {
        looked = false;
        idleSince = Long.MIN_VALUE;
        sleepNanos = minSleepNanos;
    }
}
