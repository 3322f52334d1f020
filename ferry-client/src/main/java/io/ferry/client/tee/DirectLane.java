package io.ferry.client.tee;

import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeLane;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A session's direct lane to its TA instance (docs/protocol.md, "Direct TEE lanes"): a block of the region heap laid
 * out as a {@link TeeLane}, which the TA instance's process serves, so an invoke crosses two processes instead of
 * three. This class plays the host's part of the lane: it writes a request (values, memref data copied into 64-byte
 * aligned slots of the data area), publishes it, waits for the reply (yielding, then sleeping on the lane's futex
 * with a bounded timeout, watching the lane's CLOSED flag and the connection), and reads the answer back through
 * {@link TeeMarshal#unmarshal}, the ring path's own rules. A call whose memrefs do not fit answers false and goes
 * through the ring; so does every call after one whose wait was abandoned (the connection failed). One call at a
 * time (a lock); closing waits for the call in flight.
 *
 * <p>Attaching ({@link #attach}) happens after OpenSession; it never fails the session: any refusal keeps the ring.
 * A host that answers NOT_SUPPORTED (a backend without direct lanes, a policy that limits the TA's commands) is
 * remembered per transport, TA and login, so later sessions do not ask again. {@code -Dferry.tee.direct=false} or
 * {@code FERRY_TEE_DIRECT=0} turns direct lanes off.
 */
final class DirectLane implements TeeMarshal.Answer, TeeMarshal.Outputs {
    /** The largest memref a lane carries (the TA's process checks the same bound). */
    static final long MAX_MEMREF = 1024 * 1024;
    /** How long a call yields for its reply before it sleeps: as long as a ring call's wait for the TEE yields. */
    private static final long YIELD_NANOS = 200_000;
    /** The bound on one futex sleep: the CLOSED flag and the connection are checked at least this often. */
    private static final long SLEEP_NANOS = 1_000_000;
    private static final long MIN_NAP_NANOS = 50_000;
    private static final int SLOT = 64;
    private static final Object EVERY_TA = new Object();
    /** Per transport (one per connection): the sessions' keys the host refused a lane to ({@link #EVERY_TA}: all). */
    private static final Map<TeeTransport, Set<Object>> REFUSED = Collections.synchronizedMap(new WeakHashMap<>());

    private final TeeTransport transport;
    private final TeeTransport.HeapMemory block;
    private final TeeLane wire;
    private final ReentrantLock lock = new ReentrantLock();
    /** Where each memref of the call in progress lies in the data area ({@link TeeLane#NULL_MEMREF}: none). */
    private final long[] placed = new long[4];
    private final int[] types = new int[4];
    /** The window of each registered memref of the call being placed (place computes it, write uses it). */
    private final TeeMarshal.Window[] windows = new TeeMarshal.Window[4];
    private long seq;
    /** A wait gave up (the connection failed): the TA's process may still answer, so the lane is not used again. */
    private volatile boolean abandoned;
    /** The host closed the session: no process reads the lane any more, a waiting call gives up. */
    private volatile boolean detached;
    /** The block went back to the heap (under the lock). */
    private boolean freed;

    DirectLane(TeeTransport transport, TeeTransport.HeapMemory block) {
        this.transport = transport;
        this.block = block;
        this.wire = new TeeLane(block.segment());
    }

    /** Whether {@code -Dferry.tee.direct} and {@code FERRY_TEE_DIRECT} leave direct lanes on (the default). */
    static boolean enabled() {
        String p = System.getProperty("ferry.tee.direct");
        String v = p != null ? p : System.getenv("FERRY_TEE_DIRECT");
        return v == null || !(v.equals("0") || v.equalsIgnoreCase("false") || v.equalsIgnoreCase("off"));
    }

    /**
     * Gives the open session {@code handle} a direct lane: allocates and zeroes {@link TeeLane#DIRECT_LANE_BYTES} of
     * heap at a 4 KiB-aligned offset and sends TEE_DIRECT. Answers null, the block freed, where the transport shares no
     * heap with the host, lanes are off, the heap has no room, or the host refuses; never throws.
     */
    static DirectLane attach(TeeTransport transport, long handle, UUID ta, LoginMethod login, long group) {
        Object key = ta + "/" + login.code() + "/" + group;
        if (!enabled() || !transport.sharesHeap() || refused(transport, key)) {
            return null;
        }
        TeeTransport.HeapMemory block;
        try {
            block = transport.allocateStaging(TeeLane.DIRECT_LANE_BYTES);
        } catch (RuntimeException e) {
            return null; // the heap is full or fragmented: the ring needs no block
        }
        try {
            MemorySegment seg = block.segment();
            // The heap's 64 KiB blocks are page aligned; the host checks the block's offset in the region, which the
            // mapping's address shows (the mapping itself is page aligned).
            if (seg.address() % 4096 != 0 || block.offset() % 4096 != 0) {
                TeeContext.closeQuietly(block);
                return null;
            }
            seg.fill((byte) 0);
            TeeTransport.Reply r = transport.call(Op.TEE_DIRECT, null, handle, block.offset(), seg.byteSize());
            if ((int) r.r0() == TeeResult.SUCCESS) {
                return new DirectLane(transport, block);
            }
            if ((int) r.r0() == TeeResult.ERROR_NOT_SUPPORTED) {
                REFUSED.computeIfAbsent(transport, t -> ConcurrentHashMap.newKeySet()).add(key);
            }
        } catch (FerryException e) {
            // A host that does not know TEE_DIRECT answers with a status: ask it no more on this transport.
            if (e.status() != Status.SESSION_CLOSED && e.status() != Status.HOST_UNAVAILABLE) {
                REFUSED.computeIfAbsent(transport, t -> ConcurrentHashMap.newKeySet()).add(EVERY_TA);
            }
        } catch (RuntimeException e) {
            // the connection went away: the session's next call says so
        }
        TeeContext.closeQuietly(block);
        return null;
    }

    private static boolean refused(TeeTransport transport, Object key) {
        Set<Object> keys = REFUSED.get(transport);
        return keys != null && (keys.contains(key) || keys.contains(EVERY_TA));
    }

    /** Whether calls may still use this lane (not after the session closed or a wait was abandoned). */
    boolean usable() {
        return !abandoned && !detached;
    }

    /**
     * Makes the call on the lane. Answers false, having sent nothing, where the ring must make it (a memref that does
     * not fit, a lane abandoned); otherwise returns normally on SUCCESS and throws the TEE's answer. {@code op} was
     * checked ({@link TeeMarshal#check}).
     *
     * @throws TeeException the call's answer; TARGET_DEAD (origin TEE) once the lane is CLOSED; CANCEL (origin COMMS)
     *                      for an operation cancelled before its first use; BAD_STATE (origin API) after close
     * @throws FerryException when the connection failed while the call waited (the caller maps it)
     */
    boolean invoke(TeeContext ctx, int command, TeeOperation op) {
        if (abandoned) {
            return false;
        }
        lock.lock();
        try {
            if (freed || detached) {
                throw new TeeException(TeeResult.ERROR_BAD_STATE, TeeResult.ORIGIN_API, "the session is closed");
            }
            if (abandoned) {
                return false;
            }
            if (wire.closed()) {
                throw dead();
            }
            if (!place(ctx, op)) {
                return false;
            }
            long s = seq + 1;
            if (op.startedDirect(wire, s)) {
                op.finished();
                throw new TeeException(TeeResult.ERROR_CANCEL, TeeResult.ORIGIN_COMMS, "cancelled before it started");
            }
            boolean replied;
            try {
                write(command, op);
                seq = s;
                wire.publishRequest(s);
                replied = await(s);
            } finally {
                op.finished();
            }
            int ret = wire.replyRet();
            if (!replied || (ret == TeeResult.ERROR_TARGET_DEAD && wire.closed())) {
                throw dead(); // the host's answer (or none): the instance or session is gone, no parameters came back
            }
            TeeMarshal.unmarshal(op, this, ret, this);
            if (ret != TeeResult.SUCCESS) {
                throw new TeeException(ret, wire.replyOrigin(), "InvokeCommand failed");
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private static TeeException dead() {
        return new TeeException(TeeResult.ERROR_TARGET_DEAD, TeeResult.ORIGIN_TEE,
                "the TA instance serving this session is gone (its direct lane is closed)");
    }

    /**
     * Places every memref of {@code op} in the data area (64-byte aligned slots, in parameter order) and works out the
     * lane's types; false when one is over {@link #MAX_MEMREF} or they do not fit together.
     */
    private boolean place(TeeContext ctx, TeeOperation op) {
        long data = 0;
        for (int i = 0; i < 4; i++) {
            long size;
            switch (op.param(i)) {
                case TeeParam.TempMemref m -> {
                    types[i] = m.type();
                    size = m.size();
                    if (m.buffer() == null) {
                        placed[i] = TeeLane.NULL_MEMREF;
                        if (size > MAX_MEMREF) {
                            return false; // the host's answer to an over-large null memref is the ring's to give
                        }
                        continue;
                    }
                }
                case TeeParam.RegisteredMemref m -> {
                    TeeMarshal.Window w = TeeMarshal.window(ctx, i, m);
                    windows[i] = w;
                    types[i] = TeeMarshal.laneType(w);
                    size = w.size();
                }
                default -> {
                    types[i] = op.param(i).type();
                    continue;
                }
            }
            if (size > MAX_MEMREF || size > wire.dataSize() - data) {
                return false;
            }
            placed[i] = data;
            data += (size + SLOT - 1) & -SLOT;
        }
        return true;
    }

    /** The request of a placed call: its fields, its values, its memrefs' input data (output-only slots zeroed). */
    private void write(int command, TeeOperation op) {
        for (int i = 0; i < 4; i++) {
            switch (op.param(i)) {
                case TeeParam.Value v -> wire.param(i, v.a() & 0xFFFF_FFFFL, v.b() & 0xFFFF_FFFFL, 0);
                case TeeParam.TempMemref m when m.buffer() == null -> wire.param(i, TeeLane.NULL_MEMREF, 0, m.size());
                case TeeParam.TempMemref m -> fill(i, m.buffer(), 0, m.size());
                case TeeParam.RegisteredMemref m -> fill(i, m.parent().segment(), windows[i].offset(), windows[i].size());
                default -> wire.param(i, 0, 0, 0);
            }
        }
        wire.request(TeeLane.INVOKE, command, 0, null, 0, null,
                types[0] | types[1] << 4 | types[2] << 8 | types[3] << 12);
        // The last reply's words must not pass for this call's (the host's TARGET_DEAD writes ret and origin only).
        wire.clearReply();
    }

    private void fill(int i, MemorySegment from, long offset, long size) {
        MemorySegment slot = wire.data(placed[i], size);
        if ((types[i] & 1) != 0) {
            MemorySegment.copy(from, offset, slot, 0, size);
        } else {
            slot.fill((byte) 0); // the TA sees no byte an earlier call left there
        }
        wire.param(i, placed[i], 0, size);
    }

    /**
     * Waits for the reply to {@code s}: yields for {@link #YIELD_NANOS}, then sleeps on the lane's futex at most
     * {@link #SLEEP_NANOS} at a time (naps where futexes do not work). Answers false when the lane was CLOSED or the
     * session detached without a reply.
     *
     * @throws FerryException when the connection failed or was closed (the lane is then abandoned)
     */
    private boolean await(long s) {
        long start = System.nanoTime();
        long nap = MIN_NAP_NANOS;
        long seen;
        while ((seen = wire.replySeq()) != s) {
            if (wire.closed() || detached) {
                return wire.replySeq() == s;
            }
            try {
                if (!transport.isOpen()) {
                    throw new FerryException(Status.SESSION_CLOSED, "the connection was closed");
                }
                transport.checkAlive();
            } catch (RuntimeException e) {
                abandoned = true;
                throw e;
            }
            if (System.nanoTime() - start < YIELD_NANOS) {
                Thread.yield();
            } else if (!wire.awaitReply(seen, SLEEP_NANOS)) {
                LockSupport.parkNanos(nap);
                nap = Math.min(nap << 1, SLEEP_NANOS);
            }
        }
        return true;
    }

    /**
     * The session closed: {@code free} when the host confirmed it (the TA's process reads the lane no more) or the
     * connection is gone with its heap; else the block stays allocated, since a process may still write it. Waits for
     * a call in flight, which gives up once {@code detached} is set.
     */
    void close(boolean free) {
        detached = true;
        lock.lock();
        try {
            if (!freed) {
                freed = true;
                if (free) {
                    TeeContext.closeQuietly(block);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- the reply, for TeeMarshal.unmarshal ----

    @Override
    public long a(int i) {
        return wire.replyA(i);
    }

    @Override
    public long b(int i) {
        return wire.replyB(i);
    }

    @Override
    public long c(int i) {
        return wire.replyC(i);
    }

    @Override
    public void copy(int i, TeeParam sent, MemorySegment to, long at, long n) {
        MemorySegment.copy(wire.data(placed[i], n), 0, to, at, n);
    }
}
