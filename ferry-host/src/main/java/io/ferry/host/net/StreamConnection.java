package io.ferry.host.net;

import io.ferry.protocol.CallRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One stream connection (docs/network.md): the frame reader, the handshake (OPEN → who the peer is → a lane →
 * OPENED, or CLOSED with a status and a reason), then the client's frames put onto its lane ({@link LaneMirror}),
 * while a {@link CompletionPump} sends the host's side back.
 *
 * <p><b>The client is hostile.</b> Each frame's 8-byte header is read once and checked (length, type, flags) before
 * its payload is awaited; the payload is then in this connection's own buffer (the client cannot change it) and is
 * checked before anything acts on it. Any fault closes this connection only, with a CLOSED frame and a log line
 * naming the guest, the peer and the reason; nothing is thrown out of the event loop.
 *
 * <p><b>Memory.</b> Incoming bytes wait in one buffer, at most one frame (1 MiB + 72 bytes) plus one socket read
 * (a HEAP frame's payload excepted: once its header and offset are checked, its bytes go to the lane's heap as they
 * arrive: {@link HeapReceive});
 * when the lane's command ring has no room for a record, reading stops (autoRead off) until the host has consumed.
 * Outgoing frames are bounded by the channel's write buffer water marks: the pump reads no completion while the
 * channel is not writable.
 */
