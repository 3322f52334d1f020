package io.ferry.host;

import io.ferry.host.admin.AdminServer;
import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.ConfigUnits;
import io.ferry.host.config.HostConfig;
import io.ferry.host.endpoint.GuestLanes;
import io.ferry.host.endpoint.GuestSocket;
import io.ferry.host.endpoint.IvshmemServer;
import io.ferry.host.endpoint.RegionDirectory;
import io.ferry.host.endpoint.RegionStore;
import io.ferry.host.session.SessionService;

import io.ferry.channel.Region;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The host daemon: one region per guest, each of its lanes served on an endpoint thread ({@link GuestLanes}), a
 * heartbeat beaten into every region so guests can tell a live host from a dead one.
 *
 * <p><b>Guests come and go while it runs.</b> Each guest starts through {@link #startGuest} (its region from the
 * {@link RegionStore}, a fresh scheduler tenant id, its lanes, its offer on the guest socket, its ivshmem server)
 * and stops through {@link #stopGuest} (the reverse: its sessions end as when its process is killed, its objects and
 * device memory are released, its region is given back). {@link #addGuest}, {@link #removeGuest},
 * {@link #resetGuest} and {@link #reload} change the guests of a running host; the admin socket and SIGHUP reach
 * them (docs/operations.md, "Live guest changes"). Changes are applied one at a time.
 *
 * <p><b>Self-reset</b> of a region whose header its guest overwrote: see {@link Guests}.
 *
 * <p>Start with {@link #start}; {@link #close} (also run by the JVM's shutdown hook on SIGTERM when started from
 * the CLI) closes every session with a final status, stops the endpoints and gives the regions back.
 */
public final class FerryHost implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    /** How often the host beats its heartbeat into each region. */
    public static final long HEARTBEAT_MILLIS = 100;
    /** Least time between two resets the host makes by itself of one guest's region. */
    public static final long SELF_RESET_INTERVAL_NANOS = 5_000_000_000L;
    /** Time a guest's clients get to read the notice that their session ended, before its region is reset. */
    static final long RESET_GRACE_MILLIS = 200;

    /** The host's config; its guests are the ones served now (they change with the live changes). */
    private volatile HostConfig config;
    /** The file the config came from, or null (an in-process host): what {@link #reload()} reads. */
    private final Path configFile;
    private final Devices devices;
    private final SessionService.Factory tee;
    private final RegionStore regions;
    /** The guests served now, in the order they started, their heartbeat and their resets. */
    private final Guests live;
    /** Scheduler tenant ids: a fresh one for each guest started, never reused. */
    private final AtomicLong tenants = new AtomicLong();
    /** Guest changes (add, remove, reset, reload, close) take it: one at a time. */
    private final Object changes = new Object();
    /** One scheduler per device under the FERRY policy; empty under FIFO. */
    private final java.util.Map<Devices.Device, DeviceDispatch> dispatches = new java.util.HashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private Thread ticker;
    private AdminServer admin;
    private GuestSocket guestSocket;
    /** Each guest's secret (from the config, or made at start); read by tests. */
    private final java.util.Map<String, byte[]> secrets = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closing;
    /** When this host started (System.nanoTime), for the status document's uptime. */
    private final long startedNanos = System.nanoTime();
    private volatile io.ferry.host.metrics.OpsServer ops;
    private volatile io.ferry.host.net.NetServer net;

    private FerryHost(HostConfig config, Path configFile, Devices devices, SessionService.Factory tee) {
        this.config = config;
        this.configFile = configFile;
        this.tee = tee;
        this.devices = devices;
        this.regions = new RegionStore(config);
        this.live = new Guests(dispatches.values(), regions, this::lanes, changes);
    }

    /** Creates the regions and starts serving. */
    public static FerryHost start(HostConfig config, Devices devices) throws IOException {
        return start(config, devices, null);
    }

    /** Creates the regions and starts serving, with a TEE service (null: none). */
    public static FerryHost start(HostConfig config, Devices devices, SessionService.Factory tee) throws IOException {
        return start(config, null, devices, tee);
    }

    /**
     * Creates the regions and starts serving, with a TEE service (null: none); {@code configFile} is where
     * {@code config} came from (null: nowhere), which {@link #reload()} reads again.
     */
    public static FerryHost start(HostConfig config, Path configFile, Devices devices, SessionService.Factory tee)
            throws IOException {
        if (config.isolation() == HostConfig.Isolation.PROCESS) {
            io.ferry.host.worker.WorkerSandbox.check(); // refuse, rather than run guest kernels unsandboxed
        }
        FerryHost host = new FerryHost(config, configFile, devices, tee);
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
        RegionDirectory.prepare(dir); // trusted once checked (owner, 0700, no link): nothing below follows a link
        // First, as the single-instance lock: a second host on the same directory must fail before it touches
        // the regions the first one serves.
        admin = AdminServer.start(config.adminSocket(), this);
        if (config.metrics() != null) { // next: whoever sees the admin socket finds /metrics a moment later
            ops = io.ferry.host.metrics.OpsServer.start(config.metrics(), io.ferry.host.metrics.FerryMetrics.registry(this),
                    () -> io.ferry.host.admin.StatusJson.render(this, startedNanos));
        }
        RegionDirectory.deleteStaleWorkerFiles(dir);
        if (config.scheduling().policy() == HostConfig.Policy.FERRY) {
            for (Devices.Device d : devices.all()) { // a CPU device in workers preempts by the OS priorities
                dispatches.put(d, new DeviceDispatch(d.info().name(), config.scheduling().bestEffortCapNanos(),
                        config.scheduling().holdsForReleases(d.info().type() == io.ferry.protocol.DeviceType.CPU
                                && config.isolation() == HostConfig.Isolation.PROCESS),
                        config.workerLimits().compileTimeNanos()));
            }
        }
        guestSocket = GuestSocket.open(config.guestSocket(), java.util.Map.of(), this::handedOver);
        for (HostConfig.GuestConfig g : config.guests()) {
            startGuest(g);
        }
        guestSocket.serve(); // only now: a guest that connected meanwhile waited, rather than be refused as unknown
        net = io.ferry.host.net.NetServer.start(config.net(), live::stream); // none unless the config names one
        ticker = Thread.ofPlatform().name("ferry-heartbeat").daemon(true)
                .start(() -> live.heartbeat(() -> closing, HEARTBEAT_MILLIS));
        LOG.info(() -> "host serving " + live.all().size() + " guest(s) on " + devices.all().size() + " device(s)");
    }

    /**
     * Starts serving guest {@code g}: its region ({@link RegionStore#open}), a fresh tenant on every device, its
     * lanes, its ivshmem server, its offer on the guest socket. On failure nothing of it is left.
     */
    private GuestLanes startGuest(HostConfig.GuestConfig g) throws IOException {
        // Reopened where the previous host left it (a guest without a configured secret keeps the credential its
        // region holds, so connected guests' HELLOs still pass), else made anew (docs/protocol.md §3.3).
        Region region = regions.open(g, g.secret() != null ? g.secret() : HostConfig.newSecret());
        // a configured secret is the credential, whatever the region's memory says now; else the region's, as
        // read once when it was mapped
        byte[] credential = g.secret() != null ? g.secret() : region.credential();
        long tenant = tenants.incrementAndGet();
        IvshmemServer server = null;
        try {
            for (DeviceDispatch d : dispatches.values()) {
                d.addTenant(tenant, g);
            }
            GuestLanes lanes = lanes(g, tenant, region, credential);
            if (g.region() == HostConfig.RegionKind.IVSHMEM) {
                server = IvshmemServer.start(g.name(), ivshmemPath(config.regionDir(), g.name()), region.fd());
                server.install(region.commandRing(), region.completionRing()); // eventfd/MSI-X doorbells (docs/vm.md)
            }
            live.add(new Guests.Served(g, tenant, credential, lanes, server));
            secrets.put(g.name(), credential.clone());
            guestSocket.offer(g.name(), new GuestSocket.Offer(g, credential.clone(), region.fd(),
                    region.header().regionSize()));
            lanes.start();
            LOG.info(() -> "guest " + g.name() + ": region " + describe(g, region));
            return lanes;
        } catch (IOException | RuntimeException e) {
            guestSocket.withdraw(g.name());
            live.removeTenant(tenant);
            if (server != null) {
                server.close();
            }
            for (DeviceDispatch d : dispatches.values()) {
                d.removeTenant(tenant);
            }
            regions.release(g.name(), false); // kept: a start that failed must not destroy a region a VM maps
            throw e;
        }
    }

    /** Where a guest's region is, for logs and the reply to a reload. */
    private String describe(HostConfig.GuestConfig g, Region region) {
        return (region.sealed() ? "sealed memfd (over the guest socket " + config.guestSocket() + ")"
                : region.path().toString()) + " (" + ConfigUnits.formatSize(g.regionSize()) + ", " + region.laneCount()
                + " lane(s) of heap " + ConfigUnits.formatSize(region.heap().byteSize()) + ")";
    }

    private GuestLanes lanes(HostConfig.GuestConfig g, long tenant, Region region, byte[] credential) {
        GuestLanes lanes = new GuestLanes(config, tenant, dispatches, region, g, credential, devices, tee);
        lanes.onViolation(reason -> live.violation(g.name(), reason));
        return lanes;
    }

    /** Stops serving a guest ({@link #stopGuest(String, boolean, String)}) with the reason that fits. */
    private void stopGuest(String name, boolean discard) {
        stopGuest(name, discard, discard ? "the guest was removed from the host" : "host shutting down");
    }

    /**
     * Stops serving guest {@code name}: no more handovers, its sessions end with {@code reason} (their objects and
     * device memory released, their workers stopped, as when the guest's process is killed), its tenant goes, its
     * region is given back ({@link RegionStore#release}; deleted when {@code discard}). Unknown names are ignored.
     */
    private void stopGuest(String name, boolean discard, String reason) {
        Guests.Served s = live.find(name);
        if (s == null) {
            return;
        }
        live.remove(s);
        if (guestSocket != null) {
            guestSocket.withdraw(name);
        }
        if (s.ivshmem != null) {
            s.ivshmem.close();
        }
        GuestLanes lanes = s.lanes;
        lanes.stop(reason);
        try {
            lanes.join(5_000);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        for (DeviceDispatch d : dispatches.values()) {
            d.removeTenant(s.tenant);
        }
        regions.release(name, discard);
        if (discard) {
            secrets.remove(name);
        }
        LOG.info(() -> "guest " + name + ": stopped (" + reason + ")" + (discard ? "; its region is removed" : ""));
    }

    /**
     * Adds a guest to the running host: its region is made and served at once, and a client connects.
     *
     * @throws IllegalArgumentException when a guest of that name is served already
     * @throws IllegalStateException    when the host is stopping
     */
    public void addGuest(HostConfig.GuestConfig g) throws IOException {
        synchronized (changes) {
            refuseWhenClosing();
            if (live.find(g.name()) != null) {
                throw new IllegalArgumentException("guest '" + g.name() + "' is on this host already");
            }
            startGuest(g);
            config = config.withGuests(servedConfigs());
        }
    }

    /**
     * Removes a guest from the running host: its sessions end ("the guest was removed from the host"), their objects
     * and device memory are released, its region is deleted.
     *
     * @throws IllegalArgumentException when there is no such guest
     */
    public void removeGuest(String name) {
        synchronized (changes) {
            refuseWhenClosing();
            if (live.find(name) == null) {
                throw new IllegalArgumentException("no guest '" + name + "' on this host");
            }
            stopGuest(name, true);
            config = config.withGuests(servedConfigs());
        }
    }

    /**
     * Resets a guest's region in place: its sessions end, its header and rings are written afresh, a new epoch is
     * published, and a fresh client connects even if the guest overwrote its whole region.
     *
     * @throws IllegalArgumentException when there is no such guest
     */
    public void resetGuest(String name) {
        synchronized (changes) {
            refuseWhenClosing();
            live.reset(name, "the operator reset the region of guest '" + name + "'");
        }
    }

    /**
     * Reads the config file the host was started from again and applies its guests ({@link #reload(HostConfig)}).
     *
     * @throws IllegalStateException when the host was started without a config file (an in-process host)
     * @throws IOException           when the file cannot be read
     * @throws HostConfig.ConfigException when it is not a valid config (nothing is applied)
     */
    public GuestChanges reload() throws IOException {
        if (configFile == null) {
            throw new IllegalStateException("this host was started without a config file (an in-process host): "
                    + "there is nothing to reload; use addGuest, removeGuest or reload(HostConfig)");
        }
        return reload(HostConfig.load(configFile));
    }

    /**
     * Applies the guests of {@code next}: guests it adds are started, guests it lacks are removed, guests whose
     * config differs are restarted (their sessions end; their region is made again). Host settings that differ
     * apply only at the next start: they are named in the result. A guest that fails to start is named in its
     * errors; the others are applied.
     */
    public GuestChanges reload(HostConfig next) {
        synchronized (changes) {
            refuseWhenClosing();
            GuestChanges done = GuestChanges.between(config, next).apply(config, next, this::stopGuest,
                    g -> describe(g, startGuest(g).region()));
            config = config.withGuests(servedConfigs());
            LOG.info(() -> "reload: " + done.summary());
            return done;
        }
    }

    /** Every served guest's lanes (for {@link DeviceWithdrawal}). */
    List<GuestLanes> guestLanes() {
        return live.all().stream().map(s -> s.lanes).toList();
    }

    private List<HostConfig.GuestConfig> servedConfigs() {
        return live.all().stream().map(s -> s.config).toList();
    }

    private void refuseWhenClosing() {
        if (closing) {
            throw new IllegalStateException("the host is stopping");
        }
    }

    /** The config file the host was started from, or null. */
    public Path configFile() {
        return configFile;
    }

    /** Where control regions of device workers live (private to the host). */
    public static Path workerDir(HostConfig config) {
        return config.workerDir();
    }

    /** The region file of a guest whose region is a file ({@code region: file}). */
    public static Path regionPath(Path dir, String guest) {
        return dir.resolve(guest + ".region");
    }

    /** Where this host's uid re-opens a guest's region: /proc/HOSTPID/fd/N (sealed memfd), or the region file. */
    public Path regionPath(String guest) {
        return endpoint(guest).region().path();
    }

    /** Where QEMU's ivshmem-doorbell connects for a {@code region: ivshmem} guest. */
    public static Path ivshmemPath(Path dir, String guest) {
        return dir.resolve(guest + ".ivshmem");
    }

    /** Connected QEMU peers of a {@code region: ivshmem} guest (0 for other guests). */
    public int ivshmemPeers(String guest) {
        IvshmemServer s = live.ivshmem(guest);
        return s == null ? 0 : s.peers();
    }

    /**
     * Doorbell figures of a {@code region: ivshmem} guest: {@code [doorbells from the guest that woke the host,
     * interrupts the host raised in the guest]} ({0, 0} for other guests).
     */
    public long[] ivshmemDoorbells(String guest) {
        IvshmemServer s = live.ivshmem(guest);
        return s == null ? new long[2] : new long[] {s.doorbellsFromGuest(), s.interruptsToGuest()};
    }

    /** The HTTP listener's address (docs/metrics.md; the actual port for port 0), or null without metrics. */
    public java.net.InetSocketAddress metricsAddress() {
        io.ferry.host.metrics.OpsServer o = ops;
        return o == null ? null : o.address();
    }

    /** The stream transport's listeners and counters (docs/network.md), or null where the config names none. */
    public io.ferry.host.net.NetServer net() {
        return net;
    }

    /** When this host started serving (System.nanoTime). */
    public long startedNanos() {
        return startedNanos;
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
        Guests.Served s = live.find(guest);
        if (s == null) {
            throw new IllegalArgumentException("no guest '" + guest + "' on this host");
        }
        return s.lanes;
    }

    private void handedOver(String guest, io.ferry.channel.os.PeerCredentials peer) {
        Guests.Served s = live.find(guest);
        if (s != null) { // else removed since
            s.lanes.handedTo(peer.pid());
        }
    }

    /** Scheduling figures of a guest on every device (empty under FIFO). */
    public List<HostViews.SchedulingView> scheduling(String guest) {
        return live.scheduling(guest);
    }

    /**
     * What a guest's sessions served since the host started: calls by operation and status, quota refusals, TEE
     * denials, device workers lost (over its lanes; with what its device workers and TEE direct lanes served).
     */
    public io.ferry.host.session.CallCounts.Totals counters(String guest) {
        return endpoint(guest).counts().plus(io.ferry.protocol.Op.TEE_INVOKE, tee == null ? 0 : tee.callsBeside(guest));
    }

    public HostConfig config() {
        return config;
    }

    public Devices devices() {
        return devices;
    }

    /** A guest's queue waits on every device, bucketed at {@code upperNanos} (empty under FIFO); for /metrics. */
    public List<HostViews.QueueWaits> queueWaits(String guest, long[] upperNanos) {
        return live.queueWaits(guest, upperNanos);
    }

    /** Figures of every guest; safe from any thread (figures may be a moment old). */
    public List<HostViews.GuestView> guests() {
        return live.views();
    }

    /** Blocks until {@link #close} has run. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        synchronized (changes) {
            if (closing) {
                return;
            }
            closing = true;
            if (ops != null) {
                ops.close();
            }
            if (guestSocket != null) {
                guestSocket.close();
            }
            if (net != null) {
                net.close(); // its connections leave their lanes while the guests are still served
            }
            if (admin != null) {
                admin.close();
            }
            live.shutdown();
            if (ticker != null) {
                ticker.interrupt();
                try {
                    ticker.join(1_000);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
            for (Guests.Served s : live.all()) {
                s.lanes.stop("host shutting down"); // every guest's lanes at once, then each is waited for
            }
            for (Guests.Served s : List.copyOf(live.all())) {
                stopGuest(s.name(), config.discardRegions());
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
}
