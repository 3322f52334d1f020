package io.ferry.testkit;

import io.ferry.host.endpoint.Endpoint;

import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
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
    /** One completion as the guest read it. */
    public record Reply(int op, long seq, Status status, long r0, long r1, long r2, String text) {
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

    private static long nonces = System.nanoTime();

    public final Region region;
    final SpscRing commands;
    final SpscRing completions;
    private final String name;
    private final Reader reader = new Reader();
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
        nonce = nextNonce();
        open = false;
        reader.closedBy = null;
        region.guestPid(ProcessHandle.current().pid());
        beat();
        region.connectRequest(nonce);
        long deadline = System.nanoTime() + timeoutNanos;
        int spins = 0;
        while (region.connectAck() != nonce) {
            if (System.nanoTime() > deadline) {
                throw new HostStuck("guest " + name + ": the host did not acknowledge CONNECT_REQUEST within "
                        + timeoutNanos / 1_000_000 + " ms");
            }
            if ((++spins & 255) == 0) {
                beat();
            }
            idle(spins);
        }
        commands.reset();
        completions.reset();
        seq = 0;
        open = true;
        long[] cred = Endpoint.words(credential != null ? credential : region.credential());
        Reply r = call(Op.HELLO, Wire.utf8(name), timeoutNanos, Wire.HELLO_MAGIC, Wire.PROTOCOL_VERSION,
                Wire.CAPABILITIES, ProcessHandle.current().pid(), cred[0], cred[1], cred[2], cred[3]);
        if (r != null && r.ok()) {
            sessionId = r.r0();
        }
        return r;
    }

    private static synchronized long nextNonce() {
        nonces = nonces * 6364136223846793005L + 1442695040888963407L;
        return nonces | 1;
    }

    /**
     * Writes one call record without publishing it. {@code args} may be shorter or longer than the op's shape;
     * {@code blobLengthField} is what the blob length field says (normally {@code blob.length}).
     *
     * @return the call's sequence number, or -1 when the ring has no room now
     */
    long put(int type, int flags, long[] args, byte[] blob, int blobLengthField) {
        int blobBytes = blob == null ? 0 : blob.length;
        int length = Wire.CALL_HEADER_LENGTH + 8 * args.length + blobBytes;
        long at = commands.tryClaim(type, length);
        if (at < 0) {
            return -1;
        }
        MemorySegment s = commands.segment();
        long sq = ++seq;
        Wire.putCallHeader(s, at, sq, flags, blobLengthField);
        for (int i = 0; i < args.length; i++) {
            Wire.putArg(s, at, i, args[i]);
        }
        if (blobBytes > 0) {
            MemorySegment.copy(blob, 0, s, ValueLayout.JAVA_BYTE, at + Wire.CALL_HEADER_LENGTH + 8L * args.length,
                    blobBytes);
        }
        return sq;
    }

    /** A well-formed call of {@code op}; not published. */
    long put(Op op, boolean reply, byte[] blob, long... args) {
        return put(op.code(), reply || op.kind() == Op.Kind.SYNC ? Wire.FLAG_REPLY : 0, args, blob,
                blob == null ? 0 : blob.length);
    }

    void publish() {
        commands.publish();
    }

    /** Bytes the command ring can take now. */
    long freeBytes() {
        return commands.freeBytes();
    }

    /** A synchronous call: publish and wait for its completion (null when the session ended first). */
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

    private final class Reader implements RecordHandler {
        long want;
        Reply found;
        Reply closedBy;

        @Override
        public void onRecord(int type, MemorySegment rec, int length) {
            if (length < Wire.COMPLETION_HEADER_LENGTH) {
                throw new RingCorruptedException("completion of " + length + " bytes is shorter than its header");
            }
            int blob = Wire.blobLength(rec, 0);
            if (blob < 0 || Wire.COMPLETION_HEADER_LENGTH + (long) blob > length) {
                throw new RingCorruptedException("completion blob length " + blob + " exceeds the record");
            }
            String text = blob == 0 ? "" : Wire.string(rec, Wire.COMPLETION_HEADER_LENGTH, blob);
            Reply r = new Reply(type, Wire.seq(rec, 0), Status.of(Wire.status(rec, 0)), Wire.result(rec, 0, 0),
                    Wire.result(rec, 0, 1), Wire.result(rec, 0, 2), text);
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
