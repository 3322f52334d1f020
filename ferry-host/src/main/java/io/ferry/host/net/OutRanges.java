package io.ferry.host.net;

import io.ferry.protocol.CallRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Op;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which heap bytes the proxy ships to the client, and when (docs/network.md, "Heap bytes"): the OUT ranges of
 * forwarded one-way calls stay pending until a completion makes them certain (FINISH of their queue, the wait or
 * status of their event, the wait of a later event of their in-order queue); a synchronous call's own OUT ranges
 * ship before its completion. Nothing pending is ever dropped before it is shipped, except when the session ends.
 *
 * <p>Written by the connection's event loop ({@link #forwarded}) and read by its completion pump
 * ({@link #completed}): every method holds the monitor. Every table is bounded ({@link #MAX_PENDING}); a client
 * that exceeds a bound has its connection closed with the reason {@link #forwarded} returns.
 */
final class OutRanges {
    /** Most pending OUT ranges, sync calls awaiting completion, queues and shared memory registrations. */
    static final int MAX_PENDING = 65_536;
    /** Events remembered with their queue and seq (oldest forgotten first: only an in-order flush is lost). */
    static final int MAX_EVENTS = 65_536;

    /** An OUT range of a forwarded one-way call. */
    record Pending(long seq, long queue, long event, long offset, long length) {
    }

    /** What a synchronous call's completion ships: FINISH(queue), EVENT_WAIT/EVENT_STATUS(event), or its own ranges. */
    private record Sync(Op op, long handle, List<HeapTraffic.Range> own) {
    }

    private final List<Pending> pending = new ArrayList<>();
    private final Map<Long, Sync> sync = new HashMap<>();
    private final Map<Long, Boolean> outOfOrder = new HashMap<>();
    private final Map<Long, long[]> shm = new HashMap<>();
    private final LinkedHashMap<Long, long[]> events = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
            return size() > MAX_EVENTS;
        }
    };
    private final HeapTraffic.SharedMemory registered = new HeapTraffic.SharedMemory() {
        @Override
        public long offset(long handle) {
            long[] r = shm.get(handle);
            return r == null ? -1 : r[0];
        }

        @Override
        public long size(long handle) {
            long[] r = shm.get(handle);
            return r == null ? -1 : r[1];
        }

        @Override
        public int flags(long handle) {
            long[] r = shm.get(handle);
            return r == null ? HeapTraffic.SharedMemory.super.flags(handle) : (int) r[2];
        }
    };
    private final CallRecord view = new CallRecord();

    /** A new session on the lane: nothing of the old one is shipped. */
    synchronized void reset() {
        pending.clear();
        sync.clear();
        outOfOrder.clear();
        shm.clear();
        events.clear();
    }

    /** Pending ranges now (for counters and tests). */
    synchronized int pendingCount() {
        return pending.size();
    }

    /**
     * A call record (framing checked: {@link CallRecord#problem} said nothing) was put into the command ring.
     *
     * @return null, or why the connection must close (a bound exceeded)
     */
    synchronized String forwarded(MemorySegment rec, Op op) {
        CallRecord r = view.wrap(rec, 0);
        long seq = r.seq();
        switch (op) {
            case QUEUE_CREATE -> {
                if (outOfOrder.size() >= MAX_PENDING && !outOfOrder.containsKey(r.arg(0))) {
                    return "more than " + MAX_PENDING + " queues tracked on one stream connection";
                }
                outOfOrder.put(r.arg(0), (r.arg(2) & Wire.QUEUE_OUT_OF_ORDER) != 0);
            }
            case TEE_SHM_REGISTER -> {
                if (shm.size() >= MAX_PENDING && !shm.containsKey(r.arg(0))) {
                    return "more than " + MAX_PENDING + " shared memory registrations on one stream connection";
                }
                shm.put(r.arg(0), new long[] {r.arg(1), r.arg(2), r.arg(3)});
            }
            case TEE_SHM_RELEASE -> shm.remove(r.arg(0));
            default -> {
            }
        }
        if (op.kind() == Op.Kind.ONE_WAY) {
            long event = HeapTraffic.event(rec);
            long queue = HeapTraffic.queue(rec);
            if (event != 0) {
                events.put(event, new long[] {queue, seq});
            }
            List<HeapTraffic.Range> outs = outRanges(rec, op);
            if (pending.size() + outs.size() > MAX_PENDING) {
                return "more than " + MAX_PENDING + " heap ranges wait to be read back (one-way reads never "
                        + "finished): call finish() or wait for the reads' events";
            }
            for (HeapTraffic.Range o : outs) {
                pending.add(new Pending(seq, queue, event, o.offset(), o.length()));
            }
            return null;
        }
        if (sync.size() >= MAX_PENDING) {
            return "more than " + MAX_PENDING + " synchronous calls await their completion";
        }
        switch (op) {
            case FINISH -> sync.put(seq, new Sync(op, r.arg(0), List.of()));
            case EVENT_WAIT, EVENT_STATUS -> sync.put(seq, new Sync(op, r.arg(0), List.of()));
            default -> {
                List<HeapTraffic.Range> outs = outRanges(rec, op);
                if (!outs.isEmpty()) {
                    sync.put(seq, new Sync(op, 0, outs));
                } else {
                    sync.remove(seq); // a stale entry of a reused seq must not ship at this call's completion
                }
            }
        }
        return null;
    }

    private List<HeapTraffic.Range> outRanges(MemorySegment rec, Op op) {
        if (!HeapTraffic.hasHeapRanges(op)) {
            return List.of();
        }
        List<HeapTraffic.Range> out = new ArrayList<>(1);
        HeapTraffic.ranges(rec, registered, r -> {
            if (r.direction() == HeapTraffic.Direction.OUT && r.length() > 0) {
                out.add(r);
            }
        });
        return out;
    }

    /**
     * A completion of call {@code seq} ({@code op}) was read: adds to {@code ship} the ranges to send before it, and
     * forgets them. {@code r0} and {@code r1} are its first two result words.
     */
    synchronized void completed(int op, long seq, int status, long r0, long r1, List<HeapTraffic.Range> ship) {
        Sync s = sync.get(seq);
        if (s == null || s.op.code() != op) {
            return;
        }
        sync.remove(seq);
        switch (s.op) {
            case FINISH -> take(p -> p.queue == s.handle && p.seq < seq, ship);
            case EVENT_WAIT, EVENT_STATUS -> {
                if (s.op == Op.EVENT_STATUS && (status != 0 || r0 != 0)) {
                    return; // not complete yet: nothing is certain
                }
                long[] origin = events.get(s.handle);
                boolean inOrder = origin != null && Boolean.FALSE.equals(outOfOrder.get(origin[0]));
                take(p -> (p.event == s.handle && p.event != 0)
                        || (inOrder && p.queue == origin[0] && p.seq <= origin[1]), ship);
            }
            default -> {
                for (HeapTraffic.Range r : s.own) {
                    if (s.op == Op.INFO) {
                        // INFO's results: the value's bytes, and 1 when they were written to the heap (on success)
                        long n = status == 0 && r1 == 1 ? Math.min(r.length(), Math.max(0, r0)) : 0;
                        if (n > 0) {
                            ship.add(new HeapTraffic.Range(r.offset(), n, r.direction()));
                        }
                    } else {
                        ship.add(r);
                    }
                }
            }
        }
    }

    private interface Match {
        boolean test(Pending p);
    }

    private void take(Match m, List<HeapTraffic.Range> ship) {
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (m.test(p)) {
                ship.add(new HeapTraffic.Range(p.offset, p.length, HeapTraffic.Direction.OUT));
                it.remove();
            }
        }
    }
}
