package io.ferry.testkit;

import io.ferry.host.endpoint.Endpoint;

import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.CompletionReader;
import io.ferry.channel.Handshake;
import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A guest spoken straight from {@code docs/protocol.md}, without the client library (the host must not depend on
 * it): the fuzzer's hands on one region. It can be a well-behaved guest (connect, calls, completions) and a hostile
 * one: it writes whatever bytes it likes into its own rings and header.
 *
 * <p>One thread only. Every wait has a deadline, so a host that stops answering is reported, never waited on.
 */
public final class RawGuest implements AutoCloseable {
    /** One completion as the guest read it: its results, its blob as text and as the bytes themselves. */
    public record Reply(int op, long seq, Status status, long r0, long r1, long r2, long r3, String text, byte[] blob) {
        boolean ok() {
            return status == Status.OK;
        }
    }

    /** The host did not answer within the deadline: a property violation, not a guest error. */
    static final class HostStuck extends RuntimeException {
        HostStuck(String message) {
            super(message);
        }
    }

    public final Region region;
    final SpscRing commands;
    final SpscRing completions;
    private final String name;
    private static final long TIMEOUT_FULL = 10_000_000_000L;
    private final Reader reader = new Reader();
    /** Writes the malformed records of {@link #putRaw}. */
    private final CallRecord raw = new CallRecord();
    private long nonce;
    private long seq;
    private long beat;
    private long sessionId;
    private boolean open;
    /** Completions read while waiting, for the fuzzer's tallies. */
    long completionsSeen;
    /** Sees every completion read (null: none). */
    java.util.function.Consumer<Reply> onReply;

    public RawGuest(Path regionFile) {
        this.region = Region.open(regionFile);
        this.commands = region.commandRing();
        this.completions = region.completionRing();
        this.name = region.header().guestName();
    }

    String name() {
        return name;
    }

    long sessionId() {
        return sessionId;
    }

    /** Whether the host still holds our session (CONNECT_ACK is our nonce and no closing notice was read). */
    public boolean open() {
        return open && region.connectAck() == nonce && reader.closedBy == null;
    }

    /** The host's reason for ending our session, once read. */
    Reply closedBy() {
        return reader.closedBy;
    }

    void beat() {
        region.guestHeartbeat(++beat);
    }

    /**
     * Asks for a fresh session and says HELLO with the region's credential.
     *
     * @return the HELLO reply (status OK: the session is open)
     */
    public Reply connect(long timeoutNanos) {
        return connect(timeoutNanos, null);
    }

    /** As {@link #connect(long)}, with a credential to present instead of the region's (null: the region's). */
    public Reply connect(long timeoutNanos, byte[] credential) {
        open = false;
        reader.closedBy = null;
        beat();
        nonce = Handshake.request(region, ProcessHandle.current().pid());
        int[] spins = {0};
        // awaitAck resets this side of both rings (the region's own, which commands and completions are)
        Handshake.awaitAck(region, nonce, new BackoffIdleStrategy(), waited -> {
            if (waited > timeoutNanos) {
                throw new HostStuck("guest " + name + ": the host did not acknowledge CONNECT_REQUEST within "
                        + timeoutNanos / 1_000_000 + " ms");
            }
            if ((++spins[0] & 255) == 0) {
                beat();
            }
        });
        seq = 0;
        open = true;
        long[] cred = Endpoint.words(credential != null ? credential : region.credential());
        Calls.Hello hello = put(new Calls.Hello(), true, Wire.utf8(name)).magic(Wire.HELLO_MAGIC)
                .version(Wire.PROTOCOL_VERSION).capabilities(Wire.CAPABILITIES).pid(ProcessHandle.current().pid());
        for (int i = 0; i < cred.length; i++) {
            hello.credential(i, cred[i]);
        }
        Reply r = await(hello, timeoutNanos);
        if (r != null && r.ok()) {
            sessionId = r.r0();
        }
        return r;
    }

