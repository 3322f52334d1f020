package io.ferry.host.endpoint;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.compute.Devices;
import io.ferry.host.compute.ComputeService;
import io.ferry.host.config.HostConfig;
import io.ferry.host.session.ProtocolViolation;
import io.ferry.host.session.Session;
import io.ferry.host.session.SessionService;

import io.ferry.channel.Handshake;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.Region;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.protocol.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serves one lane of a guest's region (see {@link GuestLanes}) on a thread of its own, so a guest (or one process
 * of a guest) that is slow, blocked in a device call or hostile never holds up another. Everything here is the
 * lane's: its rings, its heap slice, its connect words, its session, its device worker; what ends this lane's
 * session (a violation, the guest process gone, GOODBYE, its worker's death) touches no other lane.
 *
 * <p>Loop: (1) a new nonce in CONNECT_REQUEST asks for a fresh session: the old one is closed and released, both
 * rings are reset, and CONNECT_ACK echoes the nonce; (2) command records are handed to the session; (3) the idle
 * strategy backs off (spin, yield, park) when there was nothing to do, so an idle host uses almost no CPU.
 */
public final class Endpoint implements Runnable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    private static final AtomicLong SESSION_IDS = new AtomicLong();
    private static final int BATCH = 64;

    /** A guest whose heartbeat stands still this long is gone (when its process is not visible here). */
    static final long GUEST_TIMEOUT_NANOS = 3_000_000_000L;
    /** A new session's wait for the first beat: a guest beats once it sees CONNECT_ACK (slow in a TCG VM). */
    static final long FIRST_BEAT_GRACE_NANOS = 20_000_000_000L;

    /** This endpoint's lane of the guest's region (a lane view: rings, heap slice and connect words are the lane's). */
    private final Region region;
    private final String guest;
    /** Whether the guest socket handed the region to a pid (SO_PEERCRED): a pid the host can watch. */
    private final java.util.function.LongPredicate handedTo;
    /** The lane's claim word as its session's connect found it: freed (compare-and-set) when the session ends. */
    private long claim;
    private final HostConfig.GuestConfig config;
    private final long[] credential;
    private final Devices devices;
    private final SessionService.Factory tee;
    /** Set by the watchdog (another thread): the endpoint ends the session at its next turn. */
    private volatile String closeRequest;
    /** Set once the region itself failed (a file region truncated under the host): it is touched no more. */
    private volatile String regionLost;
    private volatile long sessionsServed;
    private final io.ferry.host.session.CallCounts counts; // what the lane's sessions served, for /metrics
    // watchdog state (watchdog thread only)
    private Session watched;
    private long lastBeat;
    private long lastBeatChange;
    private boolean beaten; // the watched session's guest has beaten since it connected
    /** While a session is open: spin, yield, then sleep on the command ring's doorbell (woken by the guest). */
    private final IdleStrategy idle;
    private final IdleStrategy idleAfterHandOff;
    private boolean handedOff;
    /** Without a session: sleep on the doorbell a connect request rings; 100 ms naps bound a guest that cannot ring. */
    private final IdleStrategy idleDisconnected;
    private volatile boolean running = true;
    /** Why the session still open when the endpoint stops is closed (the guest sees it). */
    private volatile String stopReason = "host shutting down";
    /** Told (from this endpoint's thread) each time a session ends with PROTOCOL_VIOLATION; the reason. */
    private volatile java.util.function.Consumer<String> violated = reason -> { };
    private volatile Session session;
    /** The session's device worker, once it serves the session (the ring is its then); null otherwise. */
    volatile WorkerServed served; // read by GuestLanes#withdrawDevice (another thread)
    /** The backend a worker serving a whole session runs, or null where sessions stay in the host. */
    final String servingBackend;
    private long lastRequest;
    private Thread thread;

    private final HostConfig host;
    private final ComputeService compute;
    private final long tenant;
    private final java.util.Map<Devices.Device, DeviceDispatch> dispatches;

    /**
     * @param region   the lane this endpoint serves (a lane view of the guest's region)
     * @param config   the guest's config, with its lane's share of the quotas
     * @param handedTo whether the guest socket handed the region to a pid
     */
    public Endpoint(HostConfig host, long tenant, java.util.Map<Devices.Device, DeviceDispatch> dispatches, Region region,
             HostConfig.GuestConfig config, byte[] credential, Devices devices, SessionService.Factory tee,
             java.util.function.LongPredicate handedTo, io.ferry.host.session.CallCounts counts) {
        this.host = host;
        this.counts = counts;
        this.handedTo = handedTo;
        // An idle session sleeps on the command ring's doorbell (the guest's next call wakes it at once); it wakes
        // on its own every 50 ms to see a reconnect or a watchdog's close request.
        this.idle = RingIdleStrategy.forRequests(region.commandRing(), region.completionRing(), 50_000_000);
        // After a TEE call, below 4 cores: yield at once. Three threads were busy (guest, endpoint, TEE process); a
        // spinning endpoint holds the core its guest needs to read the answer (23 µs instead of 3 µs measured).
        this.idleAfterHandOff = Runtime.getRuntime().availableProcessors() >= 4 ? idle
                : new RingIdleStrategy(region.commandRing(), 0, 200_000, 50_000, 50_000_000);
        this.idleDisconnected = RingIdleStrategy.doorbellNaps(region.commandRing(), 100_000_000);
        this.tenant = tenant;
        this.dispatches = dispatches;
        this.tee = tee;
        this.region = region;
        this.guest = config.name();
        this.config = config;
        this.credential = words(credential);
        this.devices = devices;
        this.compute = new ComputeService(host, config, tenant, dispatches, region.path(), region.laneIndex(), devices);
        this.servingBackend = servingBackend(host, config, devices);
    }

    /**
     * Whether a guest's session moves to its device worker at its first compute call, and which backend that worker
     * runs: under process isolation, where every device of the host is a CPU device of one backend (a worker serves
     * a session's every device), and the guest's doorbells are futexes (an ivshmem guest's interrupts reach the host
     * only). Elsewhere the session stays in the host and only device commands go to a worker. The system property
     * {@code ferry.workerServesSession=false} keeps every session in the host (for side-by-side measurements).
     */
    static String servingBackend(HostConfig host, HostConfig.GuestConfig config, Devices devices) {
        if (host.isolation() != HostConfig.Isolation.PROCESS || config.region() == HostConfig.RegionKind.IVSHMEM
                || devices.all().isEmpty() || !Boolean.parseBoolean(System.getProperty("ferry.workerServesSession", "true"))) {
            return null;
        }
        String backend = devices.all().getFirst().backend().name();
        for (Devices.Device d : devices.all()) {
            if (d.info().type() != io.ferry.protocol.DeviceType.CPU || !d.backend().name().equals(backend)) {
                return null;
            }
        }
        return backend;
    }

    public HostConfig.GuestConfig config() {
        return config;
    }

    public long sessionsServed() {
        return sessionsServed;
    }

    /**
     * Watchdog, called about every 100 ms from the host's heartbeat thread: a guest whose process is visible and
     * gone, or whose heartbeat has stood still for {@link #GUEST_TIMEOUT_NANOS}, has its session ended.
     */
    public void watch(long now) {
        Session s = session;
        if (s == null || closeRequest != null) {
            watched = null;
            return;
        }
        long beat = region.guestHeartbeat();
        if (s != watched) {
            watched = s;
            lastBeat = beat;
            lastBeatChange = now;
            beaten = false;
            return;
        }
        if (beat != lastBeat) {
            lastBeat = beat;
            lastBeatChange = now;
            beaten = true;
        }
        boolean verified = s.pidVerified() || (s.guestPid() > 0 && handedTo.test(s.guestPid()));
        if (verified && !GuestProcess.alive(s.guestPid())) {
            closeRequest = "guest process " + s.guestPid() + " exited";
        } else if (now - lastBeatChange > (beaten ? GUEST_TIMEOUT_NANOS : FIRST_BEAT_GRACE_NANOS)) {
            closeRequest = "no heartbeat from the guest for " + (now - lastBeatChange) / 1_000_000 + " ms";
        }
        String why = closeRequest;
        if (why != null) {
            // the endpoint may be waiting on a device worker (an endless kernel): end that wait so it reads the request
            s.cancelWorkers("was stopped because its guest is gone (" + why + ")");
            WorkerServed w = served;
            if (w != null) {
                w.destroy("was stopped because its guest is gone (" + why + ")");
            }
        }
    }

    /** Which lane of the guest's region this endpoint serves. */
    public int lane() {
        return region.laneIndex();
    }

    /** Why the region is unusable, or null. */
    public String regionLost() {
        return regionLost;
    }

    /**
     * Marks the region unusable (from the heartbeat thread): the endpoint ends the session with {@code reason}
     * at its next turn and touches the region no more; the host and the other guests go on.
     */
    public void loseRegion(String reason) {
        regionLost = reason;
    }

    /** A 32-byte credential as the four little-endian words HELLO carries. */
    public static long[] words(byte[] credential) {
        ByteBuffer b = ByteBuffer.wrap(credential).order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24)};
    }

    public void start() {
        thread = Thread.ofPlatform().name("ferry-endpoint-" + guest + "-" + region.laneIndex()).daemon(true).start(this);
    }

    public Region region() {
        return region;
    }

    public String guest() {
        return guest;
    }

    /** The current session, or null (read by status from other threads). */
    public Session session() {
        return session;
    }

    @Override
    public void run() {
        if (host.scheduling().policy() == HostConfig.Policy.FERRY) {
            io.ferry.host.worker.OsPriority.applyToServingThread(config.schedClass(), host.scheduling());
        }
        try {
            while (running) {
                if (regionLost != null) {
                    abandon(regionLost);
                    return;
                }
                int work = 0;
                long request = region.connectRequest();
                if (request != 0 && request != lastRequest) {
                    lastRequest = request;
                    reconnect(request);
                    work++;
                }
                Session s = session;
                String why = closeRequest;
                if (why != null) {
                    closeRequest = null;
                    WorkerServed first = served;
                    if (s != null && first != null) {
                        serveByWorker(s, first); // its worker's word first: a GOODBYE it took before the guest left
                        s = session;
                    }
                    if (s != null) {
                        AUDIT.warning("guest " + guest + " session " + s.id() + ": guest gone (" + why
                                + "); releasing its objects");
                        end(s, Status.SESSION_CLOSED, "guest gone: " + why);
                    }
                    s = null;
                    work++;
                }
                WorkerServed w = served;
                if (s != null && w != null) {
                    work += serveByWorker(s, w);
                    w.idle(work);
                } else if (s != null) {
                    int n = serve(s);
                    work += n;
                    if (n > 0) {
                        handedOff = s.lastCallHandedOff();
                    }
                    (handedOff ? idleAfterHandOff : idle).idle(work);
                } else {
                    idleDisconnected.idle(work);
                }
            }
        } catch (Throwable t) {
            // Whatever broke (a region truncated under the host gives InternalError), it ends this guest only.
            LOG.log(Level.SEVERE, "guest " + guest + ": endpoint failed; the guest is no longer served", t);
            if (regionLost == null) {
                regionLost = t instanceof InternalError
                        ? "its region faulted under the host (" + t.getMessage() + "): a file region truncated or "
                                + "replaced under the host does this; re-provision the guest"
                        : "its endpoint failed: " + t;
            }
            abandon(regionLost);
        } finally {
            stopWorker();
            Session s = session;
            if (s != null) {
                try {
                    s.close(Status.SESSION_CLOSED, stopReason);
                    session = null;
                    release();
                } catch (Throwable t) {
                    session = null;
                    LOG.log(Level.WARNING, "guest " + guest + ": could not close its session cleanly", t);
                }
            }
        }
    }

    /** Ends the session of a guest whose region is unusable, touching the region as little as it can. */
    private void abandon(String reason) {
        stopWorker();
        Session s = session;
        if (s != null) {
            // audited before the session is gone from status, so whoever sees it gone finds the reason
            AUDIT.warning("guest " + guest + " session " + s.id() + ": ended: " + reason);
            session = null;
            try {
                s.close(Status.SESSION_CLOSED, reason);
            } catch (Throwable t) {
                LOG.log(Level.FINE, "guest " + guest + ": closing the session on a broken region failed", t);
            }
        } else {
            AUDIT.warning("guest " + guest + ": no longer served: " + reason);
        }
    }

    private int serve(Session s) {
        int n;
        try {
            n = region.commandRing().poll(s, BATCH);
        } catch (io.ferry.host.session.HandOver h) {
            handOver(s);
            return 1;
        } catch (RingCorruptedException | ProtocolViolation e) {
            AUDIT.warning("guest " + guest + " session " + s.id() + ": validation failed: " + e.getMessage());
            end(s, Status.PROTOCOL_VIOLATION, e.getMessage());
            violated.accept(e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            // A bug of ours while serving this guest: end only this session, keep the host up.
            LOG.log(Level.SEVERE, "guest " + guest + " session " + s.id() + ": internal error", e);
            end(s, Status.INTERNAL, "internal host error: " + e);
            return 1;
        }
        if (s.goodbye()) {
            end(s, Status.OK, "guest said goodbye");
        }
        return n;
    }

    /** Starts the session's worker and hands it the ring; where that fails, the session stays here. */
    private void handOver(Session s) {
        try {
            served = WorkerServed.start(host, config, region, s, lastRequest, servingBackend, dispatches, devices,
                    tenant, counts);
            AUDIT.info("guest " + guest + " session " + s.id() + ": served by its device worker (pid "
                    + served.pid() + ") from its first compute call on");
        } catch (io.ferry.spi.BackendException e) {
            LOG.warning("guest " + guest + " session " + s.id() + ": its device worker could not take the session ("
                    + e.getMessage() + "); the host serves it");
            s.handOverCompute(false);
        }
    }

    /** A session its worker serves: forwarded calls, the worker's end, its death, its overruns. */
    private int serveByWorker(Session s, WorkerServed w) {
        int n;
        try {
            n = w.poll();
        } catch (RingCorruptedException | ProtocolViolation e) {
            AUDIT.warning("guest " + guest + " session " + s.id() + ": validation failed: " + e.getMessage());
            end(s, Status.PROTOCOL_VIOLATION, e.getMessage());
            violated.accept(e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "guest " + guest + " session " + s.id() + ": internal error", e);
            end(s, Status.INTERNAL, "internal host error: " + e);
            return 1;
        }
        Status ended = w.endedStatus();
        if (ended != null) {
            // the worker closed the session (and told the guest why): close the host's half
            if (ended != Status.OK && ended != Status.SESSION_CLOSED) {
                AUDIT.warning("guest " + guest + " session " + s.id() + ": validation failed: " + w.endedReason());
            }
            stopWorker();
            s.close(ended, w.endedReason(), false);
            session = null;
            release();
            if (ended == Status.PROTOCOL_VIOLATION) {
                violated.accept(w.endedReason());
            }
            return 1;
        }
        long now = System.nanoTime();
        String what = w.failure(now);
        if (what != null) {
            // the status's hint says what to do (reconnect): the reason says only what happened, once
            String reason = "the device worker of guest '" + guest + "' (pid " + w.pid() + ") " + what;
            LOG.warning("guest " + guest + ": " + reason);
            takeBack(s, reason);
            return 1;
        }
        return n;
    }

    /**
     * The session's worker is gone (it died, or was stopped for an overrun) while the guest's session goes on: the
     * host reads the ring again from where the worker last stored HEAD (the calls of the batch it was serving are
     * answered here, DEVICE_LOST) and fails every later compute call with {@code reason}; other services go on.
     */
    private void takeBack(Session s, String reason) {
        counts.workerLost();
        stopWorker();
        region.commandRing().resync();
        s.computeLost(reason);
    }

    /**
     * Stops the worker serving the session, if any, and waits until it is gone; the guest's completion ring is the
     * host's again, picked up where the worker left it.
     */
    private void stopWorker() {
        WorkerServed w = served;
        if (w == null) {
            return;
        }
        served = null;
        Session s = session;
        if (s != null) {
            s.detachRemote();
        }
        w.stop();
        if (s != null) {
            s.handBack(region.completionRing());
        }
    }

    private void end(Session s, Status status, String reason) {
        stopWorker();
        s.close(status, reason);
        session = null;
        release();
    }

    /**
     * The lane's session is over: the guest sees CONNECT_ACK move away from its nonce, and the lane's claim, where
     * it is still the one the session connected under, is freed for the guest's next process.
     */
    private void release() {
        region.connectAck(0);
        if (claim != 0) {
            region.laneClaim(claim, 0);
            claim = 0;
        }
    }

    private void reconnect(long request) {
        Session old = session;
        stopWorker();
        if (old != null) {
            old.close(Status.SESSION_CLOSED, "the guest reconnected");
        }
        long id = SESSION_IDS.incrementAndGet();
        claim = region.laneClaim();
        Session s = new Session(config, id, credential, pid -> GuestProcess.mapsRegion(pid, region.path()),
                region.completionRing(), region.heap(), compute.deviceCount(), compute::open,
                SessionService.Factory.inRegion(tee, region));
        s.handOverCompute(servingBackend != null);
        s.counts(counts);
        session = s;
        sessionsServed++;
        // resets both rings, stores the id, acknowledges the request pending now (the guest may have renewed it)
        long acked = Handshake.accept(region, id);
        if (acked != 0) {
            lastRequest = acked;
        }
    }

    public void stop() {
        running = false;
    }

    /** Stops the endpoint (within 100 ms); a session still open is closed with {@code reason} (SESSION_CLOSED). */
    public void stop(String reason) {
        stopReason = reason;
        running = false;
    }

    /** Whom to tell when a session of this lane ends with PROTOCOL_VIOLATION (called on this endpoint's thread). */
    public void onViolation(java.util.function.Consumer<String> listener) {
        violated = listener;
    }

    public void join(long millis) throws InterruptedException {
        if (thread != null) {
            thread.join(millis);
        }
    }
}
