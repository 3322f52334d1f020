package io.ferry.host.endpoint;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.channel.RegionRepair;
import io.ferry.channel.RegionReuse;
import io.ferry.host.compute.GuestLayout;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The regions of a host's guests, kept across host restarts (docs/protocol.md, "Epochs and host restarts"; docs/protocol.md,
 * "Epochs and host restarts").
 *
 * <p>{@link #open} takes a guest's region over where the previous host left it ({@link RegionReuse}): a region
 * file in the region directory, reopened in place (same inode, so a QEMU ivshmem-plain VM keeps its mapping) or
 * re-initialised in place or created anew; a sealed memfd ({@code region: memfd} and {@code ivshmem}) taken back
 * from its keeper, systemd's file-descriptor store when the host runs under systemd with {@code NOTIFY_SOCKET}
 * ({@link SystemdFdStore}), else the fd holder process ({@link FdHolder}), and handed to the keeper again. A
 * guest without a configured secret keeps the credential its region holds, so a connected guest's HELLO still
 * passes. Each start (and each {@link #reset}) publishes a new epoch in the region.
 *
 * <p>{@link #release} with {@code discard} false (a host stopping) unmaps and keeps the region; with true (the
 * guest removed) the file is deleted or the memfd dropped from its keeper.
 */
public final class RegionStore implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final HostConfig config;
    private final long epoch;
    private final Map<String, Region> regions = new ConcurrentHashMap<>();
    private final Map<String, HostConfig.GuestConfig> guests = new ConcurrentHashMap<>();
    private FdKeeper keeper;
    /**
     * Hands memfds to the keeper and drops them, in order, off the caller's thread: the first hand-over starts the fd
     * holder (a JVM, seconds on a loaded machine), which must not hold up a guest's start. A guest's next
     * {@link #open} waits for what is pending for it; {@link #close} waits for everything.
     */
    private final java.util.concurrent.ExecutorService keeping = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true).name("ferry-region-keeper").unstarted(r));
    private final Map<String, java.util.concurrent.Future<?>> pending = new ConcurrentHashMap<>();

    public RegionStore(HostConfig config) {
        this.config = config;
        this.epoch = newEpoch();
    }

    /** A fresh nonzero epoch (0 means "no host"). */
    static long newEpoch() {
        long e;
        do {
            e = RANDOM.nextLong();
        } while (e == 0);
        return e;
    }

    /** The epoch this host published when it opened the regions. */
    public long epoch() {
        return epoch;
    }

    /** The region file of a {@code region: file} guest. */
    public static Path regionFile(Path dir, String guest) {
        return dir.resolve(guest + ".region");
    }

    /** The name a guest's memfd is kept under. */
    static String keptName(String guest) {
        return "ferry-region-" + guest;
    }

    /** Which keeper holds sealed regions across restarts (systemd or the holder process); null before one is used. */
    public synchronized String keeper() {
        return keeper == null ? null : keeper.describe();
    }

    /**
     * Whether sealed regions go to a keeper: always, unless this host discards its regions at stop (an in-process
     * host, {@code ferry host --discard-regions}) and no keeper is there from an earlier host (whose regions it
     * then takes over and drops). So such hosts start no holder process.
     */
    private synchronized boolean keeps() {
        return !config.discardRegions() || keeper != null || System.getenv("NOTIFY_SOCKET") != null
                || Files.exists(config.regionDir().resolve(FdHolder.SOCKET), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    private synchronized FdKeeper keeperNow() {
        if (keeper == null) {
            FdKeeper systemd = SystemdFdStore.fromEnvironment();
            keeper = systemd != null ? systemd : new FdHolderClient(config.regionDir());
            LOG.info("sealed regions are kept across restarts by " + keeper.describe());
        }
        return keeper;
    }

    /**
     * The region of guest {@code g}, taken over from the previous host where it can be (see the class), with
     * this host's epoch and a first heartbeat published.
     *
     * @param credential the credential to store when {@code g} has a configured secret (it is that secret);
     *                   otherwise the credential of a region created or re-initialised, a reopened one keeping
     *                   its own. Use {@link Region#credential()} of the result for the guest's credential.
     * @throws IllegalStateException when the guest's region is open already
     */
    public Region open(HostConfig.GuestConfig g, byte[] credential) throws IOException {
        if (regions.containsKey(g.name())) {
            throw new IllegalStateException("guest '" + g.name() + "' has its region open already");
        }
        RegionLayout layout = GuestLayout.of(g);
        byte[] configured = g.secret() != null ? credential : null;
        RegionReuse.Result r;
        if (g.region() == HostConfig.RegionKind.FILE) {
            r = RegionReuse.file(regionFile(config.regionDir(), g.name()), g.name(), layout, configured, credential);
        } else if (!keeps()) {
            r = RegionReuse.sealed(-1, g.name(), layout, configured, credential); // nothing to keep it for
        } else {
            FdKeeper k = keeperNow();
            awaitPending(g.name());
            int held;
            try {
                held = k.take(keptName(g.name()));
            } catch (IOException e) {
                LOG.warning("guest " + g.name() + ": could not ask " + k.describe() + " for its region ("
                        + e.getMessage() + "); a new one is made");
                held = -1;
            }
            r = RegionReuse.sealed(held, g.name(), layout, configured, credential);
            int copy = io.ferry.channel.os.Memfd.dup(r.region().fd()); // the keeper's, whatever becomes of the region
            later(g.name(), () -> {
                try {
                    k.keep(keptName(g.name()), copy);
                } finally {
                    io.ferry.channel.os.Memfd.closeQuietly(copy);
                }
            }, k.describe() + " did not take its region; it will not survive a restart of this host");
        }
        Region region = r.region();
        region.hostEpoch(epoch);
        region.hostHeartbeat(System.nanoTime());
        regions.put(g.name(), region);
        guests.put(g.name(), g);
        LOG.info("guest " + g.name() + ": region " + switch (r.how()) {
            case REOPENED -> "reopened as the previous host left it";
            case REINITIALISED -> "re-initialised in place (" + r.why() + ")";
            case CREATED -> "created (" + r.why() + ")";
        } + ", epoch " + Long.toHexString(epoch));
        return region;
    }

    /**
     * Gives up a guest's region: clears its epoch (a guest sees no host) and unmaps it; with {@code discard} (the
     * guest removed, or {@code ferry host --discard-regions}) also deletes its file or drops its memfd from the
     * keeper, else keeps it for the next host. Unknown names are ignored.
     */
    public void release(String name, boolean discard) {
        Region region = regions.remove(name);
        HostConfig.GuestConfig g = guests.remove(name);
        if (region != null) {
            try {
                region.hostEpoch(0);
            } catch (Throwable t) { // a file region truncated under the host faults here
                LOG.warning("guest " + name + ": could not clear the host epoch in its region: " + t);
            }
            region.close();
        }
        if (!discard || g == null) {
            return;
        }
        try {
            if (g.region() == HostConfig.RegionKind.FILE) {
                Files.deleteIfExists(regionFile(config.regionDir(), name)); // unlink never follows a link
            } else if (keeps()) {
                FdKeeper k = keeperNow();
                later(name, () -> k.drop(keptName(name)), "could not drop its region from " + k.describe());
            }
        } catch (IOException e) {
            LOG.warning("guest " + name + ": could not discard its region: " + e.getMessage());
        }
    }

    /**
     * Re-initialises a guest's region in place (header, rings, a new epoch; same memory, so whoever maps it keeps
     * the mapping) with the credential it held. Returns the same region. Call only while no endpoint serves it.
     *
     * @throws IllegalArgumentException when no such guest is open here
     */
    public Region reset(String name) {
        Region region = regions.get(name);
        HostConfig.GuestConfig g = guests.get(name);
        if (region == null || g == null) {
            throw new IllegalArgumentException("no guest '" + name + "' on this host");
        }
        RegionRepair.reinitialize(region); // header as at provisioning, rings' control blocks zeroed (protocol.md §3.2)
        region.hostEpoch(newEpoch());
        region.hostHeartbeat(System.nanoTime());
        LOG.info("guest " + name + ": region re-initialised in place (reset), new epoch");
        return region;
    }

    private interface KeeperCall {
        void run() throws IOException;
    }

    /** Runs {@code call} on the keeping thread, after what is pending; a failure is logged with {@code failed}. */
    private void later(String name, KeeperCall call, String failed) {
        pending.put(name, keeping.submit(() -> {
            try {
                call.run();
            } catch (IOException | RuntimeException e) {
                LOG.warning("guest " + name + ": " + failed + " (" + e.getMessage() + ")");
            }
        }));
    }

    /** Waits (at most 30 s) for what the keeping thread has pending for {@code name}. */
    private void awaitPending(String name) {
        java.util.concurrent.Future<?> f = pending.remove(name);
        if (f != null) {
            try {
                f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.warning("guest " + name + ": its region's keeper did not answer in time: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Releases (keeps) every region still open, waits until the keeper has them, and lets the keeper go. */
    @Override
    public synchronized void close() {
        for (String name : regions.keySet()) {
            release(name, false);
        }
        keeping.shutdown();
        try {
            if (!keeping.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
                LOG.warning("the region keeper did not finish within 30 s; regions not yet handed over are lost at "
                        + "exit");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (keeper != null) {
            keeper.close();
        }
    }
}
