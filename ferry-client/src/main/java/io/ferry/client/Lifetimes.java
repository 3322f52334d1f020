package io.ferry.client;

import io.ferry.protocol.Calls;
import java.lang.ref.Cleaner;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The safety net behind {@code close()} for the objects of one connection: an object that becomes unreachable while
 * still open is released anyway, and the first one of each kind is logged, so a missing {@code close()} neither runs
 * into the host's object quota nor goes unnoticed.
 *
 * <p>Why it is shaped this way:
 * <ul>
 * <li>The cleaner thread never touches the channel. The channel's producer side is lock-guarded, so a call from that
 *     thread would be correct, but it may block on a full command ring or fail on a broken session, and one stuck
 *     cleanup stalls every later one. The cleanup only pushes the handle onto a lock-free stack ({@link #pending});
 *     the next call of any thread drains it ({@link Ferry#channel()}) as deferred RELEASE records, published with
 *     that call. A RELEASE so always follows its object's creation record in the ring.</li>
 * <li>The cleaner's state ({@link Lifetime}) never references its owner: a reference from the state would keep the
 *     owner reachable from the cleaner, so it would never become unreachable and never be cleaned.</li>
 * <li>A queue that dies with transfers in flight still owns heap blocks the host may read: its release first
 *     finishes the queue, then releases it, then frees those blocks ({@link Lifetime#settleAfterRelease}).</li>
 * </ul>
 */
final class Lifetimes {
    /** One cleaner thread for every Ferry object of the JVM; its cleanups only push onto lock-free stacks. */
    static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "ferry-cleaner");
        t.setDaemon(true);
        return t;
    });
    static final System.Logger LOG = System.getLogger("io.ferry.client");

    private final AtomicReference<Lifetime> pending = new AtomicReference<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /** Names the connection in the warning (guest, session), set once connected. */
    private volatile String owner = "";

    /** Names the connection in warnings, e.g. "of guest 'alice', session 12". */
    void owner(String text) {
        owner = text;
    }

    /** The cleaner state of a new object {@code handle} whose class is {@code kind} (for the warning). */
    Lifetime track(long handle, String kind) {
        return new Lifetime(this, handle, kind);
    }

    /** Whether released objects wait for {@link #drain}: one volatile read, on every call's path. */
    boolean hasPending() {
        return pending.get() != null;
    }

    /** Called by the cleaner thread: {@code l}'s object was not closed. Never blocks, never touches the channel. */
    void unreachable(Lifetime l) {
        warnOnce(warned, l.kind, "(handle " + l.handle + owner + ")");
        Lifetime head;
        do {
            head = pending.get();
            l.next = head;
        } while (!pending.compareAndSet(head, l));
    }

    /**
     * Sends RELEASE for every object the cleaner found unreachable (on the calling thread, before its own call). If
     * the session is gone, the host has released them already.
     */
    void drain(Channel channel) {
        Lifetime l = pending.getAndSet(null);
        for (; l != null; l = l.next) {
            long h = l.handle;
            try {
                if (l.settle != null) {
                    try {
                        channel.call(new Calls.Finish(), null, c -> c.queue(h));
                    } catch (FerryException e) {
                        // The dead queue's own error: nobody is left to report it to.
                    }
                }
                channel.oneWay(new Calls.Release(), true, c -> c.handle(h));
            } catch (FerryException e) {
                // The session is gone: the host released everything already.
            } finally {
                if (l.settle != null) {
                    l.settle.run();
                }
            }
        }
    }

    /** Logs, once per {@code kind} in {@code warned}, that an object of that kind was released by the cleaner. */
    static void warnOnce(Set<String> warned, String kind, String which) {
        if (!warned.add(kind)) {
            return;
        }
        String article = "AEIOU".indexOf(kind.charAt(0)) >= 0 ? "an " : "a ";
        LOG.log(System.Logger.Level.WARNING, article + kind + " " + which + " was not closed; Ferry released it when it"
                + " became unreachable, which can be long after its last use, and it held host resources until then;"
                + " close every " + kind + " (try-with-resources) — see docs/client.md#lifetimes. Further unclosed "
                + kind + " objects of this connection are released without a warning.");
    }

    /**
     * The cleaner's state of one object: its handle, never the object itself. {@link #close} and the cleaner race
     * for {@link #done}; whichever wins releases the object, exactly once.
     */
    static final class Lifetime implements Runnable {
        private final Lifetimes owner;
        final long handle;
        final String kind;
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        /** For a queue: frees its staging blocks once the host is done with them. Must not reference the queue. */
        private volatile Runnable settle;
        /** The next object of the pending stack. */
        Lifetime next;

        private Lifetime(Lifetimes owner, long handle, String kind) {
            this.owner = owner;
            this.handle = handle;
            this.kind = kind;
        }

        /** Marks the object closed by its owner; true for the first caller, who then releases it. */
        boolean close() {
            return done.compareAndSet(false, true);
        }

        /** If the object dies unclosed: finish it (a queue), release it, then run {@code settle}. */
        void settleAfterRelease(Runnable settle) {
            this.settle = settle;
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                owner.unreachable(this);
            }
        }
    }
}
