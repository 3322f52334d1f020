package io.ferry.host;

import io.ferry.channel.Region;
import io.ferry.channel.RegionRepair;
import io.ferry.host.admin.HostFigures;
import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.config.HostConfig;
import io.ferry.host.endpoint.GuestLanes;
import io.ferry.host.endpoint.IvshmemServer;
import io.ferry.host.endpoint.RegionStore;
import io.ferry.host.session.Session;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The guests a {@link FerryHost} serves now, the heartbeat over them, and the resets of their regions: by the
 * operator ({@link #reset}) and by the host itself when a guest's header is corrupt ({@link #selfReset}).
 *
 * <p>A reset ends every session of the guest (each closed with the reason, as when the guest's process is killed:
 * objects, device memory and workers released), gives its clients {@link FerryHost#RESET_GRACE_MILLIS} to read that
 * notice, re-initialises the region in place ({@link RegionStore#reset}: header, rings, a new epoch) and serves it
 * again with fresh lanes, same tenant, same credential, same memory.
 *
 * <p><b>Self-reset.</b> A guest can write every byte of its region. The host serves from the header it wrote, but a
 * fresh client reads the live one: a header the guest overwrote would lock the guest out. The heartbeat checks each
 * guest's header ({@link RegionRepair#headerProblem}), and so does a session that ends with PROTOCOL_VIOLATION;
 * when it is corrupt the host ends the guest's sessions, re-initialises the region in place and publishes a new
 * epoch, at most once per {@link FerryHost#SELF_RESET_INTERVAL_NANOS} per guest, so that a guest that keeps
 * scribbling cannot keep the host resetting.
 */
final class Guests {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");

    /** A guest being served: its config, tenant, credential, lanes (replaced at a reset), ivshmem server or null. */
    static final class Served {
        final HostConfig.GuestConfig config;
        final long tenant;
        final byte[] credential;
        final IvshmemServer ivshmem;
        volatile GuestLanes lanes;
        /** Under the object's monitor: the heartbeat leaves a guest alone while it stops or resets. */
        boolean stopped;
        boolean resetting;
        boolean resetPending;
        long lastSelfReset;
        boolean holdLogged;
        /** Sessions its lanes served before its last reset. */
        volatile long sessionsBefore;

        Served(HostConfig.GuestConfig config, long tenant, byte[] credential, GuestLanes lanes, IvshmemServer ivshmem) {
            this.config = config;
            this.tenant = tenant;
            this.credential = credential;
            this.lanes = lanes;
            this.ivshmem = ivshmem;
        }

        String name() {
            return config.name();
        }
    }

    /** Makes a guest's lanes over its region (not started). */
    interface LanesFactory {
        GuestLanes lanes(HostConfig.GuestConfig g, long tenant, Region region, byte[] credential);
    }

    private final List<Served> served = new CopyOnWriteArrayList<>();
    private final Collection<DeviceDispatch> dispatches;
    private final RegionStore regions;
    private final LanesFactory factory;
    /** Guest changes take it: one at a time. */
    final Object changes;
    private final ExecutorService selfResets = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("ferry-self-reset").daemon(true).unstarted(r));

    Guests(Collection<DeviceDispatch> dispatches, RegionStore regions, LanesFactory factory, Object changes) {
        this.dispatches = dispatches;
        this.regions = regions;
        this.factory = factory;
        this.changes = changes;
    }

    List<Served> all() {
        return served;
    }

    Served find(String guest) {
        for (Served s : served) {
            if (s.name().equals(guest)) {
                return s;
            }
        }
        return null;
    }

    /** Guest {@code guest}'s ivshmem server, or null. */
    IvshmemServer ivshmem(String guest) {
        Served s = find(guest);
        return s == null ? null : s.ivshmem;
    }

    /** Guest {@code name} as the stream transport sees it (its region and credential), or null. */
    io.ferry.host.net.GuestDirectory.Guest stream(String name) {
        Served s = find(name);
        return s == null ? null : new io.ferry.host.net.GuestDirectory.Guest(s.name(), s.lanes.region(), s.credential.clone());
    }

    void add(Served s) {
        served.add(s);
    }

    /** Takes a guest out: the heartbeat leaves it alone from now on. */
    void remove(Served s) {
        synchronized (s) {
            s.stopped = true;
        }
        served.remove(s);
    }

    void removeTenant(long tenant) {
        served.removeIf(s -> s.tenant == tenant);
    }

    /** Stops the self-resets (the host is stopping). */
    void shutdown() {
        selfResets.shutdownNow();
    }

    /**
     * Re-initialises guest {@code name}'s region in place after ending its sessions with {@code reason}; see the
     * class comment.
     *
     * @throws IllegalArgumentException when there is no such guest
     */
    void reset(String name, String reason) {
        synchronized (changes) {
            Served s = find(name);
            if (s == null) {
                throw new IllegalArgumentException("no guest '" + name + "' on this host");
            }
            String lost = s.lanes.regionLost();
            if (lost != null) {
                throw new IllegalStateException("guest '" + name + "' cannot be reset: its region is lost (" + lost
                        + "); remove the guest and add it again");
            }
            synchronized (s) {
                s.resetting = true;
            }
            try {
                AUDIT.warning("guest " + name + ": resetting its region (" + reason + "); its sessions end");
                GuestLanes old = s.lanes;
                old.stop(reason);
                old.join(5_000);
                Thread.sleep(FerryHost.RESET_GRACE_MILLIS); // clients read the notice before the rings are reset
                Region region = regions.reset(name);
                GuestLanes lanes = factory.lanes(s.config, s.tenant, region, s.credential);
                synchronized (s) {
                    s.sessionsBefore += old.sessionsServed();
                    s.lanes = lanes;
                }
                lanes.start();
                AUDIT.warning("guest " + name + ": region re-initialised in place (header, rings, a new epoch); "
                        + "its clients connect again");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                synchronized (s) {
                    s.resetting = false;
                }
            }
        }
    }

    /**
     * A session of guest {@code name} ended with PROTOCOL_VIOLATION (from its endpoint's thread). A violation inside
     * one lane (its ring, its records) is that lane's: its next connect resets its rings, other lanes go on. A
     * corrupt header is the whole region's: it is reset.
     */
    void violation(String name, String reason) {
        Served s = find(name);
        if (s == null) {
            return;
        }
        String problem;
        try {
            problem = RegionRepair.headerProblem(s.lanes.region());
        } catch (RuntimeException | InternalError e) {
            return; // the region is closing or lost: nothing to reset
        }
        if (problem != null) {
            selfReset(s, "its session ended with a protocol violation (" + reason + ") and its region header is "
                    + "corrupt: " + problem);
        }
    }

    /**
     * Schedules a reset of {@code s}'s region that the host decided itself ({@code why}), unless one is pending or
     * the last was less than {@link FerryHost#SELF_RESET_INTERVAL_NANOS} ago (then the next heartbeat that still
     * finds the header corrupt after that time schedules it): a guest that keeps scribbling its header cannot keep
     * the host resetting.
     */
    void selfReset(Served s, String why) {
        long now = System.nanoTime();
        synchronized (s) {
            if (s.stopped || s.resetPending) {
                return;
            }
            if (s.lastSelfReset != 0 && now - s.lastSelfReset < FerryHost.SELF_RESET_INTERVAL_NANOS) {
                if (!s.holdLogged) {
                    s.holdLogged = true;
                    AUDIT.warning("guest " + s.name() + ": " + why + "; corrupt again within "
                            + FerryHost.SELF_RESET_INTERVAL_NANOS / 1_000_000_000L + " s of the last reset: the host "
                            + "waits before it resets the region again");
                }
                return;
            }
            s.resetPending = true;
            s.lastSelfReset = now;
            s.holdLogged = false;
        }
        AUDIT.warning("guest " + s.name() + ": " + why + "; the host resets the region by itself");
        try {
            selfResets.execute(() -> {
                try {
                    if (find(s.name()) == s) {
                        reset(s.name(), "the host reset the region of guest '" + s.name() + "': " + why);
                    }
                } catch (RuntimeException e) {
                    LOG.log(Level.SEVERE, "guest " + s.name() + ": the reset of its region failed", e);
                } finally {
                    synchronized (s) {
                        s.resetPending = false;
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            synchronized (s) {
                s.resetPending = false; // the host is stopping
            }
        }
    }

    /**
     * One heartbeat over every guest: beats, watches sessions, publishes figures, checks the header. Whatever one
     * guest's region or session throws (an {@link InternalError} from a file region truncated under the host, a bug)
     * ends that guest's session with the reason and stops touching its region; the others go on.
     */
    void beat(long now) {
        for (Served s : served) {
            synchronized (s) {
                GuestLanes e = s.lanes;
                if (s.stopped || s.resetting || e.regionLost() != null) {
                    continue;
                }
                try {
                    e.region().hostHeartbeat(now);
                    e.watch(now);
                    if (!e.sessions().isEmpty()) {
                        for (DeviceDispatch d : dispatches) {
                            HostFigures.publish(e.region(), d.figures(s.tenant));
                            break; // the first device's figures; the layout has room for one device
                        }
                    }
                    String problem = RegionRepair.headerProblem(e.region());
                    if (problem != null) {
                        selfReset(s, "its region header is corrupt: " + problem);
                    }
                } catch (Throwable t) {
                    e.loseRegion("its region failed under the host's heartbeat (" + t + "); a file region "
                            + "truncated or replaced under the host does this");
                    LOG.log(Level.SEVERE, "guest " + e.guest() + ": region unusable; the guest's session ends, other "
                            + "guests go on", t);
                }
            }
        }
    }

    /** The heartbeat thread's loop: {@link #beat} and the schedulers' ticks every {@code millis} until closing. */
    void heartbeat(BooleanSupplier closing, long millis) {
        while (!closing.getAsBoolean()) {
            long now = System.nanoTime();
            beat(now);
            for (DeviceDispatch d : dispatches) {
                try {
                    d.tick(now);
                } catch (Throwable ex) {
                    // A guest's cancel action or a bug: logged, and the loop goes on for everyone else.
                    LOG.log(Level.SEVERE, "scheduler tick of " + d.device() + " failed", ex);
                }
            }
            try {
                Thread.sleep(millis);
            } catch (InterruptedException ex) {
                return;
            }
        }
    }

    /** Scheduling figures of a guest on every device (empty under FIFO, or for no such guest). */
    List<HostViews.SchedulingView> scheduling(String guest) {
        List<HostViews.SchedulingView> out = new ArrayList<>();
        Served s = find(guest);
        if (s == null) {
            return out;
        }
        for (DeviceDispatch d : dispatches) {
            var v = d.view(s.tenant);
            if (v == null) {
                continue;
            }
            var f = v.figures();
            out.add(new HostViews.SchedulingView(d.device(), f.schedClass().name(), f.weight(), f.deviceNanos(),
                    f.budgetLeftNanos(), f.queued(), f.inFlight(), f.expectedWaitNanos(), f.deadlineMisses(),
                    v.waitP50Nanos(), v.waitP99Nanos(), v.waitMaxNanos(), v.overruns(), v.flagged()));
        }
        return out;
    }

    /** Figures of every guest, in the order they started. */
    List<HostViews.GuestView> views() {
        List<HostViews.GuestView> out = new ArrayList<>();
        for (Served sv : served) {
            GuestLanes e = sv.lanes;
            List<Session> ss = e.sessions();
            var g = e.config();
            long calls = 0;
            int objects = 0;
            long memory = 0;
            int commands = 0;
            for (Session s : ss) {
                calls += s.calls();
                objects += s.objects();
                memory += s.deviceMemoryBytes();
                commands += Math.max(0, s.commandsInFlight());
            }
            boolean on = !ss.isEmpty();
            out.add(new HostViews.GuestView(e.guest(), on, on ? ss.getFirst().id() : 0,
                    sv.sessionsBefore + e.sessionsServed(), on ? ss.getFirst().guestPid() : 0, calls, objects, memory,
                    commands, g.quotas(), g.schedClass(), g.weight(), g.regionSize(), e.region().heap().byteSize(),
                    e.region().laneCount(), ss.size()));
        }
        return out;
    }

    /** A guest's queue waits on every device, bucketed at {@code upperNanos} (empty under FIFO); for /metrics. */
    List<HostViews.QueueWaits> queueWaits(String guest, long[] upperNanos) {
        List<HostViews.QueueWaits> out = new ArrayList<>();
        Served s = find(guest);
        if (s != null) {
            for (DeviceDispatch d : dispatches) {
                org.HdrHistogram.Histogram w = d.waits(s.tenant);
                if (w != null) {
                    long count = w.getTotalCount();
                    long[] c = new long[upperNanos.length];
                    for (int i = 0; i < c.length; i++) {
                        c[i] = count == 0 ? 0 : Math.min(count, w.getCountBetweenValues(0, upperNanos[i]));
                    }
                    out.add(new HostViews.QueueWaits(d.device(), c, count, count == 0 ? 0 : w.getMean() * count));
                }
            }
        }
        return out;
    }
}