final class StreamConnection extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger("ferry.net");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    private static final long UNMAP_WAIT_SECONDS = 10;

    private final NetServer server;
    private final StreamSecurity security;
    private final String listener;
    private final OutRanges out = new OutRanges();
    private final NetCounters.Connection counters;
    /** This connection's place among those waiting for OPEN: given back once it has a lane (or closes). */
    private final Admission.Place place;
    private Channel ch;
    /** Frames to the client, counted (set once the channel is active). */
    Output output;
    private String remote = "?";
    private volatile String guest;
    private ByteBuf cum;
    /** HEAP payloads on their way into the heap. */
    private final HeapReceive heapIn = new HeapReceive();
    /** Reading waits for room in the command ring (event loop writes; the pump reads). */
    volatile boolean stalled;
    private boolean ended;
    private boolean unpublished;
    private LaneMirror lane;
    private CompletionPump pump;

    StreamConnection(NetServer server, StreamSecurity security, String listener, Admission.Place place) {
        this.server = server;
        this.place = place;
        this.security = security;
        this.listener = listener;
        this.counters = server.counters().connection();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ch = ctx.channel();
        output = new Output(ch, counters);
        remote = String.valueOf(ch.remoteAddress());
        if (remote.equals("null") || remote.isEmpty()) {
            remote = listener;
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (ended) {
            in.release();
            return;
        }
        try {
            if (heapIn.active() && (in = heapIn.take(in)) == null) {
                return;
            }
            if (cum == null) {
                cum = in;
            } else {
                cum.discardSomeReadBytes();
                cum.ensureWritable(in.readableBytes());
                cum.writeBytes(in);
                in.release();
            }
            counters.inbound(cum.readableBytes());
            drain();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "stream connection " + who() + ": reading the stream failed", e);
            fail(Status.INTERNAL, "reading the stream failed: " + e);
        }
    }

    /** Reads and acts on every whole frame buffered, until one cannot go on (ring full) or the connection ends. */
    private void drain() {
        try {
            while (!ended && !stalled && cum != null && cum.readableBytes() >= StreamFrame.HEADER_LENGTH) {
                int at = cum.readerIndex();
                long length = cum.getUnsignedIntLE(at);
                int type = cum.getUnsignedShortLE(at + 4);
                int flags = cum.getUnsignedShortLE(at + 6);
                String bad = StreamFrame.checkHeader((int) Math.min(length, Integer.MAX_VALUE), type, flags, false);
                if (bad != null) {
                    fail(Status.PROTOCOL_VIOLATION, "bad frame header: " + bad);
                    return;
                }
                if (lane == null && length > MAX_BEFORE_OPEN) {
                    fail(Status.PROTOCOL_VIOLATION, "a frame of " + length + " bytes before OPEN (OPEN and CLOSED "
                            + "take at most " + MAX_BEFORE_OPEN + ")");
                    return;
                }
                if (cum.readableBytes() < length) {
                    if (type == StreamFrame.HEAP && lane != null && heapIn.start(lane, cum, (int) length)) {
                        cum = null; // taken: its payload goes to the heap as it arrives
                    }
                    break;
                }
                int payload = (int) length - StreamFrame.HEADER_LENGTH;
                MemorySegment p = MemorySegment.ofBuffer(cum.nioBuffer(at + StreamFrame.HEADER_LENGTH, payload));
                boolean done = frame(type, p);
                if (ended) {
                    return;
                }
                if (!done) {
                    stall();
                    break;
                }
                cum.skipBytes((int) length);
            }
        } catch (StreamFrame.Malformed e) {
            fail(Status.PROTOCOL_VIOLATION, "malformed frame: " + e.getMessage());
        } catch (StreamSecurity.Refused e) {
            fail(e.status(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "stream connection " + who() + ": frame handling failed", e);
            fail(Status.INTERNAL, "the host failed to handle a frame: " + e);
        } finally {
            publish();
            if (cum != null && !ended) {
                if (!cum.isReadable()) {
                    cum.release();
                    cum = null;
                } else {
                    cum.discardSomeReadBytes();
                }
            }
        }
    }

    /** OPEN attempts while every lane was held and a connection of this host was (or may have been) leaving one. */
    private int openRetries;

    /** Acts on one frame; false when it must wait (a record and no room in the command ring). */
    private boolean frame(int type, MemorySegment p) throws StreamSecurity.Refused {
        if (type == StreamFrame.CLOSED) {
            StreamFrame.Closed c = StreamFrame.parseClosed(p);
            String why = c.reason().length() > 200 ? c.reason().substring(0, 200) + "..." : c.reason();
            end("the client closed the connection (status " + c.status() + ": "
                    + why.replaceAll("[^\\p{Print}]", "?") + ")");
            ch.close();
            return true;
        }
        if (lane == null) {
            if (type != StreamFrame.OPEN) {
                throw new StreamFrame.Malformed("frame type " + type + " before OPEN");
            }
            return open(p);
        }
        switch (type) {
            case StreamFrame.RECORD -> {
                return record(p);
            }
            case StreamFrame.HEAP -> HeapReceive.whole(lane, p);
            case StreamFrame.WORDS -> {
                long before = lane.requested;
                StreamFrame.forEachWord(p, lane::clientWord);
                if (lane.requested != before) {
                    pump.wake(); // a connect request: watch for the ack now, not at the next tick
                }
            }
            default -> throw new StreamFrame.Malformed("frame type " + type + " after OPEN");
        }
        return true;
    }

    /** The handshake; false when it must wait for a lane that a closed connection of this host is leaving. */
    private boolean open(MemorySegment p) throws StreamSecurity.Refused {
        // the name may be followed by a NUL and the guest's 32-byte secret (plain listeners)
        StreamFrame.Open o = StreamFrame.parseOpen(p);
        byte[] secret = o.credential().length == 0 ? null : o.credential();
        if (secret != null && secret.length != io.ferry.host.config.HostConfig.SECRET_BYTES) {
            throw new StreamFrame.Malformed("OPEN: the secret after the guest name must be "
                    + io.ferry.host.config.HostConfig.SECRET_BYTES + " bytes, not " + secret.length);
        }
        javax.net.ssl.SSLSession tls = null;
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl != null) {
            tls = ssl.engine().getSession();
        }
        String name = security.guestOf(tls, o.guest(), secret);
        guest = name;
        GuestDirectory.Guest g = server.guests().find(name);
        if (g == null) {
            throw new StreamSecurity.Refused(Status.NOT_CONFIGURED, "no guest '" + name + "' on this host");
        }
        try {
            lane = LaneMirror.open(g);
        } catch (StreamSecurity.Refused r) {
            if (r.status() == Status.QUOTA_EXCEEDED
                    && openRetries++ < (server.departing() > 0 ? OPEN_RETRIES : OPEN_RETRIES_UNSEEN)) {
                // a client that closed and connects again at once: its old connection is still leaving the lane, or
                // its end has not been seen yet (the old connection's event loop may not have read the FIN)
                ch.config().setAutoRead(false);
                stalled = true;
                ch.eventLoop().schedule(this::retryOpen, 20, java.util.concurrent.TimeUnit.MILLISECONDS);
                return false;
            }
            throw r;
        }
        pump = new CompletionPump(this, lane, out);
        output.send(Frames.opened(ch.alloc(), lane.lane.laneIndex(), lane.headerPage()));
        output.flush();
        counters.opened();
        place.release(); // from here the guest's lane count bounds it
        AUDIT.info("guest " + name + ": stream connection from " + remote + " (" + listener + ") on lane "
                + lane.lane.laneIndex());
        pump.start("ferry-net-" + name + "-" + lane.lane.laneIndex());
        return true;
    }

    private static final int OPEN_RETRIES = 250; // 5 s
    private static final int OPEN_RETRIES_UNSEEN = 10; // 200 ms
    /** The largest frame before OPEN (a CLOSED with the longest reason), so a connection without a lane holds little. */
    static final int MAX_BEFORE_OPEN = StreamFrame.HEADER_LENGTH + 4 + StreamFrame.MAX_REASON;

    private void retryOpen() {
        if (!ended && stalled && lane == null) {
            stalled = false;
            drain();
            if (!stalled && !ended) {
                ch.config().setAutoRead(true);
            }
        }
    }

    private boolean record(MemorySegment p) throws StreamSecurity.Refused {
        long size = p.byteSize();
        if (size < CallRecord.HEADER_LENGTH) {
            throw new StreamFrame.Malformed("RECORD of " + size + " bytes is shorter than a call header ("
                    + CallRecord.HEADER_LENGTH + ")");
        }
        long length = p.get(ValueLayout.JAVA_INT_UNALIGNED, 0) & 0xFFFF_FFFFL;
        int type = p.get(ValueLayout.JAVA_INT_UNALIGNED, 4);
        if (length != size && ((length + 7) & ~7L) != size) {
            throw new StreamFrame.Malformed("RECORD: the record's LENGTH " + length + " is not its frame's payload ("
                    + size + " bytes, padded to 8 at most)");
        }
        if (length > lane.commands.maxRecordLength()) {
            throw new StreamFrame.Malformed("RECORD of " + length + " bytes is over the lane's record limit ("
                    + lane.commands.maxRecordLength() + ": half the command ring)");
        }
        CallRecord view = new CallRecord().wrap(p, 0);
        String problem = view.problem((int) length);
        if (problem != null) {
            throw new StreamFrame.Malformed("RECORD: " + problem);
        }
        Op op = Op.of(type);
        if (HeapTraffic.heapResident(p) >= 0) {
            throw new StreamSecurity.Refused(Status.UNSUPPORTED, "BUFFER_CREATE of buffer " + view.arg(0) + " names heap offset "
                    + view.arg(4) + ": buffers that live in the guest's heap are not supported over a stream (there "
                    + "is no shared memory); create the buffer by size and write, read or map it");
        }
        if (!lane.offer(p, type, (int) length)) {
            return false;
        }
        unpublished = true;
        lane.lastSeq = view.seq();
        String over = out.forwarded(p.asSlice(0, length), op);
        counters.records();
        if (over != null) {
            publish();
            fail(Status.QUOTA_EXCEEDED, over);
        }
        return true;
    }

    private void publish() {
        if (unpublished && lane != null) {
            unpublished = false;
            lane.commands.publish();
        }
    }

    private void stall() {
        if (pump == null) {
            return; // an OPEN waiting for a lane: retryOpen goes on
        }
        stalled = true;
        counters.stalls();
        ch.config().setAutoRead(false);
        pump.wake();
    }

    /** From the pump: the host consumed; read again. */
    void resumeReading() {
        onLoop(() -> {
            if (ended || !stalled) {
                return;
            }
            stalled = false;
            drain();
            if (!stalled && !ended) {
                ch.config().setAutoRead(true);
            }
        });
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (pump != null) {
            pump.wake();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent hs) {
            if (!hs.isSuccess()) {
                tlsFailed(hs.cause());
            }
            return;
        }
        if (evt instanceof IdleStateEvent) {
            if (stalled && ch.isWritable()) {
                return; // waiting on the host, not on the client
            }
            fail(Status.TIMEOUT, "no frame from the client for " + NetServer.IDLE_SECONDS + " s" + (stalled
                    ? " while the host waits for it to read its completions" : ""));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        end("the connection closed");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof io.netty.handler.codec.DecoderException d && d.getCause() instanceof javax.net.ssl.SSLException) {
            tlsFailed(d.getCause());
            return;
        }
        if (cause instanceof java.io.IOException) {
            end("the connection was lost (" + cause.getMessage() + "): the client's process ended or the network "
                    + "between went away");
            ctx.close();
            return;
        }
        String why = cause instanceof io.netty.handler.codec.DecoderException d && d.getCause() != null
                ? d.getCause().toString() : cause.toString();
        fail(Status.PROTOCOL_VIOLATION, "connection error: " + why);
    }

    private void tlsFailed(Throwable cause) {
        if (!ended) {
            ended = true; // before OPEN: no lane, no pump
            if (cum != null) {
                cum.release();
                cum = null;
            }
            AUDIT.warning(io.ferry.host.net.tls.HostTls.handshakeFailure(cause, ch.remoteAddress()));
            counters.failed(false);
        }
        ch.close();
    }

    /** Closes the connection with a CLOSED frame saying why (event loop). */
    void fail(Status status, String reason) {
        if (ended) {
            return;
        }
        end(reason);
        counters.failed(status == Status.INTERNAL);
        if (ch.isActive()) {
            ch.writeAndFlush(Frames.closed(ch.alloc(), status.code(), status + ": " + reason))
                    .addListener(ChannelFutureListener.CLOSE);
            // a client that reads nothing never takes the CLOSED frame: close anyway, its buffers go with it
            ch.eventLoop().schedule(() -> ch.close(), 2, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** From the pump thread. */
    void failFromPump(Status status, String reason) {
        onLoop(() -> fail(status, reason));
    }

    /** Runs {@code r} on the event loop; a loop shut down (the host stopping) has closed the channel already. */
    private void onLoop(Runnable r) {
        try {
            ch.eventLoop().execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.fine(() -> "stream connection " + who() + ": event loop stopped: " + e.getMessage());
        }
    }

    private void end(String reason) {
        if (ended) {
            return;
        }
        ended = true;
        heapIn.end();
        if (cum != null) {
            cum.release();
            cum = null;
        }
        if (pump != null) {
            server.departing(1);
            pump.stop(reason);
        } else {
            AUDIT.info(() -> "stream connection " + who() + " ended before a lane was taken: " + reason);
            counters.closed();
        }
    }

    /** From the pump, once it has left the lane. */
    void departed(String how, String reason) {
        server.departing(-1);
        AUDIT.info("guest " + guest + ": stream connection from " + remote + " ended: " + reason + "; " + how);
        counters.closed();
        // the channel may send from the heap by address until it has closed: unmap only then
        if (ch.close().awaitUninterruptibly(UNMAP_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
            lane.unmap();
        } else {
            LOG.warning("guest " + guest + ": stream connection from " + remote + " did not close within "
                    + UNMAP_WAIT_SECONDS + " s; its mapping of the region is left mapped (unmapping it under a channel "
                    + "that may still send from it is not safe)");
        }
    }

    private String who() {
        return (guest == null ? "" : "of guest " + guest + " ") + "from " + remote + " (" + listener + ")";
    }

    /** Sends host words; a new session first has the command ring's producer view pick up the reset positions. */
    void sendWords(long[] offsets, long[] values, int n, boolean newSession) {
        ByteBuf f = Frames.words(ch.alloc(), offsets, values, n);
        if (!newSession) {
            output.sendNow(f);
            return;
        }
        onLoop(() -> {
            if (!ended) {
                lane.commands.resync();
            }
            output.sendNow(f);
        });
    }
}
