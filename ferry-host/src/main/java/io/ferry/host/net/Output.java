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

    /**
     * Writes a frame; flushes when the channel is over its high water mark. From any thread. A closed channel drops
     * it here: queued, it would only wait to fail, and a pump shipping a long read to a client that has gone would
     * queue the rest of it at once.
     */
    void send(ByteBuf frame) {
        if (!ch.isActive()) {
            frame.release();
            return;
        }
        int n = frame.readableBytes();
        counters.queued(n);
        ch.write(frame).addListener(f -> counters.queued(-n));
        if (!ch.isWritable()) {
            ch.flush();
        }
    }

    /** Writes and flushes a frame. */
    void sendNow(ByteBuf frame) {
        int n = frame.readableBytes();
        counters.queued(n);
        ch.writeAndFlush(frame).addListener(f -> counters.queued(-n));
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
