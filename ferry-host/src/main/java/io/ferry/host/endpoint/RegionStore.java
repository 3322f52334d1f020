package io.ferry.host.endpoint;

import io.ferry.channel.Region;
import io.ferry.channel.RegionRepair;
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
 * The regions of a host's guests: where a guest's region comes from when it starts ({@link #open}), where it goes
 * when it stops ({@link #release}), and its re-initialisation in place ({@link #reset}).
 *
 * <p>This version creates a fresh region at every {@link #open} (a file region's old file is unlinked first: the
 * directory is the host's alone, checked by {@link RegionDirectory#prepare}) and publishes the host's epoch in it.
 */
public final class RegionStore {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final HostConfig config;
    private final long epoch = newEpoch();
    private final Map<String, Region> open = new ConcurrentHashMap<>();

    public RegionStore(HostConfig config) {
        this.config = config;
    }

    /** A nonzero epoch, fresh for each host start and each reset. */
    private static long newEpoch() {
        return RANDOM.nextLong() | 1;
    }

    /**
     * The region of guest {@code g}, with {@code credential} in its header, the host's epoch published and a first
     * heartbeat beaten.
     *
     * @throws IllegalStateException when the guest's region is open already
     */
    public Region open(HostConfig.GuestConfig g, byte[] credential) throws IOException {
        if (open.containsKey(g.name())) {
            throw new IllegalStateException("guest '" + g.name() + "' has its region open already");
        }
        Path file = config.regionDir().resolve(g.name() + ".region"); // as FerryHost.regionPath
        Files.deleteIfExists(file); // unlink never follows a link; the directory is ours alone (checked)
        Region region = g.region() == HostConfig.RegionKind.FILE
                ? Region.create(file, g.name(), GuestLayout.of(g), credential)
                : Region.createSealed(g.name(), GuestLayout.of(g), credential);
        region.hostEpoch(epoch);
        region.hostHeartbeat(System.nanoTime());
        open.put(g.name(), region);
        return region;
    }

    /**
     * Gives up a guest's region: clears its epoch (a guest sees no host), unmaps it and closes its memfd; a file
     * region's file is deleted when {@code discard} (the guest was removed) or the config does not keep regions.
     * Unknown names are ignored.
     */
    public void release(String name, boolean discard) {
        Region region = open.remove(name);
        if (region == null) {
            return;
        }
        try {
            region.hostEpoch(0);
        } catch (Throwable t) { // a file region truncated under the host faults here
            LOG.warning("guest " + name + ": could not clear the host epoch in its region: " + t);
        }
        Path path = region.path();
        boolean file = !region.sealed();
        region.close();
        if (file && (discard || !config.keepRegions())) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warning("could not remove region " + path + ": " + e.getMessage());
            }
        }
    }

    /**
     * Re-initialises a guest's region in place ({@link RegionRepair#reinitialize}: header, rings; same memory, same
     * file or memfd) and publishes a new epoch in it. Call only while no endpoint serves the guest.
     *
     * @throws IllegalArgumentException when the guest has no open region here
     */
    public Region reset(String name) {
        Region region = open.get(name);
        if (region == null) {
            throw new IllegalArgumentException("no guest '" + name + "' on this host");
        }
        RegionRepair.reinitialize(region);
        region.hostEpoch(newEpoch());
        region.hostHeartbeat(System.nanoTime());
        return region;
    }
}
