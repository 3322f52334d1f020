package io.ferry.client.net;

import static io.ferry.channel.RegionDescriptor.*;

import io.ferry.channel.Region;
import io.ferry.channel.SpscRing;
import io.ferry.client.FerryException;
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
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import javax.net.ssl.SSLException;

/**
 * The reading side of a {@link StreamPump}: reads the host's frames, checks each (the host is trusted for data, not
 * to be bug-free: heap ranges inside the lane's slice, only the words the host owns) and writes them into the mirror:
 * completions into the completion ring (ringing its doorbell), heap bytes into the heap slice, words, figures.
 *
 * <p>Who reads: a caller waiting for an answer reads the stream itself ({@link #receiveItself}), so a round trip
 * wakes one thread on the way back, not two (the receiver, then the caller); the receiver thread ({@link #run})
 * reads whenever no caller has wanted to for {@link #CALLERS_READ_NANOS} (one-way completions, the host's words
 * between calls). {@link #readLock} makes one reader at a time, which is then the completion ring's producer.
 */
final class PumpReceiver {
    /**
     * After a caller read the stream, the receiver thread keeps off it this long: a program making calls back to back
     * reads its own answers, and the receiver takes over only when calls stop.
     */
    static final long CALLERS_READ_NANOS = 2_000_000L;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final StreamPump pump;
    private final Region mirror;
    private final Region lane;
    private final MemorySegment heap;
    private final SpscRing completions;
    private final String address;
    private final ReentrantLock readLock = new ReentrantLock();
    /** When a caller last wanted to read (System.nanoTime). */
    private volatile long callerAt;
    /** A caller is blocked reading the stream (the sender bounds how long a silent network may hold it). */
    private volatile boolean callerReading;
    /** When a frame header was last read (System.nanoTime). */
    private volatile long lastFrameAt = System.nanoTime();
    // under readLock
    private final ByteBuffer head = ByteBuffer.allocate(StreamFrame.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] buffer = new byte[StreamFrame.MAX_PAYLOAD];
    private final MemorySegment payload = MemorySegment.ofArray(buffer);
    private boolean lossPublished;

    PumpReceiver(StreamPump pump, Region mirror, Region lane, SpscRing completions) {
        this.pump = pump;
        this.mirror = mirror;
        this.lane = lane;
        this.heap = lane.heap();
        this.completions = completions;
        this.address = pump.address();
    }

    long lastFrameAt() {
        return lastFrameAt;
    }

    boolean callerReading() {
        return callerReading;
    }

