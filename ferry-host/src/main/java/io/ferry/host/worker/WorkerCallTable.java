package io.ferry.host.worker;

import io.ferry.host.session.CallCounts;
import io.ferry.host.session.CallSink;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The calls a device worker's session served, by operation and status, and its quota refusals, counted by the worker
 * in its control region's header for the host's {@code /metrics} (see {@link ServeWords} for the words below 1152):
 *
 * <pre>
 *   1152  refusals[5]    quota refusals by {@link CallSink.Quota} ordinal
 *   1216  slots[104]     one word each: key << 48 | count; key = 1 + op ordinal * STATUSES + status ordinal,
 *                        {@value #OVERFLOW_KEY}: calls of pairs that found no free slot; 0: free
 * </pre>
 *
 * (Lease words begin at 2048.) The worker is the only writer and keeps its own copy of every count, so a call costs
 * an array read and one release store; a pair takes the next free slot the first time it is seen. The host reads
 * the words as untrusted figures: keys outside the tables are ignored and counts are at most 2^48 - 1. TEE calls are
 * not counted here: the worker forwards them to the host, whose session counts them.
 */
public final class WorkerCallTable implements CallSink, CallCounts.Remote {
    static final long REFUSALS = 1152;
    static final long SLOTS = 1216;
    static final int SLOT_COUNT = (int) ((2048 - SLOTS) / 8);
    static final int OVERFLOW_KEY = 0xFFFF;
    private static final long COUNT_MASK = (1L << 48) - 1;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment header;
    // worker side
    private final short[] slotOf = new short[CallCounts.OTHER];
    private final long[] counts = new long[SLOT_COUNT];
    private final long[] refused = new long[Quota.values().length];
    private int used;

    /** Over the control region's mapping (at least its 4096-byte header). */
    public WorkerCallTable(MemorySegment control) {
        this.header = control.asSlice(0, 4096);
    }

    @Override
    public void call(Op op, Status status) {
        if (op.service() == Op.Service.TEE) {
            return;
        }
        int pair = op.ordinal() * CallCounts.STATUSES + status.ordinal();
        int slot = slotOf[pair] - 1;
        long key = pair + 1;
        if (slot < 0) {
            if (used < SLOT_COUNT - 1) {
                slot = used++;
                slotOf[pair] = (short) (slot + 1);
            } else {
                slot = SLOT_COUNT - 1;
                key = OVERFLOW_KEY;
            }
        }
        long n = Math.min(COUNT_MASK, ++counts[slot]);
        LONG.setRelease(header, SLOTS + 8L * slot, key << 48 | n);
    }

    @Override
    public void refusal(Quota quota) {
        LONG.setRelease(header, REFUSALS + 8L * quota.ordinal(), ++refused[quota.ordinal()]);
    }

    @Override
    public void teeDenial(boolean open) {
        // the host's session serves TEE calls, and counts their denials
    }

    /** Host: adds what the worker counted so far. */
    @Override
    public void addTo(long[] calls, long[] refusals) {
        try {
            for (int i = 0; i < SLOT_COUNT; i++) {
                long w = (long) LONG.getAcquire(header, SLOTS + 8L * i);
                int key = (int) (w >>> 48);
                long n = w & COUNT_MASK;
                if (key == OVERFLOW_KEY) {
                    calls[CallCounts.OTHER] += n;
                } else if (key > 0 && key <= CallCounts.OTHER) {
                    calls[key - 1] += n;
                }
            }
            for (int i = 0; i < refusals.length; i++) {
                refusals[i] += Math.max(0, (long) LONG.getAcquire(header, REFUSALS + 8L * i));
            }
        } catch (IllegalStateException e) {
            // unmapped: the worker is gone (a scrape racing the session's end)
        }
    }
}