    /**
     * Writes one possibly malformed call record without publishing it: any type and flags, {@code args} shorter or
     * longer than the op's shape, and a blob length field that says {@code blobLengthField} whatever the blob is.
     * Deliberately not through a {@link Calls} view (a view writes only well-formed records): the header goes through
     * a plain {@link CallRecord}, the arguments by index and the blob by hand after them, at the named offsets.
     *
     * @return the call's sequence number, or -1 when the ring has no room now
     */
    long putRaw(int type, int flags, long[] args, byte[] blob, int blobLengthField) {
        int blobBytes = blob == null ? 0 : blob.length;
        int length = CallRecord.length(args.length, blobBytes);
        long at = commands.tryClaim(type, length);
        if (at < 0) {
            return -1;
        }
        MemorySegment s = commands.segment();
        long sq = ++seq;
        raw.wrap(s, at).header(sq, flags, blobLengthField);
        for (int i = 0; i < args.length; i++) {
            raw.arg(i, args[i]);
        }
        if (blobBytes > 0) {
            // the blob follows the arguments written, which need not be the op's count
            MemorySegment.copy(blob, 0, s, ValueLayout.JAVA_BYTE, at + CallRecord.HEADER_LENGTH + 8L * args.length,
                    blobBytes);
        }
        return sq;
    }

    /**
     * Claims a well-formed call of {@code view}'s op with {@code blob} (null: none), writes its header and blob and
     * points {@code view} at it for the arguments, which start at zero; not published. A reply is asked for when
     * {@code reply} or the op is synchronous.
     *
     * @return {@code view}, or null when the ring has no room now
     */
    <V extends CallRecord> V tryPut(V view, boolean reply, byte[] blob) {
        Op op = view.spec();
        int blobBytes = blob == null ? 0 : blob.length;
        long at = commands.tryClaim(op.code(), CallRecord.length(op, blobBytes));
        if (at < 0) {
            return null;
        }
        view.wrap(commands.segment(), at).header(++seq, reply || op.kind() == Op.Kind.SYNC ? Wire.FLAG_REPLY : 0,
                blobBytes);
        for (int i = 0; i < op.argCount(); i++) {
            view.arg(i, 0); // the ring's bytes are a former record's
        }
        if (blobBytes > 0) {
            view.blob(blob);
        }
        return view;
    }

    /**
     * Writes a copy of {@code built}, a call whose arguments were drawn in private memory (its op is its view's),
     * with {@code blob}; not published.
     *
     * @return the call's sequence number, or -1 when the ring has no room now
     */
    long send(CallRecord built, boolean reply, byte[] blob) {
        Op op = built.spec();
        CallRecord v = tryPut(CallRecord.of(op), reply, blob);
        if (v == null) {
            return -1;
        }
        for (int i = 0; i < op.argCount(); i++) {
            v.arg(i, built.arg(i));
        }
        return v.seq();
    }

    /** As {@link #tryPut}; when the ring is full, publishes and waits until the host has read it first. */
    public <V extends CallRecord> V put(V view, boolean reply, byte[] blob) {
        V v = tryPut(view, reply, blob);
        if (v == null) {
            publish();
            drainUntil(0, TIMEOUT_FULL);
            v = tryPut(view, reply, blob);
            if (v == null) {
                throw new HostStuck("guest " + name + ": the command ring stays full");
            }
        }
        return v;
    }

    /**
     * A well-formed call of {@code op} with its arguments in catalogue order ({@link Op#argNames()}); not published.
     * Calls with more than a few arguments read better through their {@link Calls} view and {@link #put(CallRecord,
     * boolean, byte[])}.
     *
     * @return the call's sequence number, or -1 when the ring has no room now
     */
    long put(Op op, boolean reply, byte[] blob, long... args) {
        if (args.length != op.argCount()) {
            throw new IllegalArgumentException(op + " takes " + op.argCount() + " arguments " + op.argNames()
                    + ", not " + args.length + " (putRaw writes malformed records)");
        }
        CallRecord v = tryPut(CallRecord.of(op), reply, blob);
        if (v == null) {
            return -1;
        }
        for (int i = 0; i < args.length; i++) {
            v.arg(i, args[i]);
        }
        return v.seq();
    }

