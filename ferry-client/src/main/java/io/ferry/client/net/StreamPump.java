package io.ferry.client.net;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.channel.Region;
import io.ferry.channel.RegionException;
import io.ferry.channel.RegionHeader;
import io.ferry.channel.RegionMirror;
import io.ferry.channel.SpscRing;
import io.ferry.client.FerryException;
import io.ferry.client.HostAddress;
import io.ferry.client.net.Links.Link;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import io.ferry.protocol.Wire;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * The guest's side of a stream connection (docs/network.md, "lane mirroring"): the local mirror of the guest's
 * region, one lane of which the ordinary client code uses, and the two threads that replay that lane over the
 * stream. The sender ({@link PumpSender}) consumes the mirror's command ring as a host endpoint would and sends
 * each record's IN heap ranges, then the record (a thread that publishes records sends them itself through
 * {@link #send} when the sender is not at it); it also sends the lane's guest-written words when they change. The
 * receiver (here) reads the host's frames, checks each (the host is trusted for data, not to be bug-free: heap
 * ranges inside the lane's slice, only the words the host owns), and writes them into the mirror: completions into
 * the completion ring (ringing its doorbell), heap bytes into the heap slice, words, figures.
 *
 * <p>When the stream ends (the host closed it, a network error, a frame that breaks the rules) the receiver puts a
 * closing notice with the reason into the completion ring and clears the lane's CONNECT_ACK, so a call waiting now
 * and every later one fails at once with that reason: {@link Status#HOST_UNAVAILABLE} naming the address for a
 * lost connection, the host's status for a CLOSED frame.
 */
public final class StreamPump implements AutoCloseable {
    static final Logger LOG = Logger.getLogger("io.ferry.client.net");
    /** How long the host may take to answer OPEN. */
    static final long OPEN_TIMEOUT_MILLIS = 15_000;
    /**
     * A connection with no frame from the host for this long is closed (the host sends WORDS at least every 100 ms,
     * and closes a silent client after as long): its calls failed a second after the last heartbeat already.
     */
    static final long SILENCE_NANOS = 10_000_000_000L;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final HostAddress.Stream target;
    private final byte[] credential;
    /** The TLS bundle directory given to {@link #open} (null: the environment's). */
    private final java.nio.file.Path tlsBundle;
    private final String address;
    private final Link link;
    private final Region mirror;
    private final Region lane;
    private final MemorySegment heap;
    /** The pump's producer view of the lane's completion ring (the client's view consumes it). */
    private final SpscRing completions;
    private final PumpSender sender;
    private final Thread senderThread;
    private final Thread receiverThread;
    private final Object writeLock = new Object();
    private volatile FerryException problem;
    private volatile boolean closing;
    /** When the receiver last read a frame header (System.nanoTime). */
    private volatile long lastFrameAt = System.nanoTime();

    private StreamPump(HostAddress.Stream target, byte[] credential, java.nio.file.Path tlsBundle, Link link,
                       Region mirror, int laneIndex, long chunkLimit) {
        this.target = target;
        this.credential = credential;
        this.tlsBundle = tlsBundle;
        this.address = target.toString();
        this.link = link;
        this.mirror = mirror;
        this.lane = mirror.lane(laneIndex);
        this.heap = lane.heap();
        RegionHeader.Lane l = mirror.header().lanes().get(laneIndex);
        MemorySegment s = mirror.segment();
        this.completions = new SpscRing("completion (stream pump)",
                s.asSlice(l.completionRingOffset(), sectionSizeFor(l.completionRingCapacity())),
                l.completionRingCapacity());
        SpscRing commands = new SpscRing("command (stream pump)",
                s.asSlice(l.commandRingOffset(), sectionSizeFor(l.commandRingCapacity())), l.commandRingCapacity());
        this.sender = new PumpSender(this, commands, lane, (int) chunkLimit);
        this.senderThread = Thread.ofPlatform().daemon(true).name("ferry-pump-send " + address).unstarted(sender);
        this.receiverThread = Thread.ofPlatform().daemon(true).name("ferry-pump-receive " + address)
                .unstarted(this::receive);
    }

    /**
     * Connects to {@code target} (which names its guest), sends OPEN (with {@code credential} after the name where
     * not empty: the secret a plain listener checks), and on OPENED makes the mirror and starts the pump. Over TLS
     * the guest's bundle is the directory {@code tlsBundle}, or where null {@link TlsBundle#forGuest}'s.
     *
     * @throws FerryException HOST_UNAVAILABLE when nothing answers, the host's status when it refuses (CLOSED),
     *                        BAD_CREDENTIAL when TLS fails, PROTOCOL_VIOLATION when the answer is no Ferry host's
     */
    public static StreamPump open(HostAddress.Stream target, byte[] credential, java.nio.file.Path tlsBundle) {
        Link link = StreamOpen.connect(target, () -> (tlsBundle != null ? TlsBundle.read(tlsBundle, target.guest())
                : TlsBundle.forGuest(target.guest())).context());
        try {
            StreamFrame.Opened opened = StreamOpen.handshake(link, target, credential);
            Region mirror;
            try {
                mirror = RegionMirror.create(opened.headerPage(), target.toString());
            } catch (RegionException e) {
                throw new FerryException(e.status(), e.getMessage());
            }
            try {
                if (opened.lane() >= mirror.laneCount() || !mirror.header().guestName().equals(target.guest())) {
                    throw new FerryException(Status.PROTOCOL_VIOLATION, "the host at " + target + " answered with "
                            + "lane " + opened.lane() + " of guest '" + mirror.header().guestName() + "' ("
                            + mirror.laneCount() + " lanes): not a lane of guest '" + target.guest() + "'");
                }
                StreamPump pump = new StreamPump(target, credential, tlsBundle, link, mirror, opened.lane(),
                        opened.chunkLimit());
                pump.receiverThread.start();
                pump.senderThread.start();
                return pump;
            } catch (RuntimeException e) {
                mirror.close();
                throw e;
            }
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /**
     * From the thread that has just published records on the lane: sends them now, or returns false when the
     * sender thread is sending (wake it then: it sends them).
     */
    public boolean send() {
        return sender.send();
    }

    /** The address this pump connected to (with its guest): what a reconnect connects to again. */
    public HostAddress.Stream target() {
        return target;
    }

    /** The secret OPEN carried (empty: none), for a reconnect. */
    public byte[] credential() {
        return credential.clone();
    }

    /** The TLS bundle directory {@link #open} was given (null: the environment's), for a reconnect. */
    public java.nio.file.Path tlsBundle() {
        return tlsBundle;
    }

    /** The local mirror of the guest's region (the whole mapping; close it after {@link #close()}). */
    public Region mirror() {
        return mirror;
    }

    /** The lane the host's proxy claimed for this connection: the client takes the same lane of the mirror. */
    public int lane() {
        return lane.laneIndex();
    }

    /** Why the stream ended, or null while it runs. */
    public FerryException problem() {
        return problem;
    }

    /**
     * Stops the pump: closes the stream and waits for both threads, so the mirror can be unmapped after. Calls still
     * waiting fail with SESSION_CLOSED. Idempotent.
     */
    @Override
    public void close() {
        closing = true;
        fail(Status.SESSION_CLOSED, "the connection to " + address + " was closed by this guest");
        lane.commandRing().wakeConsumer(); // the sender may sleep on the command ring's doorbell
        join(senderThread);
        join(receiverThread);
    }

    private static void join(Thread t) {
        if (t == Thread.currentThread() || !t.isAlive()) {
            return;
        }
        try {
            t.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean stopped() {
        return problem != null;
    }

    /** Sender, at least every 100 ms: closes a connection the host has been silent on for {@link #SILENCE_NANOS}. */
    void checkSilence(long now) {
        long quiet = now - lastFrameAt;
        if (quiet > SILENCE_NANOS) {
            fail(Status.HOST_UNAVAILABLE, "no frame from the host at " + address + " for " + quiet / 1_000_000
                    + " ms: the connection was closed; Ferry.reconnect() connects again");
        }
    }

    Link link() {
        return link;
    }

    Object writeLock() {
        return writeLock;
    }

    String address() {
        return address;
    }

    /** Ends the stream once: the first reason is kept, the link closed (which stops both threads). */
    void fail(Status status, String message) {
        synchronized (this) {
            if (problem != null) {
                return;
            }
            problem = new FerryException(status, message);
        }
        if (!closing) {
            LOG.log(Level.WARNING, "Ferry stream " + address + ": " + message);
        }
        link.close();
    }

    // ---- receiver ----

    /** A frame from the host that breaks the rules. */
    private static final class Violation extends RuntimeException {
        Violation(String reason) {
            super(reason, null, false, false);
        }
    }

    private void receive() {
        ByteBuffer head = ByteBuffer.allocate(StreamFrame.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        byte[] buffer = new byte[StreamFrame.MAX_PAYLOAD];
        MemorySegment payload = MemorySegment.ofArray(buffer);
        try {
            while (!stopped()) {
                head.clear();
                link.readFully(head);
                lastFrameAt = System.nanoTime();
                int length = head.getInt(0);
                int type = Short.toUnsignedInt(head.getShort(4));
                String bad = StreamFrame.checkHeader(length, type, Short.toUnsignedInt(head.getShort(6)), true);
                if (bad != null) {
                    throw new Violation(bad);
                }
                int n = length - StreamFrame.HEADER_LENGTH;
                if (type == StreamFrame.HEAP) {
                    heapFrame(head, n);
                    continue;
                }
                link.readFully(ByteBuffer.wrap(buffer, 0, n));
                MemorySegment p = payload.asSlice(0, n);
                switch (type) {
                    case StreamFrame.COMPLETION -> completion(p);
                    case StreamFrame.WORDS -> words(p);
                    case StreamFrame.FIGURES -> figures(p);
                    case StreamFrame.CLOSED -> {
                        StreamFrame.Closed c = StreamFrame.parseClosed(p);
                        fail(c.statusEnum(), "the host at " + address + " closed the connection: " + c.reason());
                    }
                    default -> throw new Violation("a frame of type " + type + " after OPENED");
                }
            }
        } catch (Violation | StreamFrame.Malformed e) {
            sendClosed(Status.PROTOCOL_VIOLATION, e.getMessage());
            fail(Status.PROTOCOL_VIOLATION, "the host at " + address + " broke the stream protocol: "
                    + e.getMessage() + "; the connection was closed (Ferry.reconnect() connects again)");
        } catch (IOException e) {
            fail(Status.HOST_UNAVAILABLE, "the connection to " + address + " was lost ("
                    + (e instanceof EOFException ? "the host closed it" : e instanceof SSLException
                    ? "TLS: " + e.getMessage() : e.getMessage()) + "); Ferry.reconnect() connects again");
        } catch (RuntimeException | Error e) {
            fail(Status.INTERNAL, "the stream pump of " + address + " failed: " + e);
            throw e;
        } finally {
            publishLoss();
        }
    }

    /** HEAP: the offset, checked against the lane's heap slice, then the bytes straight into it. */
    private void heapFrame(ByteBuffer head, int n) throws IOException {
        head.clear();
        link.readFully(head);
        long offset = head.getLong(0);
        HeapTraffic.Range r = new HeapTraffic.Range(offset, n - 8L, HeapTraffic.Direction.OUT);
        if (n <= 8 || !r.within(heap.byteSize())) {
            throw new Violation("HEAP frame of " + (n - 8) + " bytes at heap offset " + offset + " is outside the "
                    + "lane's heap slice of " + heap.byteSize() + " bytes");
        }
        link.readFully(heap.asSlice(offset, n - 8L).asByteBuffer());
    }

    /** COMPLETION: one well-framed record into the local completion ring (waiting while the client drains it). */
    private void completion(MemorySegment p) {
        long n = p.byteSize();
        int length = p.get(INT, 0);
        int type = p.get(INT, 4);
        if (length < CompletionRecord.HEADER_LENGTH || length > n || alignRecord(length) != n) {
            throw new Violation("COMPLETION record length " + length + " does not match its frame of " + n
                    + " bytes");
        }
        if (type < 0) {
            throw new Violation("COMPLETION record type " + type + " is negative");
        }
        if (length > completions.maxRecordLength()) {
            throw new Violation("COMPLETION record of " + length + " bytes exceeds the completion ring's largest ("
                    + completions.maxRecordLength() + ")");
        }
        long at;
        while ((at = completions.tryClaim(type, length)) < 0) {
            if (stopped()) {
                return;
            }
            LockSupport.parkNanos(50_000);
        }
        MemorySegment.copy(p, 8, completions.segment(), at + 8, length - 8);
        completions.publish();
    }

    /** WORDS: only the host's own words; the session id before the ack, which is written last. */
    private void words(MemorySegment p) {
        long base = laneWordsOffset(lane.laneIndex());
        long[] v = new long[4];
        boolean[] set = new boolean[4];
        StreamFrame.forEachWord(p, (offset, value) -> {
            int i = offset == HOST_EPOCH_OFFSET ? 0 : offset == HOST_HEARTBEAT_OFFSET ? 1
                    : offset == base + LANE_SESSION_ID_OFFSET ? 2 : offset == base + LANE_CONNECT_ACK_OFFSET ? 3 : -1;
            if (i < 0) {
                throw new Violation("WORDS names region offset " + offset + ", which is not the host's to write "
                        + "(HOST_EPOCH, HOST_HEARTBEAT, lane " + lane.laneIndex() + "'s CONNECT_ACK and SESSION_ID)");
            }
            v[i] = value;
            set[i] = true;
        });
        if (set[0]) {
            mirror.hostEpoch(v[0]);
        }
        if (set[1]) {
            mirror.hostHeartbeat(v[1]);
        }
        if (set[2]) {
            lane.sessionId(v[2]);
        }
        if (set[3]) {
            lane.connectAck(v[3]);
        }
    }

    /** FIGURES: the HOST_FIGURES block, its update counter last. */
    private void figures(MemorySegment p) {
        if (p.byteSize() != HOST_FIGURES_LENGTH) {
            throw new Violation("FIGURES of " + p.byteSize() + " bytes, not " + HOST_FIGURES_LENGTH);
        }
        MemorySegment s = mirror.segment();
        long updates = FIGURE_UPDATES_OFFSET - HOST_FIGURES_OFFSET;
        for (long i = 0; i < HOST_FIGURES_LENGTH; i += 8) {
            if (i != updates) {
                LONG.setRelease(s, HOST_FIGURES_OFFSET + i, p.get(ValueLayout.JAVA_LONG_UNALIGNED, i));
            }
        }
        LONG.setRelease(s, (long) FIGURE_UPDATES_OFFSET, p.get(ValueLayout.JAVA_LONG_UNALIGNED, updates));
    }

    /** Best effort: tells the host why this side closes. */
    private void sendClosed(Status status, String reason) {
        byte[] b = new byte[StreamFrame.HEADER_LENGTH + 4 + StreamFrame.MAX_REASON];
        int n = StreamFrame.putClosed(MemorySegment.ofArray(b), 0, status.code(), reason);
        synchronized (writeLock) {
            try {
                link.write(ByteBuffer.wrap(b, 0, n));
                link.flush();
            } catch (IOException | RuntimeException ignored) {
                // the stream is going anyway
            }
        }
    }

    /**
     * After the stream ended: a closing notice in the completion ring (waking a waiting call) and CONNECT_ACK
     * cleared, so every call of the session fails with the reason at once. Receiver thread only (the ring's
     * producer).
     */
    private void publishLoss() {
        FerryException p = problem;
        if (p == null || closing) {
            return;
        }
        try {
            String text = p.getMessage();
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int n = Math.min(b.length, 2048);
            int length = CompletionRecord.length(n);
            long at = length <= completions.maxRecordLength() ? completions.tryClaim(Wire.SESSION_CLOSED_TYPE, length)
                    : -1;
            if (at >= 0) {
                new CompletionRecord().wrap(completions.segment(), at).put(0, p.status().code(), 0, 0, 0, 0, b, n);
                completions.publish();
            }
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "no closing notice for " + address, e);
        }
        lane.connectAck(0);
    }
}
