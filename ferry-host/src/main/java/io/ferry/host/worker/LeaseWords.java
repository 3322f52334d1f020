package io.ferry.host.worker;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A device lease's shared words: a flyweight over {@link #SIZE} bytes of a device worker's private control region,
 * which the host creates (zeroed) and both processes map. The host grants and revokes the lease through
 * {@link #MODE}; the worker reports through the other three words, so that while leased it runs device commands
 * without a message to the host (see {@code WorkerTurns} and {@code DeviceDispatch.grantRemote}).
 *
 * <pre>
 * offset  word          writer  meaning
 *      0  MODE          host    {@link #ASK} (0): ask the host before each device command; {@link #LEASED} (1): run
 *     64  BUSY_SINCE    worker  System.nanoTime() when a device command started, 0 while idle
 *     72  COMPILING     worker  1: the device compiles the current command's code before it runs it (a kernel's
 *                               first launch at its shape on PoCL), stored before BUSY_SINCE; else 0
 *    128  DEVICE_NANOS  worker  cumulative device time of the commands run under leases (ns)
 *    192  COMMANDS      worker  count of the commands run under leases
 *    256  (end: {@link #SIZE})
 * </pre>
 *
 * Each word is a native-order {@code long} on its own 64-byte cache line (COMPILING shares BUSY_SINCE's: one writer),
 * so the host's polling of one does not bounce the line the other side writes. The record must start 8-byte aligned
 * (64 is best).
 * {@code System.nanoTime()} is CLOCK_MONOTONIC on Linux: the host compares BUSY_SINCE with its own clock.
 *
 * <p>The handshake is Dekker's: the worker stores BUSY_SINCE, fences, reads MODE; the host stores MODE = ASK, fences,
 * reads BUSY_SINCE. At least one of them sees the other's store, so a command never starts unseen after a revoke.
 * The worker updates DEVICE_NANOS and COMMANDS before it clears BUSY_SINCE (release), so a host that reads
 * BUSY_SINCE = 0 (volatile) then reads the figures of every command that ended.
 *
 * <p>The worker runs guest code: the host reads every word but MODE as an untrusted figure (any value at all) and
 * clamps or bounds what it derives from it. Not thread-safe on either side beyond the protocol above: one writer
 * per word.
 */
public final class LeaseWords {
    public static final long MODE = 0;
    public static final long BUSY_SINCE = 64;
    public static final long DEVICE_NANOS = 128;
    public static final long COMMANDS = 192;
    /** On BUSY_SINCE's line: the same writer, read with it. */
    public static final long COMPILING = 72;
    /** Bytes the record takes. */
    public static final long SIZE = 256;
    /** {@link #MODE}: ask the host before each device command. */
    public static final long ASK = 0;
    /** {@link #MODE}: the device is leased; run without asking. */
    public static final long LEASED = 1;

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment segment;
    private final long offset;

    /**
     * @throws IllegalArgumentException if the record does not fit in {@code segment} at {@code offset}, or is not
     *                                  8-byte aligned there
     */
    public LeaseWords(MemorySegment segment, long offset) {
        if (offset < 0 || offset > segment.byteSize() - SIZE) {
            throw new IllegalArgumentException("the lease words take " + SIZE + " bytes at offset " + offset
                    + ": they do not fit in a segment of " + segment.byteSize() + " bytes; place them inside it");
        }
        if (offset % 8 != 0 || segment.maxByteAlignment() < 8 || (segment.address() + offset) % 8 != 0) {
            throw new IllegalArgumentException("the lease words at offset " + offset + " are not 8-byte aligned"
                    + " (segment address " + segment.address() + "): place them on a 64-byte boundary");
        }
        this.segment = segment;
        this.offset = offset;
    }

    /** Zeroes the record (the host, before the worker maps it): MODE = ASK, idle, no figures. */
    public void clear() {
        for (long w = 0; w < SIZE; w += 8) {
            WORD.setVolatile(segment, offset + w, 0L);
        }
    }

    public long mode() {
        return (long) WORD.getVolatile(segment, offset + MODE);
    }

    /** Host: grants ({@link #LEASED}) or revokes ({@link #ASK}); a volatile store. */
    public void storeMode(long mode) {
        WORD.setVolatile(segment, offset + MODE, mode);
    }

    public long busySince() {
        return (long) WORD.getVolatile(segment, offset + BUSY_SINCE);
    }

    /** Worker: a command starts at {@code nanoTime} (then fence and re-read MODE). */
    public void storeBusySince(long nanoTime) {
        WORD.setVolatile(segment, offset + BUSY_SINCE, nanoTime);
    }

    /** Worker: idle again; a release store, after the figures of the command that ended. */
    public void clearBusy() {
        WORD.setRelease(segment, offset + BUSY_SINCE, 0L);
    }

    /** Worker: whether the command it marks busy next is compiled first (before {@link #storeBusySince}). */
    public void storeCompiling(boolean compiling) {
        WORD.setVolatile(segment, offset + COMPILING, compiling ? 1L : 0L);
    }

    public long compiling() {
        return (long) WORD.getVolatile(segment, offset + COMPILING);
    }

    public long deviceNanos() {
        return (long) WORD.getVolatile(segment, offset + DEVICE_NANOS);
    }

    public long commands() {
        return (long) WORD.getVolatile(segment, offset + COMMANDS);
    }

    /** Worker (the only writer of the figures): one more command of {@code deviceNanos} ran under the lease. */
    public void countCommand(long deviceNanos) {
        WORD.setRelease(segment, offset + DEVICE_NANOS, (long) WORD.get(segment, offset + DEVICE_NANOS) + deviceNanos);
        WORD.setRelease(segment, offset + COMMANDS, (long) WORD.get(segment, offset + COMMANDS) + 1);
    }

    /** A full fence between a store of one side's word and the read of the other side's. */
    public static void fullFence() {
        VarHandle.fullFence();
    }

    @Override
    public String toString() {
        return "LeaseWords[mode " + mode() + " busySince " + busySince() + " deviceNanos " + deviceNanos()
                + " commands " + commands() + "]";
    }
}