    /** Publishes and waits for the completion of the call {@code view} points at (null when the session ended). */
    public Reply await(CallRecord view, long timeoutNanos) {
        long s = view.seq();
        publish();
        return drainUntil(s, timeoutNanos);
    }

    void publish() {
        commands.publish();
    }

    /** Bytes the command ring can take now. */
    long freeBytes() {
        return commands.freeBytes();
    }

    /**
     * A synchronous call, arguments in catalogue order: publish and wait for its completion (null when the session
     * ended first).
     */
    public Reply call(Op op, byte[] blob, long timeoutNanos, long... args) {
        long s = put(op, true, blob, args);
        if (s < 0) {
            drainUntil(0, timeoutNanos);
            s = put(op, true, blob, args);
            if (s < 0) {
                throw new HostStuck("guest " + name + ": the command ring stays full");
            }
        }
        publish();
        return drainUntil(s, timeoutNanos);
    }

    /**
     * Reads completions until the one for {@code want} arrives (0: until the command ring is empty), the session
     * ends (null), or the deadline passes ({@link HostStuck}).
     */
    Reply drainUntil(long want, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        reader.want = want;
        reader.found = null;
        int spins = 0;
        while (true) {
            int n;
            try {
                n = completions.poll(reader, 64);
            } catch (RingCorruptedException e) {
                throw new HostStuck("guest " + name + ": the host wrote a corrupt completion ring: " + e.getMessage());
            }
            completionsSeen += n;
            if (reader.found != null) {
                return reader.found;
            }
            if (reader.closedBy != null) {
                open = false;
                return null;
            }
            if (want == 0 && commandsConsumed()) {
                return null;
            }
            if (n == 0) {
                if (region.connectAck() != nonce) {
                    // The session is over; pick up a closing notice the host may have left.
                    completions.poll(reader, 64);
                    open = false;
                    return null;
                }
                if (System.nanoTime() > deadline) {
                    throw new HostStuck("guest " + name + " session " + sessionId + ": no completion for call #"
                            + want + " within " + timeoutNanos / 1_000_000 + " ms (host endpoint stuck or dead)");
                }
                if ((++spins & 255) == 0) {
                    beat();
                }
                idle(spins);
            }
        }
    }

    private boolean commandsConsumed() {
        MemorySegment s = commands.segment();
        return s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_HEAD_OFFSET)
                == s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
    }

    /** Waits until the host has ended our session (CONNECT_ACK moved away from our nonce). */
    boolean awaitClosed(long timeoutNanos) {
        return awaitClosed(timeoutNanos, true);
    }

    /** As {@link #awaitClosed(long)}; {@code drain} false leaves completions unread (a guest that never reads). */
    boolean awaitClosed(long timeoutNanos, boolean drain) {
        long deadline = System.nanoTime() + timeoutNanos;
        int spins = 0;
        while (region.connectAck() == nonce) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            if ((++spins & 255) == 0) {
                beat();
            }
            try {
                if (drain) {
                    completions.poll(reader, 64);
                }
            } catch (RingCorruptedException e) {
                // a hostile case may have trashed the completion ring itself; the ack still tells
            }
            idle(spins);
        }
        open = false;
        return true;
    }

    private static void idle(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
        } else if (spins < 256) {
            Thread.yield();
        } else {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000);
        }
    }

    @Override
    public void close() {
        region.close();
    }

    /** Reads completions as the guest library does: framing checked once by {@link CompletionReader}. */
    private final class Reader extends CompletionReader {
        long want;
        Reply found;
        Reply closedBy;

        @Override
        protected void onCompletion(int type, CompletionRecord c) {
            Reply r = new Reply(type, c.seq(), Status.of(c.status()), c.result(0), c.result(1), c.result(2),
                    c.result(3), c.text(), c.blobBytes());
            if (onReply != null) {
                onReply.accept(r);
            }
            if (type == Wire.SESSION_CLOSED_TYPE) {
                closedBy = r;
            } else if (want != 0 && r.seq() == want) {
                found = r;
            }
        }
    }
}
