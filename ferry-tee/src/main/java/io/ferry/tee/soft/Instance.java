package io.ferry.tee.soft;

import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TA instance of the software TEE: the (guest, TA) pair it serves, its process and its lane. Everything but
 * the volatile fields is guarded by {@link #lock}, which a call holds from start to end (the TA runs one call at a
 * time anyway).
 */
final class Instance {
    /** The pair an instance serves. */
    record Key(String guest, UUID ta) {
    }

    final int id;
    final Key key;
    final ReentrantLock lock = new ReentrantLock();
    Process process;
    LaneClient lane;
    int sessions;
    volatile boolean dead;
    volatile long lastUsed = System.nanoTime();

    Instance(int id, Key key) {
        this.id = id;
        this.key = key;
    }

    String describe() {
        return "TA " + key.ta() + " of guest " + key.guest() + " (instance " + id
                + (process == null ? "" : ", process " + process.pid()) + ")";
    }
}
