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
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.lang.foreign.MemorySegment;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The guest's side of a stream connection (docs/network.md, "lane mirroring"): the local mirror of the guest's
 * region, one lane of which the ordinary client code uses, and the two threads that replay that lane over the
 * stream. The sender ({@link PumpSender}) consumes the mirror's command ring as a host endpoint would and sends
 * each record's IN heap ranges, then the record (a thread that publishes records sends them itself through
 * {@link #send} when the sender is not at it); it also sends the lane's guest-written words when they change. The
 * receiver ({@link PumpReceiver}) reads the host's frames into the mirror; a caller waiting for an answer reads them
 * itself ({@link #receiveItself}).
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
    /** As a call over shared memory fails after a second without the host's heartbeat (Channel.HOST_TIMEOUT_NANOS). */
    static final long CALL_SILENCE_NANOS = 1_000_000_000L;

    private final HostAddress.Stream target;
    private final byte[] credential;
    /** The TLS bundle directory given to {@link #open} (null: the environment's). */
    private final java.nio.file.Path tlsBundle;
    private final String address;
    private final Link link;
    private final Region mirror;
    private final Region lane;
    private final PumpSender sender;
    private final Thread senderThread;
    private final PumpReceiver receiver;
    private final Thread receiverThread;
    private final Object writeLock = new Object();
    private volatile FerryException problem;
    /** The reason {@link #problem} was made with, without its status prefix and hint (for the closing notice). */
    private volatile String problemText;
    private volatile boolean closing;
    /** This guest said GOODBYE (see {@link #leaving()}). */
    private volatile boolean leaving;

    private StreamPump(HostAddress.Stream target, byte[] credential, java.nio.file.Path tlsBundle, Link link,
                       Region mirror, int laneIndex, long chunkLimit) {
        this.target = target;
        this.credential = credential;
        this.tlsBundle = tlsBundle;
        this.address = target.toString();
        this.link = link;
        this.mirror = mirror;
        this.lane = mirror.lane(laneIndex);
        RegionHeader.Lane l = mirror.header().lanes().get(laneIndex);
        MemorySegment s = mirror.segment();
        // the pump's producer view of the lane's completion ring (the client's view consumes it)
        SpscRing completions = new SpscRing("completion (stream pump)",
                s.asSlice(l.completionRingOffset(), sectionSizeFor(l.completionRingCapacity())),
                l.completionRingCapacity());
        SpscRing commands = new SpscRing("command (stream pump)",
                s.asSlice(l.commandRingOffset(), sectionSizeFor(l.commandRingCapacity())), l.commandRingCapacity());
        this.sender = new PumpSender(this, commands, lane, (int) chunkLimit);
        this.senderThread = Thread.ofPlatform().daemon(true).name("ferry-pump-send " + address).unstarted(sender);
        this.receiver = new PumpReceiver(this, mirror, lane, completions);
        this.receiverThread = Thread.ofPlatform().daemon(true).name("ferry-pump-receive " + address)
                .unstarted(receiver::run);
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

    /**
     * From a caller waiting for an answer whose completion ring is empty ({@code stillEmpty} says whether it still
     * is): reads and handles one frame of the stream itself, saving the hand-off from the receiver thread (see
     * {@link PumpReceiver#receiveItself}).
     *
     * @return whether it read a frame or found the ring no longer empty (poll it again now); false: wait as usual
     */
    public boolean receiveItself(java.util.function.BooleanSupplier stillEmpty) {
        return receiver.receiveItself(stillEmpty);
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

    /** Why the stream ended, as {@link #fail} was told (the closing notice's text: the client adds status and hint). */
    String problemText() {
        return problemText;
    }

    /** The guest is about to say GOODBYE: the host's CLOSED that may follow is logged as the expected end. */
    public void leaving() {
        leaving = true;
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

    /**
     * Sender, at least every 100 ms: closes a connection the host has been silent on for {@link #SILENCE_NANOS}, or
     * for {@link #CALL_SILENCE_NANOS} while a caller is blocked reading it (the heartbeat check of the waiting call).
     */
    void checkSilence(long now) {
        long quiet = now - receiver.lastFrameAt();
        if (quiet > SILENCE_NANOS || receiver.callerReading() && quiet > CALL_SILENCE_NANOS) {
            fail(Status.HOST_UNAVAILABLE, "no heartbeat from the host at " + address + " for " + quiet / 1_000_000
                    + " ms (no frame came" + (quiet > SILENCE_NANOS ? "" : " while a call waited") + "): the "
                    + "connection was closed; Ferry.reconnect() connects again");
        }
    }

    Link link() {
        return link;
    }

    boolean closing() {
        return closing;
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
            problemText = message;
            problem = new FerryException(status, message);
        }
        if (!closing) {
            // after this guest's GOODBYE the host's CLOSED is the expected end, not a problem to warn of
            LOG.log(leaving ? Level.FINE : Level.WARNING, "Ferry stream " + address + ": " + message);
        }
        link.close();
    }
}
