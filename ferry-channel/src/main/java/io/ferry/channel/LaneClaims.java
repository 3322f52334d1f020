package io.ferry.channel;

import io.ferry.protocol.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * How a guest process takes a lane of its guest's region (docs/protocol.md §3, "Lanes"): a compare-and-set of the
 * lane's claim word from 0 to its pid, lane 0 first. Every transport uses it (the guest socket, a region file, a
 * PCI BAR): the host needs to reserve nothing for a guest that may never come, and frees a lane when its session
 * ends ({@link Region#laneClaim(long, long)} with the holder it served, so a newer claim is never freed).
 *
 * <p>The claim words are the guest's own memory: a process of the guest can take or free any of them. Claims order
 * the guest's own processes; they protect nothing from each other (docs/security.md, "Lanes").
 */
public final class LaneClaims {
    private LaneClaims() {
    }

    /**
     * Claims the first free lane of {@code region} for {@code pid} and returns its view.
     *
     * @throws RegionException QUOTA_EXCEEDED when every lane is held: the message names the guest, the lane count,
     *                         the holders' pids and the fix
     */
    public static Region claim(Region region, long pid) {
        if (pid == 0) {
            throw new IllegalArgumentException("a lane is claimed with a nonzero pid");
        }
        List<Long> holders = new ArrayList<>();
        for (int i = 0; i < region.laneCount(); i++) {
            Region lane = region.lane(i);
            if (lane.laneClaim(0, pid)) {
                return lane;
            }
            holders.add(lane.laneClaim() & 0xFFFF_FFFFL); // the host's stream proxy puts a number above its pid
        }
        int n = region.laneCount();
        throw new RegionException(Status.QUOTA_EXCEEDED, "all " + n + " lane(s) of guest '"
                + region.header().guestName() + "' are busy (held by pids " + holders.toString().replaceAll("[\\[\\]]", "")
                + "): each process (each Ferry connection) of a guest takes a lane of its own; close a connection "
                + "(a process that died frees its lane within seconds), or raise lanes: in the host config (this "
                + "guest has " + n + ")");
    }

    /**
     * As {@link #claim(Region, long)}, and while every lane is held, again after naps of 1 ms growing to 50 ms, for
     * up to {@code waitNanos}: a lane a process has just left is free within milliseconds of its end.
     *
     * @throws RegionException QUOTA_EXCEEDED when every lane is still held after {@code waitNanos}
     */
    public static Region claim(Region region, long pid, long waitNanos) {
        long start = System.nanoTime();
        for (long nap = 1_000_000; ; nap = Math.min(2 * nap, 50_000_000)) {
            try {
                return claim(region, pid);
            } catch (RegionException e) {
                if (e.status() != Status.QUOTA_EXCEEDED || waitNanos <= 0) {
                    throw e;
                }
                if (System.nanoTime() - start >= waitNanos) {
                    throw new RegionException(e.status(), e.getMessage() + "; waited " + waitNanos / 100_000_000 / 10.0
                            + " s for one (FERRY_LANE_WAIT=SECONDS waits longer)");
                }
                java.util.concurrent.locks.LockSupport.parkNanos(nap);
            }
        }
    }

    /** Guest: gives back a lane it claimed but could not use (its connect failed): frees it if it still holds it. */
    public static void release(Region lane, long pid) {
        if (intact(lane)) {
            lane.laneClaim(pid, 0);
        }
    }

    /**
     * Whether the region's backing still covers it: a file truncated under us faults (SIGBUS) at the next touch, and
     * an atomic update there ends the JVM instead of throwing. A sealed memfd (held here, or mapped from
     * /proc/self/fd/N, closed since) cannot shrink. One stat.
     */
    static boolean intact(Region r) {
        try {
            return r.fd() >= 0 || r.path().startsWith("/proc/")
                    || java.nio.file.Files.size(r.path()) >= r.header().regionSize();
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }
}
