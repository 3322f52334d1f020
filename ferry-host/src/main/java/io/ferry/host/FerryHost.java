package io.ferry.host;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Logger;

/**
 * The host daemon: creates one region per configured guest, serves each on an {@link Endpoint} thread, and beats
 * a heartbeat into every region so guests can tell a live host from a dead one.
 *
 * <p>Start with {@link #start}; {@link #close} (also run by the JVM's shutdown hook on SIGTERM when started from
 * the CLI) closes every session with a final status, stops the endpoints and removes the regions unless the config
 * keeps them.
 */
public final class FerryHost implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** How often the host beats its heartbeat into each region. */
    public static final long HEARTBEAT_MILLIS = 100;

    private final HostConfig config;
    private final Devices devices;
    private final SessionService.Factory tee;
    private final List<Endpoint> endpoints = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** One scheduler per device under the FERRY policy; empty under FIFO. */
    private final java.util.Map<Devices.Device, DeviceDispatch> dispatches = new java.util.HashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final long epoch;
    private Thread ticker;
    private AdminServer admin;
    private volatile boolean closing;

    private FerryHost(HostConfig config, Devices devices, SessionService.Factory tee) {
        this.config = config;
        this.tee = tee;
        this.devices = devices;
        this.epoch = new SecureRandom().nextLong() | 1;
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
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        // First, as the single-instance lock: a second host on the same directory must fail before it touches
        // the regions the first one serves.
        admin = AdminServer.start(config.adminSocket(), this);
        deleteStaleWorkerFiles();
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
        for (int tenant = 0; tenant < config.guests().size(); tenant++) {
            HostConfig.GuestConfig g = config.guests().get(tenant);
            Path file = regionPath(dir, g.name());
            Files.deleteIfExists(file);
            byte[] credential = g.secret() != null ? g.secret() : new byte[HostConfig.SECRET_BYTES];
            if (g.secret() == null) {
                random.nextBytes(credential);
            }
            Region region = Region.create(file, g.name(), RegionLayout.forSize(g.regionSize()), credential);
            region.hostEpoch(epoch);
            region.hostHeartbeat(System.nanoTime());
            Endpoint e = new Endpoint(config, tenant, dispatches, region, g, credential, devices, tee);
            endpoints.add(e);
            LOG.info(() -> "guest " + g.name() + ": region " + file + " (" + HostConfig.formatSize(g.regionSize())
                    + ", heap " + HostConfig.formatSize(region.heap().byteSize()) + ")");
        }
        for (Endpoint e : endpoints) {
            e.start();
        }
        ticker = Thread.ofPlatform().name("ferry-heartbeat").daemon(true).start(this::beat);
        LOG.info(() -> "host serving " + endpoints.size() + " guest(s) on " + devices.all().size() + " device(s)");
    }

    /** Where control regions of device workers live (private to the host). */
    public static Path workerDir(HostConfig config) {
        return config.regionDir().resolve("workers");
    }

    /** The region file of a guest. */
    public static Path regionPath(Path dir, String guest) {
        return dir.resolve(guest + ".region");
    }

    /** Publishes each guest's scheduling figures in its region header (HOST_FIGURES), for the guest to plan with. */
    private void publishFigures() {
        for (int i = 0; i < endpoints.size(); i++) {
            Endpoint e = endpoints.get(i);
            if (e.session() == null) {
                continue; // nobody reads them
            }
            for (DeviceDispatch d : dispatches.values()) {
                HostFigures.publish(e.region(), d.figures(i));
                break; // the first device's figures; the layout has room for one device
            }
        }
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

    private void deleteStaleWorkerFiles() throws IOException {
        Path w = workerDir(config);
        if (Files.isDirectory(w)) {
            try (var files = Files.list(w)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private void beat() {
        while (!closing) {
            long now = System.nanoTime();
            for (Endpoint e : endpoints) {
                e.region().hostHeartbeat(now);
                e.watch(now);
            }
            for (DeviceDispatch d : dispatches.values()) {
                d.tick(now);
            }
            publishFigures();
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
     * @param sessions sessions served since the host started (reconnects count)
     * @param pid      the connected guest's process id (0 when not connected)
     */
    public record GuestView(String name, boolean connected, long sessionId, long sessions, long pid, long calls,
                            int objects, long deviceMemoryBytes, int commandsInFlight, Quotas quotas,
                            HostConfig.SchedClass schedClass, int weight, long regionBytes, long heapBytes) {
    }

    /** Figures of every guest; safe from any thread (figures may be a moment old). */
    public List<GuestView> guests() {
        List<GuestView> out = new ArrayList<>();
        for (Endpoint e : endpoints) {
            Session s = e.session();
            var g = e.config();
            boolean on = s != null && !s.closed();
            out.add(new GuestView(e.guest(), on, on ? s.id() : 0, e.sessionsServed(), on ? s.guestPid() : 0,
                    on ? s.calls() : 0, on ? s.objects() : 0, on ? s.deviceMemoryBytes() : 0,
                    on ? Math.max(0, s.commandsInFlight()) : 0, g.quotas(), g.schedClass(), g.weight(),
                    g.regionSize(), e.region().heap().byteSize()));
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
        for (Endpoint e : endpoints) {
            e.stop();
        }
        for (Endpoint e : endpoints) {
            try {
                e.join(5_000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            e.region().hostEpoch(0);
            Path path = e.region().path();
            e.region().close();
            if (!config.keepRegions()) {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ex) {
                    LOG.warning("could not remove region " + path + ": " + ex.getMessage());
                }
            }
        }
        if (!config.keepRegions()) {
            try {
                Files.deleteIfExists(workerDir(config));
            } catch (IOException ex) {
                LOG.fine("worker directory not removed: " + ex.getMessage());
            }
        }
        LOG.info("host stopped" + (config.keepRegions() ? " (regions kept)" : ", regions removed"));
        stopped.countDown();
    }
}
