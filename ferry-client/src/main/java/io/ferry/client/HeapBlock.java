package io.ferry.client;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.function.Consumer;

/**
 * A block of the region heap: memory both the guest and the host map, so data moves to and from the device without
 * passing through a ring. Close it to give the space back.
 *
 * <p>The segment handed out by {@link #segment()} lives in an arena of its own that {@link #close()} closes: a read or
 * write through it (or a slice of it) after close throws {@link IllegalStateException}, rather than touching space
 * the heap may already have handed to another block. A block that becomes unreachable unclosed (with no segment of
 * it reachable either) is freed by Ferry's cleaner, and the first one logs a warning (see docs/client.md#lifetimes).
 */
public final class HeapBlock implements AutoCloseable {
    private final Heap heap;
    private final long offset;
    private final Arena arena;
    private final MemorySegment segment;
    /** The cleaner's state: the heap and the offset, never this block or its arena (see {@link Lifetimes}). */
    private final Unreachable lifetime;
    private final Cleaner.Cleanable cleanable;

    /**
     * @param memory the block's slice of the heap
     * @param scoped whether {@link #segment()} gets a scope of its own that {@link #close()} ends (every block the
     *               application sees). Ferry's own staging blocks, which never leave this library, skip it: closing
     *               a shared arena costs about 25 us (a handshake with every thread), more than a small write.
     */
    HeapBlock(Heap heap, long offset, MemorySegment memory, boolean scoped) {
        this.heap = heap;
        this.offset = offset;
        if (scoped) {
            this.arena = Arena.ofShared();
            // The arena's close action holds this block: while any segment of it is reachable, so is the block, and
            // the cleaner cannot free space the application can still reach.
            this.segment = memory.reinterpret(arena, new KeepAlive(this));
        } else {
            this.arena = null;
            this.segment = memory;
        }
        this.lifetime = new Unreachable(heap, offset);
        this.cleanable = Lifetimes.CLEANER.register(this, lifetime);
    }

    /**
     * The block's memory. Its scope ends with {@link #close()}: using it, or any slice of it, afterwards throws
     * {@link IllegalStateException}.
     */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * Offset of the block within the heap (what travels on the wire).
     *
     * @throws IllegalStateException if the block is closed
     */
    public long offset() {
        if (lifetime.isClosed()) {
            throw new IllegalStateException("heap block at offset " + offset + " is closed");
        }
        return offset;
    }

    /** Size in bytes (as requested). */
    public long size() {
        return segment.byteSize();
    }

    /**
     * Ends the segment's scope at once and gives the space back to the heap; if a one-way transfer still uses the
     * block, the space is given back when its queue finishes. Closing again does nothing.
     *
     * @throws IllegalStateException if another thread is inside a native call that uses the segment (the block
     *                               stays open)
     */
    @Override
    public void close() {
        if (!lifetime.close()) {
            return;
        }
        if (arena != null) {
            try {
                arena.close();
            } catch (IllegalStateException e) {
                lifetime.reopen();
                throw e;
            }
        }
        cleanable.clean(); // unregisters: the cleaner will not free it again
        heap.free(offset);
    }

    /** The arena's close action: does nothing, but keeps the block reachable from its segments. */
    private record KeepAlive(HeapBlock block) implements Consumer<MemorySegment> {
        @Override
        public void accept(MemorySegment s) {
        }
    }

    /** Frees the space of a block that became unreachable unclosed, and warns once per heap. */
    private static final class Unreachable implements Runnable {
        private final Heap heap;
        private final long offset;
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

        Unreachable(Heap heap, long offset) {
            this.heap = heap;
            this.offset = offset;
        }

        boolean close() {
            return done.compareAndSet(false, true);
        }

        boolean isClosed() {
            return done.get();
        }

        void reopen() {
            done.set(false);
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                heap.unreachable(offset);
            }
        }
    }
}
