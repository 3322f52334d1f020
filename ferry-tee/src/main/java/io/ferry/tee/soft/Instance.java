package io.ferry.tee.soft;

import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TA instance of the software TEE: the (guest, TA) pair it serves, its process and its lane. Everything but
 * the volatile fields is guarded by {@link #lock}, which a call holds from start to end (the TA runs one call at a
 * time anyway).
 */
final class Instance {
    /**
     * The pair an instance serves; {@code slot} 0 for the one instance of a guest's TA, else a number of its own for
     * an instance per session (a TA whose manifest says {@code instance=session}).
     */
    record Key(String guest, UUID ta, long slot) {
        Key(String guest, UUID ta) {
            this(guest, ta, 0);
        }

        boolean perSession() {
            return slot != 0;
        }
    }

    final int id;
    final Key key;
    final ReentrantLock lock = new ReentrantLock();
    Process process;
    LaneClient lane;
    int sessions;
    /** The guest's region the process holds (descriptor 6), or null: direct lanes need it. */
    java.nio.file.Path region;
    /** The region's inode when the process started: a lane must lie in that very region. */
    Object regionInode;
    /** Direct lanes the process serves, by backend session: the host's view of each (docs/protocol.md 6.1). */
    final java.util.Map<Long, java.lang.foreign.MemorySegment> direct = new java.util.concurrent.ConcurrentHashMap<>();
    volatile boolean dead;
    /**
     * Its process's output has closed: the process is ending or gone, though {@link Process#isAlive()} may say
     * otherwise a while longer (a sandbox's monitor outlives the TA). No new call goes to it.
     */
    volatile boolean exited;
    volatile long lastUsed = System.nanoTime();

    Instance(int id, Key key) {
        this.id = id;
        this.key = key;
    }

    String describe() {
        return "TA " + key.ta() + " of guest " + key.guest() + " (" + (key.perSession() ? "session " : "") + "instance " + id
                + (process == null ? "" : ", process " + process.pid()) + ")";
    }
}
