package io.ferry.client;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One daemon thread per guest process beats every connection's GUEST_HEARTBEAT (so the host can tell a live guest
 * from a dead one) and watches the host's heartbeat (so that a dead host fails every later call, one-way calls
 * included, within {@link Channel#HOST_TIMEOUT_NANOS}).
 */
final class Heartbeat {
    static final long PERIOD_MILLIS = 100;
    private static final Set<Channel> CHANNELS = ConcurrentHashMap.newKeySet();
    private static Thread thread;

    private Heartbeat() {
    }

    static synchronized void register(Channel c) {
        CHANNELS.add(c);
        if (thread == null) {
            thread = Thread.ofPlatform().name("ferry-guest-heartbeat").daemon(true).start(Heartbeat::run);
        }
    }

    /** Stops beating for {@code c}; returns once the beat thread no longer touches its region. */
    static void unregister(Channel c) {
        CHANNELS.remove(c);
        synchronized (c) {
            // the beat holds c's monitor while it touches the region: once we have it, the beat is done with it
        }
    }

    private static void run() {
        long beat = 0;
        while (true) {
            beat++;
            long now = System.nanoTime();
            for (Channel c : CHANNELS) {
                synchronized (c) {
                    if (CHANNELS.contains(c)) {
                        try {
                            c.beat(beat, now);
                        } catch (Throwable t) {
                            // One connection's region failed under us (a file region truncated: InternalError):
                            // stop beating for it; every other connection of this process beats on.
                            CHANNELS.remove(c);
                        }
                    }
                }
            }
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
