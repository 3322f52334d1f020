package io.ferry.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Watching a guest's process where this host can see it. A pid from HELLO is only trusted when that process
 * visibly maps the guest's region (a pid from a VM or another pid namespace names some unrelated process here, or
 * none); otherwise the host relies on the guest's heartbeat alone.
 */
final class GuestProcess {
    private GuestProcess() {
    }

    /** Whether process {@code pid} exists here and maps {@code region}. */
    static boolean mapsRegion(long pid, Path region) {
        if (pid <= 0 || region == null) {
            return false;
        }
        Path maps = Path.of("/proc", Long.toString(pid), "maps");
        String name = region.toAbsolutePath().toString();
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.anyMatch(l -> l.endsWith(name) || l.endsWith(name + " (deleted)"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether process {@code pid} is alive. */
    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
