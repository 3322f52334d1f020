package io.ferry.host.endpoint;

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

    /**
     * Whether process {@code pid} exists here and maps {@code region}: a region file by its name, a sealed memfd
     * region ({@code /proc/HOSTPID/fd/N}) by its inode, which {@code /proc/PID/maps} lists next to
     * {@code /memfd:ferry-GUEST (deleted)}.
     */
    static boolean mapsRegion(long pid, Path region) {
        if (pid <= 0 || region == null) {
            return false;
        }
        Path maps = Path.of("/proc", Long.toString(pid), "maps");
        String name = region.toAbsolutePath().toString();
        String inode = memfdInode(region);
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.anyMatch(l -> l.endsWith(name) || l.endsWith(name + " (deleted)")
                    || (inode != null && l.contains("/memfd:") && inode.equals(field(l, 4))));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The inode number of the memfd behind a {@code /proc/PID/fd/N} path, or null for any other path. */
    private static String memfdInode(Path region) {
        if (!region.startsWith("/proc")) {
            return null;
        }
        try {
            return String.valueOf(Files.getAttribute(region, "unix:ino"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Field {@code i} (0-based) of a maps line: address, perms, offset, device, inode, path. */
    private static String field(String line, int i) {
        String[] f = line.trim().split("\\s+", 6);
        return i < f.length ? f[i] : "";
    }

    /** Whether process {@code pid} is alive. */
    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
