package io.ferry.it;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link InfoAndProgramsIT} where the session stays in the host and each call goes to the guest's device worker one
 * by one: INFO, binaries, compile and link cross the worker hop ({@code WorkerRequests}, {@code WorkerPrograms}).
 */
class InfoAndProgramsHostServedIT extends InfoAndProgramsIT {

    /**
     * Runs after the superclass's {@code start()} (JUnit runs a hidden static @BeforeAll too): its host is stopped
     * and removed first, then this one made (before, the superclass's host was left running, its directory in
     * /dev/shm).
     */
    @BeforeAll
    static void startHostServed() throws Exception {
        stop();
        // read once, when the host makes the guest's endpoint
        System.setProperty("ferry.workerServesSession", "false");
        try {
            dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-info-");
            devices = Devices.discover(List.of());
            host = FerryHost.start(new HostConfig(dir, true, List.of(),
                    List.of(new HostConfig.GuestConfig("g", 16L << 20))), devices);
        } finally {
            System.clearProperty("ferry.workerServesSession");
        }
    }
}
