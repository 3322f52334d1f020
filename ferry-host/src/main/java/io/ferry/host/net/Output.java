package io.ferry.host.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A connection's frames to the client, from its event loop and its completion pump: each counted while it waits in
 * the channel ({@link NetCounters}), and flushed once the channel is over its write buffer's high water mark (frames
 * written but not flushed count against it too, and would never drain).
 */
final class Output {
    private final Channel ch;
    private final NetCounters.Connection counters;

    Output(Channel ch, NetCounters.Connection counters) {
        this.ch = ch;
        this.counters = counters;
    }

    ByteBufAllocator alloc() {
        return ch.alloc();
    }

    /** Whether the channel takes more now (a closed one does: what is written to it is dropped). */
    boolean writable() {
        return ch.isWritable() || !ch.isActive();
    }

    /** Writes a frame; flushes when the channel is over its high water mark. From any thread. */
    void send(ByteBuf frame) {
        if (write(frame, false) && !ch.isWritable()) {
            ch.flush();
        }
    }

    /** Writes and flushes a frame. */
    void sendNow(ByteBuf frame) {
        write(frame, true);
    }

    /**
     * Writes a frame, counted while it waits; false when the channel is closed, which drops it here: queued, it
     * would only wait to fail, and a pump shipping a long read to a client that has gone would queue the rest of it
     * at once.
     */
    private boolean write(ByteBuf frame, boolean flush) {
        if (!ch.isActive()) {
            frame.release();
            return false;
        }
        int n = frame.readableBytes();
        counters.queued(n);
        (flush ? ch.writeAndFlush(frame) : ch.write(frame)).addListener(f -> counters.queued(-n));
        return true;
    }

    void flush() {
        ch.flush();
    }

    /** Waits (pump thread) until the channel can take more, or {@code stop}. */
    void awaitWritable(BooleanSupplier stop) {
        if (!writable()) {
            ch.flush();
        }
        while (!writable() && !stop.getAsBoolean()) {
            LockSupport.parkNanos(1_000_000);
        }
    }
}
