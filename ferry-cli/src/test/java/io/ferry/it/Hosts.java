package io.ferry.it;

import io.ferry.host.sched.SchedClass;

import io.ferry.client.Ferry;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** Like {@link TestHost}, with guests configured in full (quotas, secrets); removed on close. */
final class Hosts implements AutoCloseable {
    final Path dir;
    final FerryHost host;

    private Hosts(Path dir, FerryHost host) {
        this.dir = dir;
        this.host = host;
    }

    /** A guest of one lane: its session holds the whole of {@code quotas} (tests of exact quota figures). */
    static HostConfig.GuestConfig guest(String name, byte[] secret, Quotas quotas) {
        return new HostConfig.GuestConfig(name, 16L << 20, secret, SchedClass.NORMAL, 1,
                Set.of("compute", "tee"), quotas).withLanes(1);
    }

    static Path newDir() throws IOException {
        return Files.createTempDirectory(Path.of("/dev/shm"), "ferry-it-");
    }

    static Hosts start(List<HostConfig.GuestConfig> guests) throws IOException {
        return start(guests, HostConfig.Policy.FERRY);
    }

    static Hosts start(List<HostConfig.GuestConfig> guests, HostConfig.Policy policy) throws IOException {
        Path dir = newDir();
        HostConfig cfg = new HostConfig(dir, true, List.of(), guests)
                .withScheduling(new HostConfig.Scheduling(policy, HostConfig.Scheduling.DEFAULT.bestEffortCapNanos()));
        return new Hosts(dir, FerryHost.start(cfg, Devices.discover(List.of())));
    }

    /** Where the host re-opens the guest's region ({@code /proc/PID/fd/N} for a sealed memfd region). */
    Path region(String guest) {
        return host.regionPath(guest);
    }

    /** Connects as a process guest does: over the guest socket, with the guest's secret. */
    Ferry connect(String guest) {
        return Ferry.connect(host.guestSocket(), guest, host.secret(guest));
    }

    HostViews.GuestView view(String guest) {
        return host.guests().stream().filter(g -> g.name().equals(guest)).findFirst().orElseThrow();
    }

    /** Removes a test host's directory and its guest socket beside it ({@code DIR.sock}, the default for DIR). */
    static void deleteTree(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolveSibling(dir.getFileName() + ".sock"));
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    public void close() throws IOException {
        host.close();
        deleteTree(dir);
    }
}
