package io.ferry.host.net;

import io.ferry.channel.LaneClaims;
import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RegionException;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The proxy's side of one lane: what a local guest process does on its lane, done for a stream connection
 * (docs/network.md, "Lane mirroring"). It maps the guest's region anew (its own ring views: the host's endpoint
 * keeps its own), claims a free lane with a claim token of its own ({@link #token}), writes the words the client
 * owns, produces the client's records into the command ring, writes its heap bytes, and at the end leaves the lane
 * as a departing process does.
 *
 * <p>Threads: the connection's event loop is the command ring's producer and writes the client's words and heap
 * bytes; the completion pump is the completion ring's consumer and, once the connection has ended, runs
 * {@link #depart} (the event loop produces nothing after that).
 */
final class LaneMirror {
    /** How long {@link #depart} waits for the host to end the lane's session and free the claim. */
    static final long DEPART_WAIT_NANOS = 5_000_000_000L;
    /** Numbers the claims of this process: no two connections ever claim with the same token. */
    private static final java.util.concurrent.atomic.AtomicLong CLAIMS = new java.util.concurrent.atomic.AtomicLong();

    final String guest;
    final long pid = ProcessHandle.current().pid();
    /**
     * What this connection wrote into the lane's claim word: the host's pid in the low 32 bits (what logs show) and a
     * number unique to this connection above. Every free is a compare-and-set against the writer's own value (the
     * host's endpoint frees the claim its session connected under), so a claim freed at the moment another
     * connection takes the lane can never free the newer claim, and two connections never share a lane.
     */
    final long token;
    private final Region mapping;
    final Region lane;
    final SpscRing commands;
    final SpscRing completions;
    final MemorySegment heap;
    /** Offset in the region of this lane's connect words. */
    final int words;
    /** The last nonce the client asked for (0: none yet); written by the event loop. */
    volatile long requested;
    /** The highest seq forwarded, for the GOODBYE of {@link #depart}. */
    volatile long lastSeq;

    private LaneMirror(String guest, Region mapping, Region lane, long token) {
        this.guest = guest;
        this.token = token;
        this.mapping = mapping;
        this.lane = lane;
        this.commands = lane.commandRing();
        this.completions = lane.completionRing();
        this.heap = lane.heap();
        this.words = RegionDescriptor.laneWordsOffset(lane.laneIndex());
    }

    /**
     * Maps guest {@code g}'s region and claims a free lane of it.
     *
     * @throws StreamSecurity.Refused when the region cannot be mapped, its header is not the one the host wrote,
     *                                or every lane is busy
     */
    static LaneMirror open(GuestDirectory.Guest g) throws StreamSecurity.Refused {
        Region mapping;
        try {
            mapping = Region.open(g.region().path());
        } catch (RegionException e) {
            throw new StreamSecurity.Refused(e.status(), "guest '" + g.name() + "': its region cannot be mapped ("
                    + e.getMessage() + "); the host resets a corrupt region by itself: connect again");
        }
        try {
            if (!mapping.header().equals(g.region().header())) {
                throw new StreamSecurity.Refused(Status.SESSION_CLOSED, "guest '" + g.name() + "': the region's "
                        + "header is not the one the host wrote (the host resets it within seconds): connect again");
            }
            long token = ProcessHandle.current().pid() & 0xFFFF_FFFFL | CLAIMS.incrementAndGet() << 32;
            Region lane = LaneClaims.claim(mapping, token);
            return new LaneMirror(g.name(), mapping, lane, token);
        } catch (RegionException e) {
            mapping.close();
            throw new StreamSecurity.Refused(e.status(), e.getMessage());
        } catch (StreamSecurity.Refused | RuntimeException e) {
            mapping.close();
            throw e;
        }
    }

    /** The region's header page, as the client's mirror starts from it. */
    MemorySegment headerPage() {
        return mapping.segment().asSlice(0, StreamFrame.HEADER_PAGE);
    }

    /** The host-published scheduling figures (HOST_FIGURES). */
    MemorySegment figures() {
        return mapping.segment().asSlice(RegionDescriptor.HOST_FIGURES_OFFSET, RegionDescriptor.HOST_FIGURES_LENGTH);
    }

    /** Event loop: a word of a client's WORDS frame; only the words the client owns are taken. */
    void clientWord(int offset, long value) {
        int at = offset - words;
        if (at == RegionDescriptor.LANE_CONNECT_REQUEST_OFFSET) {
            requested = value; // first: the pump stops reading the completion ring the host is about to reset
            lane.guestPid(pid); // the host watches this process, never a remote pid
            lane.connectRequest(value);
            commands.wakeConsumer(); // an endpoint between sessions sleeps on the command ring's doorbell
        } else if (at == RegionDescriptor.LANE_GUEST_PID_OFFSET) {
            lane.guestPid(pid);
        } else if (at == RegionDescriptor.LANE_GUEST_HEARTBEAT_OFFSET) {
            lane.guestHeartbeat(value);
        } else {
            throw new StreamFrame.Malformed("WORDS names offset " + offset + ", which is not a word the client owns "
                    + "(lane " + lane.laneIndex() + "'s CONNECT_REQUEST, GUEST_PID or GUEST_HEARTBEAT at " + words
                    + ", " + (words + 8) + ", " + (words + 16) + ")");
        }
    }

    /**
     * Event loop: puts a checked call record (the first {@code length} bytes of {@code rec}) into the command ring,
     * unpublished.
     *
     * @return false when the ring has no room now (nothing written)
     */
    boolean offer(MemorySegment rec, int type, int length) {
        long at = commands.tryClaim(type, length);
        if (at < 0) {
            return false;
        }
        int head = RegionDescriptor.FRAME_HEADER_LENGTH;
        MemorySegment.copy(rec, head, commands.segment(), at + head, length - head);
        if (type == Op.HELLO.code()) {
            // HELLO's pid is what the host watches for the guest's exit: a remote pid names some process here
            commands.segment().set(ValueLayout.JAVA_LONG_UNALIGNED,
                    at + CallRecord.ARGS_OFFSET + 8L * io.ferry.protocol.Calls.Hello.PID, pid);
        }
        return true;
    }

    /** The lane's CONNECT_ACK, SESSION_ID, the host's epoch and heartbeat: the words the host owns. */
    long[] hostWords() {
        return new long[] {lane.hostEpoch(), lane.hostHeartbeat(), lane.connectAck(), lane.sessionId()};
    }

    /** Region offsets of {@link #hostWords()}, in the same order. */
    long[] hostWordOffsets() {
        return new long[] {RegionDescriptor.HOST_EPOCH_OFFSET, RegionDescriptor.HOST_HEARTBEAT_OFFSET,
                words + RegionDescriptor.LANE_CONNECT_ACK_OFFSET, words + RegionDescriptor.LANE_SESSION_ID_OFFSET};
    }

    /**
     * Whether the lane is still claimed for this connection (a region reset or the host's stale-claim watch frees
     * it; another connection may hold it once the host freed it after this one's session ended).
     */
    boolean claimed() {
        return lane.laneClaim() == token;
    }

    /** Whether someone else holds the lane now (the host freed this connection's claim and another took it). */
    boolean superseded() {
        long c = lane.laneClaim();
        return c != 0 && c != token;
    }

    /**
     * Pump thread, after the connection ended: leaves the lane as a departing guest process does. A session that
     * is up is asked to end with GOODBYE (when the command ring has room; else the host ends it when the heartbeat,
     * which nobody beats any more, stands still); completions are read and dropped meanwhile so the host is never
     * stuck on a full ring; once the host has ended the session (it frees the claim itself), a claim still held is
     * freed here. The mapping stays: {@link #unmap} closes it once the channel has.
     *
     * @return what happened, for the log
     */
    String depart(long acked) {
        String how;
        try {
            long deadline = System.nanoTime() + DEPART_WAIT_NANOS;
            long session = acked != 0 && lane.connectAck() == acked ? acked : 0;
            if (session == 0 && requested != 0 && requested != acked) {
                session = requested; // asked for, not seen acknowledged yet: the host may still accept it
            }
            boolean goodbye = false;
            if (session != 0 && lane.connectAck() == session && claimed()) {
                goodbye = goodbye(); // before HELLO too: the host ends such a session as plainly (docs/protocol.md)
            }
            while (session != 0 && lane.connectAck() == session && System.nanoTime() < deadline) {
                drop();
                completions.awaitData(1_000_000);
            }
            boolean ended = session == 0 || lane.connectAck() != session;
            while (ended && session != 0 && claimed() && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // the host frees the claim right after CONNECT_ACK = 0
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
            boolean freed = claimed() && lane.laneClaim(token, 0);
            how = (session == 0 ? "no session" : goodbye ? "session ended by GOODBYE" : ended ? "session ended by the host"
                    : "session still open after " + DEPART_WAIT_NANOS / 1_000_000 + " ms (the host ends it when the "
                    + "heartbeat stands still)") + (freed ? ", lane claim freed" : ", lane claim freed by the host");
        } catch (RuntimeException e) {
            how = "leaving the lane failed: " + e.getMessage();
        }
        return how;
    }

    /**
     * Unmaps, once the connection's channel has closed ({@link StreamConnection#departed}): until then the channel
     * may send from the heap by address ({@link Frames#heap}). The event loop may also be inside a futex wake on the
     * mapping at this moment (a wake that passed its check just before the connection ended), which makes the close
     * fail: it is tried again once that call returned.
     */
    void unmap() {
        for (int i = 0; ; i++) {
            try {
                mapping.close();
                return;
            } catch (IllegalStateException busy) {
                if (i >= 5_000) {
                    java.util.logging.Logger.getLogger("ferry.net").warning("guest " + guest + " lane "
                            + lane.laneIndex() + ": the stream proxy's mapping of the region stays open: " + busy);
                    return;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        }
    }

    private boolean goodbye() {
        long at = commands.tryClaim(Op.GOODBYE.code(), CallRecord.length(Op.GOODBYE, 0));
        if (at < 0) {
            return false;
        }
        CallRecord.of(Op.GOODBYE).wrap(commands.segment(), at).header(lastSeq + 1, Wire.FLAG_REPLY, 0);
        commands.publish();
        return true;
    }

    private void drop() {
        try {
            completions.poll((type, rec, length) -> { }, 64);
        } catch (RuntimeException e) {
            // a corrupt ring: the host ends the session by itself
        }
    }

    /** A heap range is inside the lane's slice. */
    boolean inHeap(long offset, long length) {
        return offset >= 0 && length > 0 && length <= heap.byteSize() && offset <= heap.byteSize() - length;
    }

    /** Reads a u64 of the heap or region for tests and logs. */
    long word(long regionOffset) {
        return mapping.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, regionOffset);
    }
}