    /** A frame from the host that breaks the rules. */
    private static final class Violation extends RuntimeException {
        Violation(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The receiver thread: reads the stream whenever no caller does. */
    void run() {
        while (!pump.stopped()) {
            long since = System.nanoTime() - callerAt;
            if (since < CALLERS_READ_NANOS) {
                LockSupport.parkNanos(CALLERS_READ_NANOS - since);
                continue;
            }
            if (!readLock.tryLock()) {
                LockSupport.parkNanos(CALLERS_READ_NANOS);
                continue;
            }
            try {
                if (System.nanoTime() - callerAt >= CALLERS_READ_NANOS) {
                    readFrame(true);
                }
            } finally {
                readLock.unlock();
            }
        }
        readLock.lock();
        try {
            publishLoss();
        } finally {
            readLock.unlock();
        }
    }

    /**
     * From a caller waiting for an answer whose completion ring is empty ({@code stillEmpty} says whether it still
     * is): reads and handles one frame from the stream itself. Not while another thread reads (the receiver thread
     * stops after its current frame and leaves the stream to callers while they keep asking), nor while the
     * completion ring lacks room for a record (the caller drains it first): false then, wait as usual. Blocks until a
     * frame comes: the host sends its words at least every 100 ms.
     *
     * @return whether this call read a frame or found the ring no longer empty (poll it again now)
     */
    boolean receiveItself(java.util.function.BooleanSupplier stillEmpty) {
        if (Thread.currentThread().isVirtual()) {
            return false; // a virtual thread's blocked socket read is ended by an interrupt, closing the socket
        }
        callerAt = System.nanoTime();
        if (pump.stopped() || !readLock.tryLock()) {
            return false;
        }
        try {
            if (!stillEmpty.getAsBoolean()) {
                return true; // the answer came through the receiver thread meanwhile
            }
            if (completions.freeBytes() < 2L * completions.maxRecordLength()) {
                return false;
            }
            callerReading = true;
            readFrame(false);
            return true;
        } finally {
            callerReading = false;
            callerAt = System.nanoTime();
            readLock.unlock();
        }
    }

    /** Reads and handles one frame; on any failure ends the stream and publishes the loss. Under {@link #readLock}. */
    private void readFrame(boolean receiverThread) {
        try {
            head.clear();
            pump.link().readFully(head);
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
                return;
            }
            pump.link().readFully(ByteBuffer.wrap(buffer, 0, n));
            MemorySegment p = payload.asSlice(0, n);
            switch (type) {
                case StreamFrame.COMPLETION -> completion(p);
                case StreamFrame.WORDS -> words(p);
                case StreamFrame.FIGURES -> figures(p);
                case StreamFrame.CLOSED -> {
                    StreamFrame.Closed c = StreamFrame.parseClosed(p);
                    pump.fail(c.statusEnum(), "the host at " + address + " closed the connection: " + c.reason());
                }
                default -> throw new Violation("a frame of type " + type + " after OPENED");
            }
        } catch (Violation | StreamFrame.Malformed e) {
            sendClosed(Status.PROTOCOL_VIOLATION, e.getMessage());
            pump.fail(Status.PROTOCOL_VIOLATION, "the host at " + address + " broke the stream protocol: "
                    + e.getMessage() + "; the connection was closed (Ferry.reconnect() connects again)");
        } catch (IOException e) {
            pump.fail(Status.HOST_UNAVAILABLE, "the connection to " + address + " was lost ("
                    + (e instanceof EOFException ? "the host closed it" : e instanceof SSLException
                    ? "TLS: " + e.getMessage() : e.getMessage()) + "); Ferry.reconnect() connects again");
        } catch (RuntimeException | Error e) {
            pump.fail(Status.INTERNAL, "the stream pump of " + address + " failed: " + e);
            if (receiverThread) {
                throw e;
            }
        } finally {
            if (pump.stopped()) {
                publishLoss();
            }
        }
    }

    /** HEAP: the offset, checked against the lane's heap slice, then the bytes straight into it. */
    private void heapFrame(ByteBuffer head, int n) throws IOException {
        head.clear();
        pump.link().readFully(head);
        long offset = head.getLong(0);
        HeapTraffic.Range r = new HeapTraffic.Range(offset, n - 8L, HeapTraffic.Direction.OUT);
        if (n <= 8 || !r.within(heap.byteSize())) {
            throw new Violation("HEAP frame of " + (n - 8) + " bytes at heap offset " + offset + " is outside the "
                    + "lane's heap slice of " + heap.byteSize() + " bytes");
        }
        pump.link().readFully(heap.asSlice(offset, n - 8L).asByteBuffer());
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
            if (pump.stopped()) {
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
        synchronized (pump.writeLock()) {
            try {
                pump.link().write(ByteBuffer.wrap(b, 0, n));
                pump.link().flush();
            } catch (IOException | RuntimeException ignored) {
                // the stream is going anyway
            }
        }
    }

    /**
     * After the stream ended: a closing notice in the completion ring (waking a waiting call) and CONNECT_ACK
     * cleared, so every call of the session fails with the reason at once. Once, under {@link #readLock} (the
     * ring's producer).
     */
    private void publishLoss() {
        FerryException p = pump.problem();
        if (p == null || pump.closing() || lossPublished) {
            return;
        }
        lossPublished = true;
        try {
            String text = pump.problemText();
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
            StreamPump.LOG.log(Level.FINE, "no closing notice for " + address, e);
        }
        lane.connectAck(0);
    }
}
