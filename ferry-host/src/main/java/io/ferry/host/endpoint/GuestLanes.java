package io.ferry.host.endpoint;

import io.ferry.channel.Region;
import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.compute.Devices;
import io.ferry.host.compute.GuestLayout;
import io.ferry.host.config.HostConfig;
import io.ferry.host.session.Session;
import io.ferry.host.session.SessionService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * One guest's region and its lanes: an {@link Endpoint} per lane, each serving its own sessions on its own thread,
 * so several processes of one guest hold sessions at once (docs/protocol.md §3, "Lanes").
 *
 * <p><b>What the lanes share, and what they do not.</b> They share the guest's identity (the region, its
 * credential), its scheduler tenant (every lane's device commands take the guest's turns, under its class, weight
 * and reservation) and its quotas: each lane's session gets an equal share of them ({@link GuestLayout#laneQuotas}),
 * so the lanes together hold no more than the guest's quotas wherever their sessions run (the host, or a device
 * worker per lane session). They share nothing that one lane's process could use against another's session: each
 * lane has its own rings, heap slice (a call naming a heap range is checked against its lane's slice only), handle
 * table, sticky errors, device worker and watchdog. Ending one lane's session ends no other.
 *
 * <p><b>Claims.</b> A guest process claims a free lane itself ({@code LaneClaims}); the lane's endpoint frees the
 * claim when the session ends, and {@link #watch} frees a claim that brings no session within the guest timeout (a
 * process that died between its claim and its connect request).
 */
public final class GuestLanes {
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    /** Pids the guest socket handed the region to, remembered for the watchdog (bounded). */
    private static final int MAX_HANDED = 1024;

    private final Region region;
    private final HostConfig.GuestConfig config;
    private final List<Endpoint> lanes = new ArrayList<>();
    /** Each lane's counters of what its sessions served (for /metrics), lane order. */
    private final List<io.ferry.host.session.CallCounts> counts = new ArrayList<>();
    private final Set<Long> handed = ConcurrentHashMap.newKeySet();
    // stale-claim watch, per lane (heartbeat thread only)
    private final long[] staleClaim;
    private final long[] staleClaimSince;

    /**
     * @param region the guest's region as created (lane 0's view); its lane count is the layout's
     * @param tenant the guest's tenant in the device schedulers, shared by its lanes
     */
    public GuestLanes(HostConfig host, long tenant, Map<Devices.Device, DeviceDispatch> dispatches, Region region,
                      HostConfig.GuestConfig config, byte[] credential, Devices devices,
                      SessionService.Factory tee) {
        this.region = region;
        this.config = config;
        HostConfig.GuestConfig lane = config.withQuotas(GuestLayout.laneQuotas(config));
        for (int i = 0; i < region.laneCount(); i++) {
            counts.add(new io.ferry.host.session.CallCounts());
            lanes.add(new Endpoint(host, tenant, dispatches, region.lane(i), lane, credential, devices, tee,
                    handed::contains, counts.get(i)));
        }
        this.staleClaim = new long[lanes.size()];
        this.staleClaimSince = new long[lanes.size()];
    }

    public void start() {
        lanes.forEach(Endpoint::start);
    }

    public void stop() {
        lanes.forEach(Endpoint::stop);
    }

    /** Stops every lane; a session still open is closed with {@code reason}. */
    public void stop(String reason) {
        lanes.forEach(e -> e.stop(reason));
    }

    /** Whom to tell when a session of any lane ends with PROTOCOL_VIOLATION (on that lane's thread). */
    public void onViolation(java.util.function.Consumer<String> listener) {
        lanes.forEach(e -> e.onViolation(listener));
    }

    public void join(long millis) throws InterruptedException {
        for (Endpoint e : lanes) {
            e.join(millis);
        }
    }

    /** The guest's region (lane 0's view; the host closes it once, for every lane). */
    public Region region() {
        return region;
    }

    public String guest() {
        return config.name();
    }

    /** The guest's config (its quotas the guest's, not a lane's share). */
    public HostConfig.GuestConfig config() {
        return config;
    }

    /** Each lane's endpoint, lane 0 first. */
    public List<Endpoint> lanes() {
        return List.copyOf(lanes);
    }

    /** The open sessions of the guest's lanes, lane order (read by status from other threads). */
    public List<Session> sessions() {
        List<Session> out = new ArrayList<>();
        for (Endpoint e : lanes) {
            Session s = e.session();
            if (s != null && !s.closed()) {
                out.add(s);
            }
        }
        return out;
    }

    /** Sessions served since the host started, over all lanes. */
    public long sessionsServed() {
        long n = 0;
        for (Endpoint e : lanes) {
            n += e.sessionsServed();
        }
        return n;
    }

    /** What the guest's sessions served since the host started, over all lanes (for /metrics). */
    public io.ferry.host.session.CallCounts.Totals counts() {
        return io.ferry.host.session.CallCounts.sum(counts);
    }

    /** The guest socket handed this region to process {@code pid} (its SO_PEERCRED pid): one the host can watch. */
    public void handedTo(long pid) {
        if (handed.size() >= MAX_HANDED) {
            handed.clear(); // forgetting only makes the watchdog fall back to the heartbeat
        }
        handed.add(pid);
    }

    /** Why the region is unusable, or null. */
    public String regionLost() {
        return lanes.getFirst().regionLost();
    }

    /** Marks the region unusable: every lane ends its session and touches the region no more. */
    public void loseRegion(String reason) {
        lanes.forEach(e -> e.loseRegion(reason));
    }

    /**
     * Watchdog, from the host's heartbeat thread: each lane's session (see {@link Endpoint#watch}), and each lane
     * without a session whose claim stands for {@link Endpoint#GUEST_TIMEOUT_NANOS}: it is freed.
     */
    public void watch(long now) {
        for (int i = 0; i < lanes.size(); i++) {
            Endpoint e = lanes.get(i);
            e.watch(now);
            Region lane = e.region();
            long c = lane.laneClaim();
            if (e.session() != null || c == 0 || c != staleClaim[i]) {
                staleClaim[i] = e.session() != null ? 0 : c;
                staleClaimSince[i] = now;
            } else if (now - staleClaimSince[i] > Endpoint.GUEST_TIMEOUT_NANOS && e.session() == null
                    && lane.laneClaim(c, 0)) {
                AUDIT.info("guest " + guest() + " lane " + i + ": claimed by pid " + c + " with no session for "
                        + (now - staleClaimSince[i]) / 1_000_000 + " ms; freed");
                staleClaim[i] = 0;
            }
        }
    }

    /**
     * From any thread (the admin socket's): ends this guest's device work on {@code backend}'s devices, saying
     * {@code why} ("was stopped: ..."). A session its worker serves loses that worker (the endpoint takes the
     * session back; its later compute calls fail DEVICE_LOST with the reason); a session the host serves has its
     * device workers cancelled (every one of them: a session's workers are not told apart by backend).
     */
    public void withdrawDevice(String backend, String why) {
        for (Endpoint e : lanes) {
            WorkerServed w = e.served;
            if (w != null && backend.equals(e.servingBackend)) {
                w.destroy(why);
            }
            io.ferry.host.session.Session s = e.session();
            if (s != null && w == null) {
                s.cancelWorkers(why);
            }
        }
    }
}
