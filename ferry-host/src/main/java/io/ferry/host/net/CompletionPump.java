package io.ferry.host.net;

import io.ferry.channel.RecordHandler;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The completion side of one stream connection, on a platform thread of its own (the producer of completions may
 * be another process, the guest's device worker, so something must wait on the ring's futex doorbell): reads the
 * lane's completion ring and sends each completion, preceded by the OUT heap ranges it makes certain
 * ({@link OutRanges}); sends the host's words when they change (the heartbeat moves every 100 ms, so WORDS is also
 * the keep-alive) and the scheduling figures when they change; watches the lane's claim; wakes the event loop when
 * the command ring has room again after a stall. It reads no completion while the socket cannot take more, so a
 * client that does not read costs the host at most the write buffer's high water mark plus one frame.
 *
 * <p>When the connection ends it leaves the lane ({@link LaneMirror#depart}) and exits.
 */
final class CompletionPump implements Runnable {
    private static final long TICK_NANOS = 100_000_000L;

    private final StreamConnection conn;
    private final LaneMirror lane;
    private final OutRanges out;
    private final long[] offsets;
    private final long[] sent;
    private final byte[] figures = new byte[RegionDescriptor.HOST_FIGURES_LENGTH];
    private final List<HeapTraffic.Range> ship = new ArrayList<>();
    private final Handler handler = new Handler();
    private volatile boolean stop;
    private volatile String stopReason;
    private Thread thread;
    /** The session nonce acknowledged and passed on to the client (0: none). */
    private long acked;
    private long nextTick;
    private long stallHead = -1;
    private long ownBeat;

    CompletionPump(StreamConnection conn, LaneMirror lane, OutRanges out) {
        this.conn = conn;
        this.lane = lane;
        this.out = out;
        this.offsets = lane.hostWordOffsets();
        this.sent = new long[offsets.length];
        Arrays.fill(sent, Long.MIN_VALUE);
    }

    void start(String name) {
        thread = Thread.ofPlatform().name(name).daemon(true).start(this);
    }

    /** The connection ended (from the event loop, which produces nothing after): stop reading, leave the lane. */
    void stop(String reason) {
        if (stop) {
            return;
        }
        stopReason = reason;
        wake();
        stop = true; // from here on the pump may close the mapping: nothing touches it after this line
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /**
     * Wakes the pump from its wait (a connect request to watch, a stall to watch, writability back). Event loop
     * only: {@link #stop} is set there too, so the mapping is still open when this runs.
     */
    void wake() {
        if (stop) {
            return;
        }
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
        lane.completions.wakeConsumer(); // rings the doorbell it may sleep on (a hint: the host's rings likewise)
    }

    @Override
    public void run() {
        try {
            while (!stop) {
                int n = 0;
                if (conn.output.writable() && session()) {
                    n = poll(16);
                    if (n > 0) {
                        conn.output.flush();
                    }
                }
                long now = System.nanoTime();
                words(now);
                if (stop) {
                    break;
                }
                if (!lane.claimed()) {
                    if (session()) {
                        poll(64);
                    }
                    words(Long.MAX_VALUE);
                    conn.output.flush();
                    conn.failFromPump(Status.SESSION_CLOSED, "the host freed the lane (its session ended, no "
                            + "CONNECT_REQUEST came within 3 s, or the guest's region was reset): connect again");
                    break;
                }
                stallWatch();
                if (n == 0) {
                    idle(now);
                }
            }
        } catch (RingCorruptedException e) {
            conn.failFromPump(Status.PROTOCOL_VIOLATION, "the lane's completion ring is corrupt: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            java.util.logging.Logger.getLogger("ferry.net").log(java.util.logging.Level.WARNING,
                    "stream connection: completion pump failed", e); // a host bug: the stack says where
            conn.failFromPump(Status.INTERNAL, "completion pump failed: " + e);
        } finally {
            // the event loop may still be producing into the lane until it has ended the connection (it stops us
            // then): only after that is the command ring ours to say GOODBYE on, and the mapping ours to close
            for (int i = 0; i < 5_000 && !stop; i++) {
                LockSupport.parkNanos(1_000_000);
            }
            conn.departed(lane.depart(acked), stopReason);
        }
    }

    /**
     * Whether the completion ring belongs to a session this side has seen acknowledged: between a connect request
     * and its ack the host resets the ring (positions go back to 0), so nothing is read then, as a guest reads
     * nothing while it waits for the ack.
     */
    private boolean session() {
        // once another connection has asked for a session on the lane, the host resets the ring for it: not ours;
        // until then the ring is ours, even with the claim freed (the closing completions precede the free)
        return acked != 0 && lane.requested == acked && lane.lane.connectRequest() == acked;
    }

    private int poll(int limit) {
        try {
            return lane.completions.poll(handler, limit);
        } catch (RingCorruptedException e) {
            if (!session()) {
                return 0; // a connect request came meanwhile: the host is resetting the ring
            }
            throw e;
        }
    }

    private void idle(long now) {
        if (!conn.output.writable()) {
            LockSupport.parkNanos(1_000_000); // writability coming back unparks us
        } else if (lane.requested != acked || stallHead >= 0) {
            // a connect request or a stall: the host answers by words or by consuming, neither rings our doorbell
            LockSupport.parkNanos(50_000);
        } else {
            long wait = Math.max(1_000_000L, Math.min(TICK_NANOS, nextTick - now));
            lane.completions.awaitData(wait);
        }
    }

    /** While the event loop waits for room in the command ring: wakes it when the host has consumed. */
    private void stallWatch() {
        if (!conn.stalled) {
            stallHead = -1;
            return;
        }
        long head = (long) HEAD.getAcquire(lane.commands.segment(), (long) RegionDescriptor.RING_HEAD_OFFSET);
        if (stallHead < 0) {
            stallHead = head;
        } else if (head != stallHead) {
            stallHead = -1;
            conn.resumeReading();
        }
    }

    private static final java.lang.invoke.VarHandle HEAD = ValueLayout.JAVA_LONG.varHandle();

    /** Sends the host's words that changed: the ack and session id at once, the rest at most every tick. */
    private void words(long now) {
        words(now, true);
    }

    /** {@code mayPoll}: false while a completion is being handled (the ring must not be polled then). */
    private void words(long now, boolean mayPoll) {
        long[] w = lane.hostWords();
        long ack = w[2];
        if (!mayPoll && ack != sent[2]) {
            return; // a session change: the main loop handles it
        }
        boolean session = ack != sent[2] || w[3] != sent[3];
        if (!session && now < nextTick) {
            return;
        }
        if (now >= nextTick) {
            nextTick = now + TICK_NANOS;
            figures();
            if (conn.stalled) {
                // the client's heartbeat waits behind the record that does not fit: beat for it while it is connected
                lane.lane.guestHeartbeat(lane.lane.guestHeartbeat() + (++ownBeat));
            }
        }
        if (ack != sent[2] && ack != 0 && ack == lane.requested) {
            // a new session: the host reset both rings; this side picks the positions up as a guest does after the
            // ack (the event loop its command ring view), and forgets what the old session had pending
            lane.completions.resync();
            out.reset();
            acked = ack;
        } else if (ack != sent[2] && session()) {
            poll(64); // the closing notice precedes CONNECT_ACK = 0
        }
        int n = 0;
        long[] offs = new long[offsets.length];
        long[] vals = new long[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            if (w[i] != sent[i]) {
                offs[n] = offsets[i];
                vals[n++] = w[i];
                sent[i] = w[i];
            }
        }
        if (n > 0) {
            conn.sendWords(offs, vals, n, ack != 0 && ack == acked && session);
        }
    }

    /**
     * Inside a long range (a 64 MiB read takes a while on a loaded machine): the host's words go on at every tick,
     * or the client, which watches the mirrored host heartbeat, would take the host for gone (1 s). Only when no new
     * session is being acknowledged: that is for the main loop, which may poll the ring.
     */
    private void keepAlive() {
        long now = System.nanoTime();
        if (now >= nextTick) {
            words(now, false);
        }
    }

    private void figures() {
        MemorySegment f = lane.figures();
        byte[] now = f.toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(now, figures)) {
            System.arraycopy(now, 0, figures, 0, figures.length);
            conn.output.send(Frames.copy(conn.output.alloc(), StreamFrame.FIGURES, MemorySegment.ofArray(now)));
            conn.output.flush();
        }
    }

    /** Each completion: the heap ranges it makes certain, then the completion itself. */
    private final class Handler implements RecordHandler {
        private final CompletionRecord view = new CompletionRecord();

        @Override
        public void onRecord(int type, MemorySegment rec, int length) {
            MemorySegment copy = rec.asSlice(0, length);
            if (length >= CompletionRecord.HEADER_LENGTH) {
                CompletionRecord c = view.wrap(copy, 0);
                ship.clear();
                out.completed(c.op(), c.seq(), c.status(),
                        copy.get(ValueLayout.JAVA_LONG_UNALIGNED, CompletionRecord.RESULTS_OFFSET),
                        copy.get(ValueLayout.JAVA_LONG_UNALIGNED, CompletionRecord.RESULTS_OFFSET + 8), ship);
                for (HeapTraffic.Range r : ship) {
                    heap(r);
                }
            }
            conn.output.send(Frames.copy(conn.output.alloc(), StreamFrame.COMPLETION, copy));
        }

        private void heap(HeapTraffic.Range r) {
            if (!lane.inHeap(r.offset(), r.length())) {
                return; // the host refused the call (HEAP_RANGE): nothing was written there
            }
            for (long done = 0; done < r.length() && !stop; ) {
                int n = (int) Math.min(StreamFrame.MAX_CHUNK, r.length() - done);
                conn.output.awaitWritable(() -> stop);
                conn.output.send(Frames.heap(conn.output.alloc(), r.offset() + done, lane.heap.asSlice(r.offset() + done, n)));
                done += n;
                keepAlive();
            }
        }
    }
}
