package io.ferry.host.worker;

import io.ferry.host.session.RemoteFigures;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * What a worker that serves its guest's session publishes for the host, in the header of its private control
 * region (the host created that region; both map it). The worker runs guest code, so the host reads these words as
 * untrusted figures: they only feed status and the watchdog, which kills a worker that says it is busy too long.
 * (A worker that lies about being idle escapes only the FIFO policy's per-wait timing of its own guest's work; under
 * the scheduler the lease's words time every device command, and a lying worker is killed as an overrun.)
 *
 * <pre>
 *   control region header (4096 bytes; 0..511 is the region header proper)
 *   1024  calls            records the worker's session served
 *   1032  objects          live objects of the session
 *   1040  device memory    bytes of device memory its buffers hold
 *   1048  in flight        device commands enqueued and not finished
 *   1088  busy since       System.nanoTime() (CLOCK_MONOTONIC) when a wait for device work or a build began; 0: idle
 *   1096  busy limit      how long that wait may take, ns (0: no limit)
 *   1104  busy kind       1: a wait for device work, 2: a program build
 *   1152  (to 2047)      the worker's counts of calls and refusals, for /metrics ({@link WorkerCallTable})
 * </pre>
 *
 * Each word is written with release and read with acquire; a reader may see two words from different moments.
 */
public final class ServeWords implements RemoteFigures {
    static final long CALLS = 1024;
    static final long OBJECTS = 1032;
    static final long DEVICE_MEMORY = 1040;
    static final long IN_FLIGHT = 1048;
    static final long BUSY_SINCE = 1088;
    static final long BUSY_LIMIT = 1096;
    static final long BUSY_KIND = 1104;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment header;

    /** Over the control region's mapping (at least its 4096-byte header). */
    public ServeWords(MemorySegment control) {
        this.header = control.asSlice(0, 4096);
    }

    private long get(long at) {
        try {
            return (long) LONG.getAcquire(header, at);
        } catch (IllegalStateException e) {
            return 0; // unmapped: the worker is gone (a status read racing the session's end)
        }
    }

    private void set(long at, long v) {
        LONG.setRelease(header, at, v);
    }

    @Override
    public long calls() {
        return Math.max(0, get(CALLS));
    }

    @Override
    public long objects() {
        return Math.max(0, get(OBJECTS));
    }

    @Override
    public long deviceMemoryBytes() {
        return Math.max(0, get(DEVICE_MEMORY));
    }

    @Override
    public long commandsInFlight() {
        return Math.max(0, get(IN_FLIGHT));
    }

    /** Worker: the session's figures after a batch. */
    public void figures(long calls, long objects, long deviceMemory, long inFlight) {
        set(CALLS, calls);
        set(OBJECTS, objects);
        set(DEVICE_MEMORY, deviceMemory);
        set(IN_FLIGHT, inFlight);
    }

    /** Worker: a wait for device work that may take at most {@code limitNanos} begins (0: no limit). */
    public void busy(long limitNanos) {
        busy(limitNanos, false);
    }

    /** Worker: a wait for device work, or a program build, that may take at most {@code limitNanos} begins. */
    public void busy(long limitNanos, boolean build) {
        set(BUSY_KIND, build ? 2 : 1);
        set(BUSY_LIMIT, limitNanos);
        set(BUSY_SINCE, System.nanoTime());
    }

    /** Worker: the wait is over. */
    public void idle() {
        set(BUSY_SINCE, 0);
    }

    /**
     * Host: how far over its limit the worker's current wait is at {@code now}, in ns; 0 or less when it is within
     * its limit, has none, or the worker is idle.
     */
    public long overrun(long now) {
        long since = get(BUSY_SINCE);
        long limit = get(BUSY_LIMIT);
        if (since == 0 || limit <= 0) {
            return 0;
        }
        return now - since - limit;
    }

    /** Host: whether the current wait is a program build. */
    public boolean building() {
        return get(BUSY_KIND) == 2;
    }

    /** Host: the current wait's limit, ns. */
    public long limit() {
        return get(BUSY_LIMIT);
    }

    /** Host: how long the current wait has run at {@code now} (0: idle). */
    public long busyFor(long now) {
        long since = get(BUSY_SINCE);
        return since == 0 ? 0 : Math.max(0, now - since);
    }
}
