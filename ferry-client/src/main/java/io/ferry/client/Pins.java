package io.ferry.client;

import java.util.ArrayList;
import java.util.List;

/**
 * The application's heap blocks that one queue's one-way transfers use in place ({@link Heap#pin}): pinned when a
 * transfer is sent, unpinned once a finish completed it. Never references its queue (the queue's cleaner settles it
 * after the queue is gone; see {@link Lifetimes}).
 */
final class Pins {
    private final Heap heap;
    private final List<Long> blocks = new ArrayList<>();

    Pins(Heap heap) {
        this.heap = heap;
    }

    /** Pins the block at {@code heapOffset}, if it is an application block. */
    void pin(long heapOffset) {
        long block = heap.pin(heapOffset);
        if (block >= 0) {
            synchronized (blocks) {
                blocks.add(block);
            }
        }
    }

    /** Whether a transfer since the last finish uses a pinned block. */
    boolean any() {
        synchronized (blocks) {
            return !blocks.isEmpty();
        }
    }

    /** Undoes every pin (after a finish completed their transfers). */
    void unpinAll() {
        List<Long> unpin;
        synchronized (blocks) {
            unpin = new ArrayList<>(blocks);
            blocks.clear();
        }
        for (long block : unpin) {
            heap.unpin(block);
        }
    }
}
