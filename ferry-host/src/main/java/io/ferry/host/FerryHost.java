package io.ferry.host;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.admin.AdminServer;
import io.ferry.host.admin.HostFigures;
import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.endpoint.GuestLanes;
import io.ferry.host.endpoint.GuestSocket;
import io.ferry.host.endpoint.IvshmemServer;
import io.ferry.host.endpoint.RegionDirectory;
import io.ferry.host.endpoint.RegionStore;
import io.ferry.host.session.Session;
import io.ferry.host.session.SessionService;

import io.ferry.channel.Region;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Logger;

/**
 * The host daemon: creates one region per configured guest, serves each of its lanes on an endpoint thread
 * ({@link GuestLanes}), and beats
 * a heartbeat into every region so guests can tell a live host from a dead one.
 *
 * <p>Start with {@link #start}; {@link #close} (also run by the JVM's shutdown hook on SIGTERM when started from
 * the CLI) closes every session with a final status, stops the endpoints, clears the epoch and keeps the regions for
 * the next start ({@link RegionStore}; removed only with {@code discardRegions}).
 */
public final class FerryHost implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** How often the host beats its heartbeat into each region. */
    public static final long HEARTBEAT_MILLIS = 100;

    private final HostConfig config;
    private final Devices devices;
    private final SessionService.Factory tee;
    private final List<GuestLanes> endpoints = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** One scheduler per device under the FERRY policy; empty under FIFO. */
    private final java.util.Map<Devices.Device, DeviceDispatch> dispatches = new java.util.HashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** The guests' regions: reopened where the previous host left them, kept when this one stops. */
    private final RegionStore regions;
    private Thread ticker;
    private AdminServer admin;
    private GuestSocket guestSocket;
    private final java.util.Map<String, IvshmemServer> ivshmem = new java.util.concurrent.ConcurrentHashMap<>();
    /** Each guest's secret (from the config, or made at start); read by the guest socket and by tests. */
    private final java.util.Map<String, byte[]> secrets = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closing;

    private FerryHost(HostConfig config, Devices devices, SessionService.Factory tee) {
        this.config = config;
        this.tee = tee;
        this.devices = devices;
        this.regions = new RegionStore(config);
    }

    /** Creates the regions and starts serving. */
    public static FerryHost start(HostConfig config, Devices devices) throws IOException {
        return start(config, devices, null);
    }

    /** Creates the regions and starts serving, with a TEE service (null: none). */
    public static FerryHost start(HostConfig config, Devices devices, SessionService.Factory tee) throws IOException {
        if (config.isolation() == HostConfig.Isolation.PROCESS) {
            io.ferry.host.worker.WorkerSandbox.check(); // refuse, rather than run guest kernels unsandboxed
        }
        FerryHost host = new FerryHost(config, devices, tee);
        try {
            host.open();
        } catch (IOException | RuntimeException e) {
            host.close();
            throw e;
        }
        return host;
    }

    private void open() throws IOException {
        Path dir = config.regionDir();
        // Trusted only once checked (owner, mode 0700, no link): nothing below may follow a planted link.
        RegionDirectory.prepare(dir);
        // First, as the single-instance lock: a second host on the same directory must fail before it touches
        // the regions the first one serves.
        admin = AdminServer.start(config.adminSocket(), this);
        RegionDirectory.deleteStaleWorkerFiles(dir);
        if (config.scheduling().policy() == HostConfig.Policy.FERRY) {
            for (Devices.Device d : devices.all()) {
                DeviceDispatch dd = new DeviceDispatch(d.info().name(), config.scheduling().bestEffortCapNanos());
                for (int i = 0; i < config.guests().size(); i++) {
                    dd.addTenant(i, config.guests().get(i));
                }
                dispatches.put(d, dd);
            }
        }
        SecureRandom random = new SecureRandom();
        java.util.Map<String, GuestSocket.Offer> offers = new java.util.HashMap<>();
        for (int tenant = 0; tenant < config.guests().size(); tenant++) {
            HostConfig.GuestConfig g = config.guests().get(tenant);
            Path file = regionPath(dir, g.name());
            byte[] fresh = g.secret() != null ? g.secret() : new byte[HostConfig.SECRET_BYTES];
            if (g.secret() == null) {
                random.nextBytes(fresh);
            }
            // Reopened where the previous host left it (a guest without a configured secret keeps its credential),
            // else made anew; this host's epoch published (docs/protocol.md, "Epochs and host restarts").
            Region region = regions.open(g, fresh);
            byte[] credential = region.credential();
            secrets.put(g.name(), credential.clone());
            GuestLanes e = new GuestLanes(config, tenant, dispatches, region, g, credential, devices, tee);
            endpoints.add(e);
            if (g.region() == HostConfig.RegionKind.IVSHMEM) {
                IvshmemServer server = IvshmemServer.start(g.name(), ivshmemPath(dir, g.name()), region.fd());
                ivshmem.put(g.name(), server);
                server.install(region.commandRing(), region.completionRing()); // eventfd/MSI-X doorbells (docs/vm.md)
            }
            offers.put(g.name(), new GuestSocket.Offer(g, credential.clone(), region.fd(),
                    region.header().regionSize()));
            LOG.info(() -> "guest " + g.name() + ": region " + (region.sealed() ? "sealed memfd (over the guest socket)"
                    : file.toString()) + " (" + HostConfig.formatSize(g.regionSize())
                    + ", " + region.laneCount() + " lane(s) of heap " + HostConfig.formatSize(region.heap().byteSize())
                    + ")");
        }
        guestSocket = GuestSocket.start(config.guestSocket(), offers, this::handedOver);
        for (GuestLanes e : endpoints) {
            e.start();
        }
        ticker = Thread.ofPlatform().name("ferry-heartbeat").daemon(true).start(this::beat);
        LOG.info(() -> "host serving " + endpoints.size() + " guest(s) on " + devices.all().size() + " device(s)");
    }

    /** Where control regions of device workers live (private to the host). */
    public static Path workerDir(HostConfig config) {
        return config.workerDir();
    }

    /** The region file of a guest whose region is a file ({@code region: file}). */
    public static Path regionPath(Path dir, String guest) {
        return dir.resolve(guest + ".region");
    }

    /**
     * Where this host's uid re-opens a guest's region: {@code /proc/HOSTPID/fd/N} for a sealed memfd region,
     * the region file otherwise. Valid while the host runs.
     */
    public Path regionPath(String guest) {
        return endpoint(guest).region().path();
    }

    /** Where QEMU's ivshmem-doorbell connects for a {@code region: ivshmem} guest. */
    public static Path ivshmemPath(Path dir, String guest) {
        return dir.resolve(guest + ".ivshmem");
    }

    /** Connected QEMU peers of a {@code region: ivshmem} guest (0 for other guests). */
    public int ivshmemPeers(String guest) {
        IvshmemServer s = ivshmem.get(guest);
        return s == null ? 0 : s.peers();
    }

    /**
     * Doorbell figures of a {@code region: ivshmem} guest: {@code [doorbells from the guest that woke the host,
     * interrupts the host raised in the guest]} ({0, 0} for other guests).
     */
    public long[] ivshmemDoorbells(String guest) {
        IvshmemServer s = ivshmem.get(guest);
        return s == null ? new long[2] : new long[] {s.doorbellsFromGuest(), s.interruptsToGuest()};
    }

    /** The socket where guests get their regions. */
    public Path guestSocket() {
        return config.guestSocket();
    }

    /** A guest's secret: from the config, or the random one this host made at start (in-process hosts, tests). */
    public byte[] secret(String guest) {
        byte[] s = secrets.get(guest);
        if (s == null) {
            throw new IllegalArgumentException("no guest '" + guest + "' on this host");
        }
        return s.clone();
    }

    private GuestLanes endpoint(String guest) {
        for (GuestLanes e : endpoints) {
            if (e.guest().equals(guest)) {
                return e;
            }
        }
        throw new IllegalArgumentException("no guest '" + guest + "' on this host");
    }

    private void handedOver(String guest, io.ferry.channel.os.PeerCredentials peer) {
        endpoint(guest).handedTo(peer.pid());
    }

    /** Scheduling figures of a guest on every device (empty under FIFO). */
    public List<SchedulingView> scheduling(String guest) {
        List<SchedulingView> out = new ArrayList<>();
        for (int i = 0; i < endpoints.size(); i++) {
            if (endpoints.get(i).guest().equals(guest)) {
                for (DeviceDispatch d : dispatches.values()) {
                    var v = d.view(i);
                    var f = v.figures();
                    out.add(new SchedulingView(d.device(), f.schedClass().name(), f.weight(), f.deviceNanos(),
                            f.budgetLeftNanos(), f.queued(), f.inFlight(), f.expectedWaitNanos(), f.deadlineMisses(),
                            v.waitP50Nanos(), v.waitP99Nanos(), v.waitMaxNanos(), v.overruns(), v.flagged()));
                }
            }
        }
        return out;
    }

    /** One guest's scheduling on one device, for status. */
    public record SchedulingView(String device, String schedClass, int weight, long deviceNanos, long budgetLeftNanos,
                                 long queued, long inFlight, long expectedWaitNanos, long deadlineMisses,
                                 long waitP50Nanos, long waitP99Nanos, long waitMaxNanos, long overruns,
                                 boolean flagged) {
    }

    /**
     * The heartbeat thread, shared by every guest: whatever one guest's region or session throws (an
     * {@link InternalError} from a file region truncated under the host, a bug) ends that guest's session with
     * the reason and stops touching its region; the loop goes on for the others.
     */
    private void beat() {
        while (!closing) {
            long now = System.nanoTime();
            for (int i = 0; i < endpoints.size(); i++) {
                GuestLanes e = endpoints.get(i);
                if (e.regionLost() != null) {
                    continue;
                }
                try {
                    e.region().hostHeartbeat(now);
                    e.watch(now);
                    if (!e.sessions().isEmpty()) {
                        for (DeviceDispatch d : dispatches.values()) {
                            HostFigures.publish(e.region(), d.figures(i));
                            break; // the first device's figures; the layout has room for one device
                        }
                    }
                } catch (Throwable t) {
                    e.loseRegion("its region failed under the host's heartbeat (" + t + "); a file region "
                            + "truncated or replaced under the host does this");
                    LOG.log(java.util.logging.Level.SEVERE, "guest " + e.guest() + ": region unusable; the guest's "
                            + "session ends, other guests go on", t);
                }
            }
            for (DeviceDispatch d : dispatches.values()) {
                try {
                    d.tick(now);
                } catch (Throwable ex) {
                    // A guest's cancel action or a bug: logged, and the loop goes on for everyone else.
                    LOG.log(java.util.logging.Level.SEVERE, "scheduler tick of " + d.device() + " failed", ex);
                }
            }
            try {
                Thread.sleep(HEARTBEAT_MILLIS);
            } catch (InterruptedException ex) {
                return;
            }
        }
    }

    public HostConfig config() {
        return config;
    }

    public Devices devices() {
        return devices;
    }

    /**
     * A point-in-time view of one guest, for status.
     *
     * <p>Of a guest with several sessions (one per lane): {@code sessionId} and {@code pid} are the first busy
     * lane's, the figures (calls, objects, memory, commands) the sum over its lanes.
     *
     * @param sessions  sessions served since the host started (reconnects count), over all lanes
     * @param pid       the connected guest's process id (0 when not connected)
     * @param heapBytes the heap of one lane
     * @param lanes     lanes of the guest's region
     * @param lanesBusy lanes with a session now
     */
    public record GuestView(String name, boolean connected, long sessionId, long sessions, long pid, long calls,
                            int objects, long deviceMemoryBytes, int commandsInFlight, Quotas quotas,
                            SchedClass schedClass, int weight, long regionBytes, long heapBytes, int lanes,
                            int lanesBusy) {
    }

    /** Figures of every guest; safe from any thread (figures may be a moment old). */
    public List<GuestView> guests() {
        List<GuestView> out = new ArrayList<>();
        for (GuestLanes e : endpoints) {
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
            out.add(new GuestView(e.guest(), on, on ? ss.getFirst().id() : 0, e.sessionsServed(),
                    on ? ss.getFirst().guestPid() : 0, calls, objects, memory, commands, g.quotas(), g.schedClass(),
                    g.weight(), g.regionSize(), e.region().heap().byteSize(), e.region().laneCount(), ss.size()));
        }
        return out;
    }

    /** Blocks until {@link #close} has run. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        if (guestSocket != null) {
            guestSocket.close();
        }
        for (IvshmemServer s : ivshmem.values()) {
            s.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (ticker != null) {
            ticker.interrupt();
            try {
                ticker.join(1_000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
        for (GuestLanes e : endpoints) {
            e.stop();
        }
        for (GuestLanes e : endpoints) {
            try {
                e.join(5_000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            try {
                if (e.regionLost() == null) {
                    e.region().hostEpoch(0);
                }
            } catch (Throwable t) {
                LOG.warning("guest " + e.guest() + ": could not clear the host epoch in its region: " + t);
            }
            regions.release(e.guest(), config.discardRegions());
        }
        regions.close(); // a start that failed half-way: the regions it opened are kept, unmapped
        try {
            Files.deleteIfExists(workerDir(config));
        } catch (IOException ex) {
            LOG.fine("worker directory not removed: " + ex.getMessage());
        }
        LOG.info("host stopped" + (config.discardRegions() ? ", regions removed (--discard-regions)"
                : " (regions kept for the next start: guests reconnect)"));
        stopped.countDown();
    }
}
