package io.ferry.host.session;

import io.ferry.host.config.Quotas;

import io.ferry.spi.BackendSession;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.Status;
import io.ferry.spi.HandleMap;

/**
 * The objects of one session, by the guest's own handles. A handle is meaningful only inside its session: another
 * guest's handle is just an unknown number here, so one guest can never name another's objects.
 */
public final class HandleTable {

    /** What an object is. */
    public enum Kind { CONTEXT, QUEUE, BUFFER, PROGRAM, KERNEL, EVENT, IMAGE, SAMPLER }

    /** One object. {@code size}: buffer bytes; {@code argCount}: kernel arguments. Mutable fields are per-queue. */
    public static final class Entry {
        public final long handle;
        public final Kind kind;
        public final BackendSession backend;
        public final long size;
        public final int argCount;
        /** First one-way failure on this queue not yet reported (queues only). */
        CallFailure sticky;
        int suppressed;
        /** Device commands enqueued since the queue's last finish (queues only). */
        public int queued;
        /** The device of a context, queue or buffer, as the compute service names it. */
        public Object device;
        /** A sub-buffer's parent buffer (0 for every other object); the parent's handle may be released since. */
        public long parent;
        /** An image's width, height, depth (0 for 2D) and bytes per pixel; null for every other object. */
        public long[] image;
        /** The work-group shapes a kernel was launched at ({@code FirstLaunches}; kernels only), or null. */
        public long[] launchShapes;
        /** What the compute service keeps of a kernel's arguments between calls (kernels only), or null. */
        public Object argState;
        /** Scheduling hints of a queue: its default priority and relative deadline, and a one-shot for the next command. */
        public int hintPriority;
        public long hintDeadlineNanos;
        public boolean nextHint;
        public int nextPriority;
        public long nextDeadlineNanos;

        Entry(long handle, Kind kind, BackendSession backend, long size, int argCount) {
            this.handle = handle;
            this.kind = kind;
            this.backend = backend;
            this.size = size;
            this.argCount = argCount;
        }
    }

    private final HandleMap<Entry> entries = new HandleMap<>();
    /** Live objects by kind (index: {@link Kind#ordinal()}), for the object quota's message. */
    private final int[] counts = new int[Kind.values().length];
    private final Quotas quotas;

    HandleTable(Quotas quotas) {
        this.quotas = quotas;
    }

    /** Live objects. */
    public int size() {
        return entries.size();
    }

    void clear() {
        entries.clear();
        java.util.Arrays.fill(counts, 0);
    }

    /** What the session holds, by kind: {@code 4000 events, 3 buffers, 1 context}, most first. */
    public String heldByKind() {
        StringBuilder b = new StringBuilder();
        Kind[] kinds = Kind.values();
        Integer[] order = new Integer[kinds.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Integer.compare(counts[y], counts[x]));
        for (int i : order) {
            if (counts[i] > 0) {
                String name = kinds[i].name().toLowerCase(java.util.Locale.ROOT);
                b.append(b.isEmpty() ? "" : ", ").append(counts[i]).append(' ').append(name)
                        .append(counts[i] == 1 ? "" : "s");
            }
        }
        return b.toString();
    }

    /** The entry for {@code handle}, which must be of {@code kind}. */
    public Entry get(long handle, Kind kind, String role) throws CallException {
        Entry e = entries.get(handle);
        if (e == null) {
            throw new CallException(Status.UNKNOWN_HANDLE, role + " handle " + handle
                    + " is not an object of this session (never created, already released, or its creation failed)");
        }
        if (e.kind != kind) {
            throw new CallException(Status.WRONG_HANDLE_KIND, role + " handle " + handle + " is a "
                    + e.kind.name().toLowerCase() + ", not a " + kind.name().toLowerCase());
        }
        return e;
    }

    /** The entry for {@code handle}, or null. */
    public Entry find(long handle) {
        return entries.get(handle);
    }

    /** Checks that {@code handle} may name a new object. */
    public void checkNew(long handle, String role) throws CallException {
        if (handle == 0) {
            throw new CallException(Status.INVALID_ARGUMENT, role + " handle 0 is reserved; use a nonzero handle");
        }
        if (entries.contains(handle)) {
            throw new CallException(Status.HANDLE_IN_USE, role + " handle " + handle + " already names a "
                    + entries.get(handle).kind.name().toLowerCase() + " in this session");
        }
        if (entries.size() >= quotas.objects()) {
            QuotaChecks.checkObjects(quotas, entries.size(), heldByKind());
        }
    }

    /** Adds an object under a handle checked with {@link #checkNew}. */
    public Entry put(long handle, Kind kind, BackendSession backend, long size, int argCount) {
        Entry e = new Entry(handle, kind, backend, size, argCount);
        entries.put(handle, e);
        counts[kind.ordinal()]++;
        return e;
    }

    /** Removes and returns the entry for {@code handle}, or null. */
    public Entry remove(long handle) {
        Entry e = entries.remove(handle);
        if (e != null) {
            counts[e.kind.ordinal()]--;
        }
        return e;
    }
}
