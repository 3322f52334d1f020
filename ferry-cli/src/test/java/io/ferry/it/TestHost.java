package io.ferry.it;

import io.ferry.client.Ferry;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real host (sealed memfd regions handed over a real guest socket, real backends) for integration tests, removed on close. */
final class TestHost implements AutoCloseable {
    final Path dir;
    final FerryHost host;

    private TestHost(Path dir, FerryHost host) {
        this.dir = dir;
        this.host = host;
    }

    static TestHost start(String... guests) throws IOException {
        return start(Devices.discover(List.of()), guests);
    }

    static TestHost start(Devices devices, String... guests) throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-it-");
        List<HostConfig.GuestConfig> gs = new ArrayList<>();
        for (String g : guests) {
            gs.add(new HostConfig.GuestConfig(g, 16L << 20).withLanes(HostConfig.LANES_AUTO)); // 4 lanes of 16 MiB
        }
        return new TestHost(dir, FerryHost.start(new HostConfig(dir, true, List.of(), gs), devices));
    }

    /**
     * A host whose device workers have {@code limits} (a device buffer near 1 GiB needs more than the default), for
     * guests of one lane (such a buffer needs the guest's whole device-memory quota, which lanes would split).
     */
    static TestHost start(Devices devices, HostConfig.WorkerLimits limits, String... guests) throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-it-");
        List<HostConfig.GuestConfig> gs = new ArrayList<>();
        for (String g : guests) {
            gs.add(new HostConfig.GuestConfig(g, 16L << 20).withLanes(1));
        }
        return new TestHost(dir, FerryHost.start(new HostConfig(dir, true, List.of(), gs).withWorkerLimits(limits),
                devices));
    }

    /** Where the host re-opens the guest's region ({@code /proc/PID/fd/N} for a sealed memfd region). */
    Path region(String guest) {
        return host.regionPath(guest);
    }

    /** Connects as a process guest does: over the guest socket, with the secret the host made. */
    Ferry connect(String guest) {
        return Ferry.connect(host.guestSocket(), guest, host.secret(guest));
    }

    @Override
    public void close() throws IOException {
        host.close();
        Hosts.deleteTree(dir);
    }
}
