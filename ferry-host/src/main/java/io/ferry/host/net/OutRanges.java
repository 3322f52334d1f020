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
 * status of their event, the wait of a later event of their in-order queue, and, through wait lists, any of these
 * for a command that waited for their event, transitively); a synchronous call's own OUT ranges ship before its
 * completion. Nothing pending is ever dropped before it is shipped, except when the session ends.
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

    /** A forwarded command that waits for {@code waits} (its queue, seq and own event, 0 for none). */
    private record Waiter(long queue, long seq, long event, long[] waits) {
    }

    /** What a synchronous call's completion ships: FINISH(queue), EVENT_WAIT/EVENT_STATUS(event), or its own ranges. */
    private record Sync(Op op, long handle, List<HeapTraffic.Range> own) {
    }

    private final List<Pending> pending = new ArrayList<>();
    /** Commands with a wait list, oldest first (at most {@link #MAX_PENDING}: the oldest is forgotten). */
    private final java.util.ArrayDeque<Waiter> waiters = new java.util.ArrayDeque<>();
    private final Map<Long, Sync> sync = new HashMap<>();
    private final Map<Long, Boolean> outOfOrder = new HashMap<>();
    private final HeapTraffic.Registrations shm = new HeapTraffic.Registrations();
    private final LinkedHashMap<Long, long[]> events = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
            return size() > MAX_EVENTS;
        }
    };
    private final CallRecord view = new CallRecord();

    /** A new session on the lane: nothing of the old one is shipped. */
    synchronized void reset() {
        pending.clear();
        waiters.clear();
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
                if (shm.count() >= MAX_PENDING && !shm.contains(r.arg(0))) {
                    return "more than " + MAX_PENDING + " shared memory registrations on one stream connection";
                }
                shm.register(r.arg(0), r.arg(1), r.arg(2), r.arg(3));
            }
            case TEE_SHM_RELEASE -> shm.release(r.arg(0));
            default -> {
            }
        }
        if (op.kind() == Op.Kind.ONE_WAY) {
            long event = HeapTraffic.event(rec);
            long queue = HeapTraffic.queue(rec);
            if (event != 0) {
                events.put(event, new long[] {queue, seq});
            }
            long[] waits = waitList(r, op);
            if (waits.length > 0) {
                if (waiters.size() >= MAX_PENDING) {
                    waiters.pollFirst(); // only a transitive flush is lost: its ranges still ship at their own
                }
                waiters.addLast(new Waiter(queue, seq, event, waits));
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

    /** The event handles a one-way command waits for (none when its op has no wait list, or it is malformed). */
    private static long[] waitList(CallRecord r, Op op) {
        int at = op.argNames().indexOf("waits");
        if (at < 0) {
            return new long[0];
        }
        long waits = r.arg(at);
        if (io.ferry.protocol.WaitList.problem(op.name(), waits, r.blobLength()) != null) {
            return new long[0]; // the host refuses the call: nothing waits
        }
        return io.ferry.protocol.WaitList.handles(r, waits);
    }

    private List<HeapTraffic.Range> outRanges(MemorySegment rec, Op op) {
        if (!HeapTraffic.hasHeapRanges(op)) {
            return List.of();
        }
        List<HeapTraffic.Range> out = new ArrayList<>(1);
        HeapTraffic.ranges(rec, shm, r -> {
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
            case FINISH -> settle(s.handle, seq - 1, 0, ship);
            case EVENT_WAIT, EVENT_STATUS -> {
                if (s.op == Op.EVENT_STATUS && (status != 0 || r0 != 0)) {
                    return; // not complete yet: nothing is certain
                }
                settle(0, -1, s.handle, ship);
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

    /**
     * Ships what one completion makes certain: the commands of {@code queue} up to {@code upTo} (a FINISH; queue 0:
     * none) or {@code event} (0: none) are complete, so are the events their commands waited for, so are the
     * commands of an in-order queue up to each complete event, and so on.
     */
    private void settle(long queue, long upTo, long event, List<HeapTraffic.Range> ship) {
        Map<Long, Long> done = new HashMap<>(); // queue -> every command up to this seq is complete
        java.util.Set<Long> complete = new java.util.HashSet<>();
        java.util.ArrayDeque<long[]> prefixes = new java.util.ArrayDeque<>();
        java.util.ArrayDeque<Long> work = new java.util.ArrayDeque<>();
        if (queue != 0) {
            prefixes.add(new long[] {queue, upTo});
        }
        if (event != 0) {
            work.add(event);
        }
        while (!prefixes.isEmpty() || !work.isEmpty()) {
            if (!prefixes.isEmpty()) {
                long[] q = prefixes.poll();
                if (done.getOrDefault(q[0], Long.MIN_VALUE) >= q[1]) {
                    continue;
                }
                done.put(q[0], q[1]);
                waiters.removeIf(w -> {
                    boolean hit = w.queue == q[0] && w.seq <= q[1];
                    if (hit) {
                        for (long e : w.waits) {
                            work.add(e);
                        }
                    }
                    return hit;
                });
                continue;
            }
            long e = work.poll();
            if (e == 0 || !complete.add(e)) {
                continue;
            }
            long[] origin = events.get(e);
            if (origin != null && Boolean.FALSE.equals(outOfOrder.get(origin[0]))) {
                prefixes.add(new long[] {origin[0], origin[1]}); // an in-order queue: all before it is done too
            }
            waiters.removeIf(w -> {
                boolean hit = w.event == e;
                if (hit) {
                    for (long x : w.waits) {
                        work.add(x);
                    }
                }
                return hit;
            });
        }
        take(p -> (p.event != 0 && complete.contains(p.event)) || p.seq <= done.getOrDefault(p.queue, Long.MIN_VALUE),
                ship);
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
