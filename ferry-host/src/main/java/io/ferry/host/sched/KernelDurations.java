package io.ferry.host.sched;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Expected device time per (tenant, kernel key), learnt from measured completions, for release-aware dispatch: a
 * best-effort command may start before a critical release only if its expected duration ends before it.
 *
 * <p>The estimate is robust rather than average: an EWMA of the durations (gain 1/8) plus four times an EWMA of
 * their absolute deviation from it (gain 1/4), the same shape as TCP's retransmission timer. A command that varies
 * is thus expected to take about its worst recent time, and a single outlier raises the estimate at once (by its
 * deviation) and decays over a few completions. The first sample gives {@code 3 x} its duration (deviation starts
 * at half of it): the table is cautious about what it has seen once.
 *
 * <p>Bounded: at most {@code capacity} entries, least recently used dropped first, so a guest that invents a new key
 * per command only churns its own and others' oldest entries, and a dropped entry is only "unknown" again (treated
 * conservatively, never wrongly short). Not thread-safe (the scheduler's lock).
 */
public final class KernelDurations {
    private static final class Learnt {
        double mean;
        double deviation;
    }

    private record Key(long tenant, long kernel) {
    }

    private final int capacity;
    private final LinkedHashMap<Key, Learnt> table;

    public KernelDurations(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("kernel duration table capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.table = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Learnt> eldest) {
                return size() > KernelDurations.this.capacity;
            }
        };
    }

    /** Learns one measured duration; key 0 (no key) is not learnt. */
    public void record(long tenant, long kernelKey, long deviceNanos) {
        if (kernelKey == 0 || deviceNanos < 0) {
            return;
        }
        Learnt e = table.computeIfAbsent(new Key(tenant, kernelKey), k -> new Learnt());
        if (e.mean == 0 && e.deviation == 0) {
            e.mean = deviceNanos;
            e.deviation = deviceNanos / 2.0;
            return;
        }
        double err = deviceNanos - e.mean;
        e.mean += err / 8;
        e.deviation += (Math.abs(err) - e.deviation) / 4;
    }

    /** The expected duration, ns, or -1 when nothing was learnt for this key (or the key is 0). */
    public long expectedNanos(long tenant, long kernelKey) {
        if (kernelKey == 0) {
            return -1;
        }
        Learnt e = table.get(new Key(tenant, kernelKey));
        return e == null ? -1 : Math.max(1, (long) Math.ceil(e.mean + 4 * e.deviation));
    }

    /** Forgets a tenant's entries (it left the device). */
    public void forget(long tenant) {
        table.keySet().removeIf(k -> k.tenant() == tenant);
    }

    public int size() {
        return table.size();
    }
}
