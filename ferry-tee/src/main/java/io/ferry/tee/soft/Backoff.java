package io.ferry.tee.soft;

import java.util.concurrent.locks.LockSupport;

/**
 * How one side of a {@link Lane} waits: spin briefly (where cores are plenty, and the host for a reply on any
 * machine: {@link #forReply}), then yield for {@link #YIELD_NANOS}, then sleep on the lane's futex, which the other
 * side rings when it publishes (see {@code TeeLane}). While calls keep coming the waiting side answers within a
 * yield; a call after a pause costs one futex wake-up; an idle side costs no CPU. Not thread-safe: one per waiting
 * thread.
 */
final class Backoff {
    /**
     * A TEE call keeps three threads busy (the guest, its host endpoint, the TEE lane), each waiting for the next.
     * Where they do not each have a core, a spinner holds the core its peer needs to answer: measured on 2 cores with
     * both sides spinning, 200 spins cost about 7 µs per hand-over, a yield about 1 µs. So both sides spin by count
     * only with 4 cores or more; the host's wait for a reply also spins by the clock ({@link #REPLY_SPIN_NANOS}).
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
    /** How long this side spins by the clock before it yields, on any number of cores (see {@link #forReply}). */
    private final long spinNanos;
    /** Whether this wait spins: not while spins keep running out ({@link #reset}). */
    private boolean spinning;
    private long spinSince = -1;
    /** This wait's spin ran out before the wait ended (it spun at all: {@code spinSince >= 0}). */
    private boolean spunOut;
    /** Consecutive waits whose spin ran out; waits skipped since spinning was suspended. */
    private int runOuts;
    private int skipped;
    private int spins;
    private long idleSince = -1;
    private long nap = MIN_NAP_NANOS;

    /** {@code maxNapNanos}: the longest nap where futexes do not work (see {@link #nap}). */
    Backoff(long maxNapNanos) {
        this(maxNapNanos, 0);
    }

    private Backoff(long maxNapNanos, long spinNanos) {
        this.maxNapNanos = maxNapNanos;
        this.spinNanos = spinNanos;
        this.spinning = spinNanos > 0;
    }

    /**
     * How long the host spins, by the clock and on any number of cores, for a TA's reply before it yields. A TEE call
     * from a guest process passes a guest, the host and the TA's process; on two cores two of them share one, and
     * each hand-over between processes there is a context switch (about 5 µs on the 2-core development VM, whose
     * page tables are shadowed). The host's wait is the one that gains from holding its core: the TA and the guest
     * then take turns on the other, and the reply is seen the moment it lands. Measured there (`./ferry bench tee`,
     * three alternating pairs of full runs, docs/benchmarks.md "A bounded spin for the TA's reply"): the native
     * client's round trip went from 21.2-21.4 to 12.2-13.1 µs p50. Bounded, because a spinner that outlasts the
     * call holds a core another process may need: a long TA call yields after this. And adaptive ({@link #reset}):
     * with one busy process beside the bench the spin ran out call after call and made every figure worse (native
     * 42 → 63 µs, Java 26 → 46 µs); spinning only while it pays kept the idle machine's gain and the loaded one's
     * figures (native 42.0 and 42.5 against 41.9 and 42.3 µs). Below 4 cores only this wait spins: a TA or a
     * guest that spins as well leaves the third party no core (4 ms, one scheduler tick, in the same experiment).
     */
    static final long REPLY_SPIN_NANOS = Long.getLong("ferry.tee.replySpinNanos", 20_000);
    private static final int PROBE_EVERY = 32;

    /** The host's wait for a TA's reply: spins {@link #REPLY_SPIN_NANOS} first, then as {@link #busy} says. */
    static Backoff forReply(long maxNapNanos) {
        return new Backoff(maxNapNanos, REPLY_SPIN_NANOS);
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
        if (spinning && !spunOut) {
            if (spinSince < 0) {
                spinSince = now;
            }
            if (now - spinSince < spinNanos) {
                Thread.onSpinWait();
                return true;
            }
            spunOut = true;
        }
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

    /**
     * Before a new wait. The spin adapts, as adaptive mutexes do: where the other side's answer keeps coming after the
     * spin ran out (a busy machine, where the spinner holds a core the other processes need, or a long TA call), three
     * waits in a row, this side stops spinning and tries again every {@link #PROBE_EVERY}th wait.
     */
    void reset() {
        if (spinSince >= 0) {
            runOuts = spunOut ? runOuts + 1 : 0;
        }
        spinning = spinNanos > 0 && (runOuts < 3 || ++skipped % PROBE_EVERY == 0);
        spunOut = false;
        spins = 0;
        spinSince = -1;
        idleSince = -1;
        nap = MIN_NAP_NANOS;
    }
}
