package io.ferry.client;

import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.Region;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.CompletionReader;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The guest side of the call path: encodes calls into the command ring and waits for completions.
 *
 * <p>One-way calls are written and, unless {@code defer} is set, published at once; deferred records (object
 * creation, kernel arguments) are published together with the next call that is not deferred, so a typical
 * "set three arguments, launch" sequence costs one index update. Synchronous calls hold {@link #syncLock} while
 * they wait, so there is at most one completion outstanding and the completion ring cannot overflow.
 *
 * <p>Liveness: while waiting, the host's heartbeat in the region header must keep moving; if it stands still for
 * {@link #HOST_TIMEOUT_NANOS} the channel is marked broken and this and every later call fails with
 * {@link Status#HOST_UNAVAILABLE}. If the host ends the session (CONNECT_ACK no longer holds our nonce), calls fail
 * with the host's reason.
 *
 * <p>Host restarts: the channel remembers the host's epoch at connect. Once the region shows another nonzero epoch
 * (a new host instance, or the guest's region reset), the session and every object of it are gone: the next call
 * fails with {@link Status#SESSION_CLOSED} and "the host restarted (epoch …): this session's objects are lost;
 * connect again" ({@link Ferry#reconnect()} connects again on the same region). While no host runs (the heartbeat
 * stands still) calls fail with {@link Status#HOST_UNAVAILABLE} as before; once a host is back they fail with the
 * restart message.
 */
final class Channel {
    static final long HOST_TIMEOUT_NANOS = 1_000_000_000L;

    private final Region region;
    private final SpscRing commands;
    private final SpscRing completions;
    private final long nonce;
    /** Names the host in messages: "of region PATH", "at ferry+tls://...". */
    private final String host;
    /** The host's epoch when this session was accepted. */
    private final long epoch;
    private final ReentrantLock sendLock = new ReentrantLock();
    private final ReentrantLock syncLock = new ReentrantLock();
    private final Reader reader = new Reader();
    /** Where recent one-way calls were made (under sendLock). */
    private final CallSites sites = new CallSites();
    private volatile boolean debug;
    // Reused by await (under syncLock): one wait per call, no allocation per call.
    private final IdleStrategy answerIdle;
    private final IdleStrategy deviceIdle;
    private long seq;
    private int unpublished;
    /**
     * Over a stream: sends the records just published from this thread (true), or false when the pump's sender is
     * at it (it is then woken if it sleeps). Null for a host's shared memory.
     */
    private volatile java.util.function.BooleanSupplier sendItself;
    /**
     * Over a stream: a caller whose answer is not in yet reads the stream itself, given whether the completion ring is
     * still empty (true: it read a frame, or the ring has records now); false when another thread reads. Null for a
     * host's shared memory.
     */
    private volatile java.util.function.Predicate<java.util.function.BooleanSupplier> receiveItself;
    private final java.util.function.BooleanSupplier ringEmpty;
    private volatile FerryException broken;
    // heartbeat thread only
    private long seenHostBeat;
    private long seenHostBeatAt;

    Channel(Region region, long nonce, String host) {
        this.region = region;
        this.host = host;
        this.commands = region.commandRing();
        this.completions = region.completionRing();
        this.nonce = nonce;
        this.epoch = region.hostEpoch();
        this.answerIdle = RingIdleStrategy.forAnswers(completions);
        this.deviceIdle = RingIdleStrategy.forDeviceWork(completions);
        this.ringEmpty = completions::isEmpty;
    }

    Region region() {
        return region;
    }

    /** Over a stream: the caller that publishes records sends them itself where it can ({@link #sendItself}). */
    void sendItself(java.util.function.BooleanSupplier send) {
        sendItself = send;
    }

    /** Over a stream: a waiting caller reads the host's frames itself where it can ({@link #receiveItself}). */
    void receiveItself(java.util.function.Predicate<java.util.function.BooleanSupplier> receive) {
        receiveItself = receive;
    }

    /** Publishes the records claimed (under sendLock); over a stream this thread sends them when it can. */
    private void publish() {
        java.util.function.BooleanSupplier send = sendItself;
        if (send == null) {
            commands.publish();
        } else if (commands.publishQuietly() && !send.getAsBoolean()) {
            commands.wakeConsumer();
        }
        unpublished = 0;
    }

    /**
     * Sends a one-way call and returns its sequence number: {@code args} writes the arguments through {@code call},
     * the op's view (every argument not written is 0). Deferred calls are published with the next call that is not.
     */
    <V extends CallRecord> long oneWay(V call, boolean defer, Consumer<? super V> args) {
        return oneWay(call, defer, null, null, args);
    }

    /** As {@link #oneWay(CallRecord, boolean, Consumer)}, with a blob. */
    <V extends CallRecord> long oneWay(V call, boolean defer, byte[] blob, Consumer<? super V> args) {
        return oneWay(call, defer, blob, null, args);
    }

    /** As {@link #oneWay(CallRecord, boolean, Consumer)}, with the bytes of {@code blob} as blob. */
    <V extends CallRecord> long oneWay(V call, boolean defer, MemorySegment blob, Consumer<? super V> args) {
        return oneWay(call, defer, null, blob, args);
    }

    /**
     * A one-way call; in debug mode it asks for a reply ({@link Wire#FLAG_REPLY}) and waits, so its failure is thrown
     * here, by the call that made it.
     */
    private <V extends CallRecord> long oneWay(V call, boolean defer, byte[] blobBytes, MemorySegment blobSegment,
                                               Consumer<? super V> args) {
        if (!debug) {
            return send(call, 0, blobBytes, blobSegment, !defer, args);
        }
        syncLock.lock();
        try {
            long s = send(call, Wire.FLAG_REPLY, blobBytes, blobSegment, true, args);
            await(call.spec(), s);
            return s;
        } finally {
            syncLock.unlock();
        }
    }

    /** Debug mode: every one-way call waits for its answer (see {@link Ferry#debug(boolean)}). */
    void debug(boolean on) {
        debug = on;
    }

    boolean debugging() {
        return debug;
    }

    /** Publishes deferred records. */
    void flush() {
        sendLock.lock();
        try {
            if (unpublished > 0) {
                publish();
            }
        } finally {
            sendLock.unlock();
        }
    }

    /**
     * Makes a synchronous call ({@code args} writes its arguments through the op's view {@code call}) and waits
     * for its completion; throws {@link FerryException} on failure.
     */
    <V extends CallRecord> Completion call(V call, byte[] blob, Consumer<? super V> args) {
        syncLock.lock();
        try {
            long s = send(call, Wire.FLAG_REPLY, blob, null, true, args);
            return await(call.spec(), s);
        } finally {
            syncLock.unlock();
        }
    }

    private <V extends CallRecord> long send(V call, int flags, byte[] blobBytes, MemorySegment blobSegment,
                                             boolean publish, Consumer<? super V> args) {
        FerryException b = broken;
        if (b != null) {
            throw b == closedHere ? b : restartedOr(b);
        }
        long hostEpoch = region.hostEpoch();
        if (hostEpoch != epoch && hostEpoch != 0) {
            throw restartedOr(null); // a new host serves the region (or it was reset): the session is gone
        }
        if (region.connectAck() != nonce) {
            // A newer session of this guest owns the rings now (or the host ended ours): writing would corrupt it.
            throw fail(closingNoticeOr(new FerryException(Status.SESSION_CLOSED, "this session has ended (the guest "
                    + "reconnected elsewhere, or the host closed it); connect again")));
        }
        Op op = call.spec();
        int blobLength = blobBytes != null ? blobBytes.length : blobSegment != null ? (int) blobSegment.byteSize() : 0;
        int length = CallRecord.length(op, blobLength);
        if (length > commands.maxRecordLength()) {
            throw new FerryException(Status.INVALID_ARGUMENT, op + " of " + length + " bytes exceeds the largest "
                    + "record the command ring carries (" + commands.maxRecordLength() + " bytes); pass large data "
                    + "through heap memory");
        }
        sendLock.lock();
        try {
            long at = claim(op, length);
            long s = ++seq;
            if (flags == 0 && op != Op.NOP) {
                sites.capture(s); // a one-way call whose failure surfaces later: remember the line that made it
            }
            call.wrap(commands.segment(), at).header(s, flags, blobLength);
            for (int i = 0; i < op.argCount(); i++) {
                call.arg(i, 0); // the ring holds old records: an argument the encoder leaves out is 0, not stale
            }
            args.accept(call);
            if (blobBytes != null) {
                call.blob(blobBytes);
            } else if (blobSegment != null) {
                call.blob(blobSegment);
            }
            if (publish) {
                publish();
            } else {
                unpublished++;
            }
            return s;
        } finally {
            sendLock.unlock();
        }
    }

    /** Claims ring space, waiting (with liveness checks) while the host catches up. */
    private long claim(Op op, int length) {
        long at = commands.tryClaim(op.code(), length);
        if (at >= 0) {
            return at;
        }
        if (unpublished > 0) {
            publish();
        }
        IdleStrategy idle = new BackoffIdleStrategy();
        Liveness live = new Liveness();
        while ((at = commands.tryClaim(op.code(), length)) < 0) {
            live.check();
            idle.idle(0);
        }
        return at;
    }

    private Completion await(Op op, long s) {
        // Spin briefly, then nap: on a small machine the device's own threads (PoCL) need the core more than we do.
        // In a VM with doorbell interrupts (VmInterrupts): sleep at once, the interrupt wakes us; a spinning vCPU
        // takes the host core that the host's endpoint needs.
        IdleStrategy idle = completions.doorbell() != null ? RingIdleStrategy.forInterrupts(completions)
                : waitsOnOtherWork(op) ? deviceIdle : answerIdle;
        idle.reset();
        Liveness live = null;
        int idles = 0;
        while (true) {
            reader.found = null;
            reader.want = s;
            int n;
            try {
                n = completions.poll(reader, 16);
            } catch (RingCorruptedException e) {
                throw fail(new FerryException(Status.PROTOCOL_VIOLATION, "completion ring corrupt: " + e.getMessage()));
            }
            if (reader.closedBy != null) {
                throw fail(reader.closedBy);
            }
            if (reader.found != null) {
                return check(reader.found, op);
            }
            if (n == 0) {
                var receive = receiveItself;
                boolean read = receive != null && receive.test(ringEmpty);
                // Liveness reads the clock: not on every empty poll of a short wait (it checks once a ms anyway).
                if (read || (++idles & 63) == 0) {
                    if (live == null) {
                        live = new Liveness();
                    }
                    live.check();
                }
                if (!read) {
                    idle.idle(0);
                }
            } else {
                idle.reset();
            }
        }
    }

    /**
     * {@code c} if it succeeded; else throws: the failure of the call {@code called}, or (a sticky report) the failure
     * of the earlier one-way call it names, with the line of the guest's code that made that call when known.
     */
    private Completion check(Completion c, Op called) {
        if (c.status() == Status.OK.code()) {
            return c;
        }
        Status st = Status.of(c.status());
        if (c.r2() != 1) {
            throw new FerryException(st, called + ": " + c.text()).nativeError(c.r3());
        }
        String where;
        sendLock.lock();
        try {
            where = sites.where(c.r0());
            sites.alwaysOn();
        } finally {
            sendLock.unlock();
        }
        throw new FerryException(st, c.text() + (where == null ? "" : "; the call was made at " + where),
                new FerryException.FailedCall(c.r0(), Op.of((int) c.r1()))).nativeError(c.r3());
    }

    /** Calls whose answer waits on other processes' work (a device, a TEE): yield to them rather than spin. */
    private static boolean waitsOnOtherWork(Op op) {
        return switch (op) {
            case FINISH, EVENT_WAIT, PROGRAM_BUILD, TEE_OPEN_SESSION, TEE_INVOKE -> true;
            default -> false;
        };
    }

    /**
     * The restart error when the region shows another host's epoch (a new host serves it now, or it was reset), else
     * {@code otherwise}: a session that ended because the host went away reads as a restart once the host is back.
     */
    private FerryException restartedOr(FerryException otherwise) {
        long now = region.hostEpoch();
        if (now == epoch || now == 0) {
            return otherwise;
        }
        return fail(new FerryException(Status.SESSION_CLOSED, "the host restarted (epoch " + Long.toHexString(now)
                + ", was " + Long.toHexString(epoch) + "; or the guest's region was reset): this session's objects "
                + "are lost; connect again (Ferry.reconnect() keeps the region's mapping)"));
    }

    /**
     * The host's closing notice (it writes one before it clears CONNECT_ACK), read from the completion ring when no
     * call is reading it now; else {@code otherwise}. So a guest between calls learns why, not only that.
     */
    private FerryException closingNoticeOr(FerryException otherwise) {
        if (reader.closedBy == null && syncLock.tryLock()) {
            try {
                completions.poll(reader, 16);
            } catch (RingCorruptedException ignored) {
                // the session is over either way: the generic message applies
            } finally {
                syncLock.unlock();
            }
        }
        return reader.closedBy != null ? reader.closedBy : otherwise;
    }

    /**
     * Throws what ended this channel (closed here, the host gone or restarted, the session ended) as the next call
     * would; else returns at once. For a wait outside the rings (a direct TEE lane): the heartbeat marks the channel
     * broken within {@link #HOST_TIMEOUT_NANOS} of the host's last beat.
     */
    void checkAlive() {
        FerryException b = broken;
        if (b != null) {
            throw b == closedHere ? b : restartedOr(b);
        }
    }

    private FerryException fail(FerryException e) {
        broken = e;
        return e;
    }

    /** Marks the channel closed by the guest. */
    void closed() {
        Heartbeat.unregister(this);
        broken = closedHere;
    }

    private final FerryException closedHere = new FerryException(Status.SESSION_CLOSED, "the connection was closed");

    void startHeartbeat() {
        seenHostBeat = region.hostHeartbeat();
        seenHostBeatAt = System.nanoTime();
        Heartbeat.register(this);
    }

    /** Called by {@link Heartbeat} (holding this object's monitor): beat ours, check theirs. */
    void beat(long value, long now) {
        if (broken != null) {
            return;
        }
        region.guestHeartbeat(value);
        long hostBeat = region.hostHeartbeat();
        long hostEpoch = region.hostEpoch();
        if (hostEpoch != epoch && hostEpoch != 0) {
            restartedOr(null); // a new host, or the region reset: the session is gone
        } else if (hostBeat != seenHostBeat) {
            seenHostBeat = hostBeat;
            seenHostBeatAt = now;
        } else if (now - seenHostBeatAt > HOST_TIMEOUT_NANOS) {
            fail(new FerryException(Status.HOST_UNAVAILABLE, "no heartbeat from the host " + host
                    + " for " + (now - seenHostBeatAt) / 1_000_000 + " ms"));
        } else if (region.connectAck() != nonce) {
            fail(closingNoticeOr(new FerryException(Status.SESSION_CLOSED, "the host ended this session")));
        }
    }

    /** Tracks the host's heartbeat and the session's ack while a call waits. */
    private final class Liveness {
        private long lastBeat = region.hostHeartbeat();
        private long lastChange = System.nanoTime();
        private long lastCheck = System.nanoTime();

        void check() {
            long t = System.nanoTime();
            if (t - lastCheck < 1_000_000) {
                return;
            }
            lastCheck = t;
            long e = region.hostEpoch();
            if (e != epoch && e != 0) {
                throw restartedOr(null);
            }
            if (region.connectAck() != nonce) {
                throw fail(closingNoticeOr(new FerryException(Status.SESSION_CLOSED, "the host ended this session")));
            }
            long beat = region.hostHeartbeat();
            long now = System.nanoTime();
            if (beat != lastBeat) {
                lastBeat = beat;
                lastChange = now;
            } else if (now - lastChange > HOST_TIMEOUT_NANOS) {
                throw fail(new FerryException(Status.HOST_UNAVAILABLE, "no heartbeat from the host " + host
                        + " for " + (now - lastChange) / 1_000_000 + " ms"));
            }
        }
    }

    /** A completion: four result words, its text, its status (checked by {@link #check}). */
    record Completion(long r0, long r1, long r2, long r3, String text, int status, long seq, int op, byte[] blob) {
    }

    private static final class Reader extends CompletionReader {
        /** The blob of every answer that has none: empty, so no caller can change it. */
        private static final byte[] NO_BYTES = new byte[0];
        long want;
        Completion found;
        FerryException closedBy;

        @Override
        protected void onCompletion(int type, CompletionRecord c) {
            int status = c.status();
            if (type == Wire.SESSION_CLOSED_TYPE) {
                // HOST_UNAVAILABLE: a stream pump's notice of a lost connection, whose text says it all
                closedBy = new FerryException(Status.of(status), status == Status.HOST_UNAVAILABLE.code() ? c.text()
                        : "the host closed the session: " + c.text());
                return;
            }
            long s = c.seq();
            if (s != want) {
                return; // a reply to a call whose waiter gave up: not ours
            }
            // most answers carry no blob: no copy and no string for those (a null call's answer allocated both)
            boolean empty = c.blobLength() == 0;
            byte[] blob = empty ? NO_BYTES : c.blobBytes();
            found = new Completion(c.result(0), c.result(1), c.result(2), c.result(3),
                    empty ? "" : new String(blob, java.nio.charset.StandardCharsets.UTF_8), status, s, type, blob);
        }
    }
}
