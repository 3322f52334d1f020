package io.ferry.client.net;

import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.HeapTraffic;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * The sending half of a {@link StreamPump}: consumes the mirror's command ring as a host endpoint would, and for each
 * record sends the heap ranges the call reads (IN, {@link HeapTraffic}) as
 * HEAP frames, then the record as a RECORD frame. Small frames are gathered and written when the ring runs dry. The thread that
 * publishes records sends them itself ({@link #send}) when no one else is sending; this class's own thread (which
 * sleeps on the ring's doorbell when idle) sends the records published meanwhile. It
 * also sends the lane's guest-written words (CONNECT_REQUEST, GUEST_PID, GUEST_HEARTBEAT) whenever one changed,
 * looking at least every {@link #WORDS_PERIOD_NANOS}: the heartbeat moves every 100 ms, so this is the keep-alive.
 */
final class PumpSender implements Runnable, RecordHandler {
    static final long WORDS_PERIOD_NANOS = 100_000_000L;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final StreamPump pump;
    private final SpscRing commands;
    private final Region lane;
    private final MemorySegment heap;
    private final int chunkLimit;
    private final byte[] outBytes = new byte[64 * 1024];
    private final ByteBuffer out = ByteBuffer.wrap(outBytes);
    private final MemorySegment outSegment = MemorySegment.ofArray(outBytes);
    /** Held while sending: by the sender thread, or by a caller that sends its own records ({@link #send}). */
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    /** Whether bytes went to the link since its last flush. */
    private boolean unflushed;
    /** TEE shared memory registered on this lane. */
    private final HeapTraffic.Registrations shm = new HeapTraffic.Registrations();
    private final long[] wordOffsets = new long[3];
    private final long[] sentWords = new long[3];
    private final long[] words = new long[3];
    private final long[] changedOffsets = new long[3];
    private final long[] changedValues = new long[3];

    PumpSender(StreamPump pump, SpscRing commands, Region lane, int chunkLimit) {
        this.pump = pump;
        this.commands = commands;
        this.lane = lane;
        this.heap = lane.heap();
        this.chunkLimit = Math.min(chunkLimit, StreamFrame.MAX_CHUNK);
        long base = RegionDescriptor.laneWordsOffset(lane.laneIndex());
        // GUEST_PID before CONNECT_REQUEST: the host reads the request's pid once it sees the request
        wordOffsets[0] = base + RegionDescriptor.LANE_GUEST_PID_OFFSET;
        wordOffsets[1] = base + RegionDescriptor.LANE_CONNECT_REQUEST_OFFSET;
        wordOffsets[2] = base + RegionDescriptor.LANE_GUEST_HEARTBEAT_OFFSET;
    }

    @Override
    public void run() {
        // The callers send their own records (send()): this thread sends those published while another send was
        // at it, and the words. It sleeps on the ring's doorbell at once, never spinning: on a small machine a
        // spinning sender takes the core the caller, the receiver or the host needs.
        IdleStrategy idle = new RingIdleStrategy(commands, 0, 0, 50_000, WORDS_PERIOD_NANOS);
        try {
            while (!pump.stopped()) {
                int n;
                boolean sent;
                pump.checkSilence(System.nanoTime());
                if (!lock.tryLock(WORDS_PERIOD_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    continue; // a caller is sending, perhaps blocked in a write: the silence check still runs
                }
                try {
                    n = commands.poll(this, 64);
                    sent = sendWords();
                    if (n == 0) {
                        flush();
                    }
                } finally {
                    lock.unlock();
                }
                if (n == 0 && !sent) {
                    idle.idle(0);
                } else {
                    idle.reset();
                }
            }
        } catch (IOException | UncheckedIOException | RingCorruptedException e) {
            failed(e);
        } catch (InterruptedException e) {
            pump.fail(Status.INTERNAL, "the stream pump of " + pump.address() + " was interrupted");
        } catch (RuntimeException | Error e) {
            pump.fail(Status.INTERNAL, "the stream pump of " + pump.address() + " failed: " + e);
            throw e;
        }
    }

    /**
     * A caller that has just published records: sends them now from its own thread, with no hand-off to this
     * sender's thread. False when the sender (or another caller) is sending, or the stream has ended: the caller
     * then wakes the sender, which sends them.
     */
    boolean send() {
        // a virtual thread's blocked socket write is ended by an interrupt, closing the socket: the sender thread sends
        if (pump.stopped() || Thread.currentThread().isVirtual() || !lock.tryLock()) {
            return false;
        }
        try {
            while (commands.poll(this, 64) > 0) {
                // every record published so far
            }
            flush();
            return true;
        } catch (IOException | UncheckedIOException | RingCorruptedException e) {
            failed(e);
            return true; // the stream has ended: the receiver's closing notice fails the call
        } catch (RuntimeException e) {
            pump.fail(Status.INTERNAL, "the stream pump of " + pump.address() + " failed: " + e);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void failed(Exception e) {
        if (e instanceof RingCorruptedException r) {
            pump.fail(Status.PROTOCOL_VIOLATION, "the local command ring of the connection to " + pump.address()
                    + " is corrupt: " + r.getMessage());
        } else if (!pump.stopped()) {
            pump.fail(Status.HOST_UNAVAILABLE, "the connection to " + pump.address() + " was lost (writing: "
                    + (e instanceof UncheckedIOException u ? u.getCause() : e).getMessage()
                    + "); Ferry.reconnect() connects again");
        }
    }

    @Override
    public void onRecord(int type, MemorySegment record, int length) {
        MemorySegment rec = record.asSlice(0, length);
        Op op = Op.of(type);
        try {
            if (op == Op.TEE_SHM_REGISTER && length >= CallRecord.length(op, 0)) {
                shm.register(arg(rec, 0), arg(rec, 1), arg(rec, 2), arg(rec, 3));
            } else if (op == Op.TEE_SHM_RELEASE && length >= CallRecord.length(op, 0)) {
                shm.release(arg(rec, 0));
            }
            if (op != null && HeapTraffic.hasHeapRanges(op) && length >= CallRecord.length(op, 0)) {
                // A rectangle read writes only the rectangle of its heap range, and the whole range comes back:
                // the bytes between the rows must be the guest's, so the range goes up first too.
                boolean rectangle = op == Op.BUFFER_READ_RECT || op == Op.IMAGE_READ;
                HeapTraffic.ranges(rec, shm, r -> {
                    if ((r.direction() == HeapTraffic.Direction.IN || rectangle) && r.within(heap.byteSize())) {
                        sendHeap(r.offset(), r.length());
                    }
                });
            }
            if ((op == Op.TEE_OPEN_SESSION || op == Op.TEE_INVOKE) && length >= CallRecord.length(op, 0)) {
                // The cancel word as it is now (0, or 1 for an operation cancelled before its call): the host reads
                // it at the call, and its copy of the heap holds whatever an earlier session left there.
                long word = arg(rec, op.argNames().indexOf("cancel word"));
                if (new HeapTraffic.Range(word, 8, HeapTraffic.Direction.IN).within(heap.byteSize())) {
                    sendHeap(word, 8);
                }
            }
            sendRecord(rec, length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long arg(MemorySegment rec, int i) {
        return rec.get(LONG, CallRecord.ARGS_OFFSET + 8L * i);
    }

    /** The heap bytes of an IN range, in chunks: each HEAP frame's header then the bytes straight from the heap. */
    private void sendHeap(long offset, long length) {
        try {
            long wordsAt = System.nanoTime();
            for (long done = 0; done < length; ) {
                long now = System.nanoTime();
                if (now - wordsAt >= WORDS_PERIOD_NANOS) {
                    sendWords(); // a long range must not hold back the heartbeat (the host allows 3 s)
                    wordsAt = now;
                }
                int n = (int) Math.min(chunkLimit, length - done);
                room(16);
                int at = out.position();
                StreamFrame.putHeap(outSegment, at, offset + done, n);
                out.position(at + 16);
                out.flip();
                synchronized (pump.writeLock()) {
                    pump.link().write(out, heap.asSlice(offset + done, n).asByteBuffer());
                }
                unflushed = true;
                out.clear();
                done += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A RECORD frame: the record padded to 8 bytes (its LENGTH field keeps the exact length). */
    private void sendRecord(MemorySegment rec, int length) throws IOException {
        int aligned = (int) RegionDescriptor.alignRecord(length);
        int frame = StreamFrame.HEADER_LENGTH + aligned;
        if (frame > outBytes.length) {
            flush();
            byte[] big = new byte[frame];
            MemorySegment s = MemorySegment.ofArray(big);
            StreamFrame.putHeader(s, 0, StreamFrame.RECORD, aligned);
            MemorySegment.copy(rec, 0, s, StreamFrame.HEADER_LENGTH, length);
            synchronized (pump.writeLock()) {
                pump.link().write(ByteBuffer.wrap(big));
            }
            unflushed = true;
            return;
        }
        room(frame);
        int at = out.position();
        StreamFrame.putHeader(outSegment, at, StreamFrame.RECORD, aligned);
        MemorySegment.copy(rec, 0, outSegment, at + StreamFrame.HEADER_LENGTH, length);
        outSegment.asSlice(at + StreamFrame.HEADER_LENGTH + length, aligned - length).fill((byte) 0);
        out.position(at + frame);
    }

    /** A WORDS frame with the guest-written words that changed since the last one; whether one was sent. */
    private boolean sendWords() throws IOException {
        words[0] = lane.guestPid();
        words[1] = lane.connectRequest();
        words[2] = lane.guestHeartbeat();
        int n = 0;
        for (int i = 0; i < 3; i++) {
            if (words[i] != sentWords[i]) {
                changedOffsets[n] = wordOffsets[i];
                changedValues[n++] = words[i];
                sentWords[i] = words[i];
            }
        }
        if (n == 0) {
            return false;
        }
        int frame = StreamFrame.HEADER_LENGTH + n * StreamFrame.WORD_ENTRY;
        room(frame);
        out.position(out.position() + StreamFrame.putWords(outSegment, out.position(), changedOffsets,
                changedValues, n));
        return true;
    }

    /** Makes room for {@code bytes} in the gathering buffer, writing what it holds. */
    private void room(int bytes) throws IOException {
        if (out.remaining() < bytes) {
            flush();
        }
    }

    /** Writes the gathered frames and flushes the stream. */
    private void flush() throws IOException {
        if (out.position() == 0 && !unflushed) {
            return;
        }
        synchronized (pump.writeLock()) {
            if (out.position() > 0) {
                out.flip();
                pump.link().write(out);
                out.clear();
            }
            pump.link().flush();
        }
        unflushed = false;
    }
}
