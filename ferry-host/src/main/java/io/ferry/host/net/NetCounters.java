package io.ferry.host.net;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the stream transport did since the host started, and the most bytes any one connection held buffered: the
 * figures the bounded-memory tests check (never a timing).
 */
public final class NetCounters {
    private final AtomicLong open = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong internal = new AtomicLong();
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong stalls = new AtomicLong();
    private final AtomicLong maxInbound = new AtomicLong();
    private final AtomicLong maxOutbound = new AtomicLong();

    /** A snapshot. */
    public record Figures(long open, long accepted, long failed, long internalErrors, long records, long stalls,
                          long maxInboundBytes, long maxOutboundBytes) {
    }

    public Figures figures() {
        return new Figures(open.get(), accepted.get(), failed.get(), internal.get(), records.get(), stalls.get(),
                maxInbound.get(), maxOutbound.get());
    }

    Connection connection() {
        return new Connection();
    }

    /** One connection's counters, feeding the host's. */
    final class Connection {
        private final AtomicLong queued = new AtomicLong();
        private final java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean();

        /** Bytes waiting in the connection's read buffer now. */
        void inbound(long bytes) {
            maxInbound.accumulateAndGet(bytes, Math::max);
        }

        /** Bytes written to the channel and not yet sent (negative: sent). */
        void queued(long delta) {
            long now = queued.addAndGet(delta);
            if (delta > 0) {
                maxOutbound.accumulateAndGet(now, Math::max);
            }
        }

        void opened() {
            counted.set(true);
            open.incrementAndGet();
            accepted.incrementAndGet();
        }

        void closed() {
            if (counted.getAndSet(false)) {
                open.decrementAndGet();
            }
        }

        /** Closed for a fault; {@code host} when the fault was the host's own (a bug: logged as a warning). */
        void failed(boolean host) {
            failed.incrementAndGet();
            if (host) {
                internal.incrementAndGet();
            }
        }

        void records() {
            records.incrementAndGet();
        }

        void stalls() {
            stalls.incrementAndGet();
        }
    }
}
