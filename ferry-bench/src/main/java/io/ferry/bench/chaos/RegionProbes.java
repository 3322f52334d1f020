package io.ferry.bench.chaos;

import io.ferry.channel.HandoverDescriptor;
import io.ferry.channel.Region;
import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chaos probes of the REGIONS part (issue 11, items 2 and 6), each against a real host in a temporary directory:
 * <ul>
 *   <li>{@code truncate_survived}: a guest that got its sealed region over the guest socket tries to shrink and
 *       grow it (both must fail with EPERM); a file region (the VM fallback) is truncated under the host. The host
 *       and a bystander guest must go on: the bystander verifies a vadd, the host heartbeat keeps moving, and the
 *       guest whose resize failed still works.</li>
 *   <li>{@code symlink_dir_refused}: a region directory with a planted {@code workers} link, one with mode 0755
 *       and (as root) one owned by another uid; the host must refuse to start each time, and the files the link
 *       points to must be intact.</li>
 * </ul>
 */
public final class RegionProbes {
    private static final String VADD = "__kernel void vadd(__global const float* a, __global const float* b,"
            + " __global float* c) { size_t i = get_global_id(0); c[i] = a[i] + b[i]; }";

    private RegionProbes() {
    }

    /** Both probes, in a fresh directory under {@code parent}: keys truncate_survived, symlink_dir_refused. */
    public static Map<String, Object> run(Path parent) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("truncate_survived", truncateSurvived(parent));
        out.put("symlink_dir_refused", symlinkDirRefused(parent));
        return out;
    }

    /** The {@code truncate_survived} figure: true when no resize hurts the host or a bystander. */
    public static boolean truncateSurvived(Path parent) throws Exception {
        Path dir = Files.createTempDirectory(parent, "regions-trunc-");
        Path regions = dir.resolve("regions");
        List<HostConfig.GuestConfig> gs = List.of(new HostConfig.GuestConfig("attacker", 8L << 20),
                new HostConfig.GuestConfig("vm", 8L << 20).withRegion(HostConfig.RegionKind.FILE),
                new HostConfig.GuestConfig("bystander", 8L << 20));
        try (Devices devices = Devices.discover(List.of());
             FerryHost host = FerryHost.start(new HostConfig(regions, true, List.of(), gs), devices);
             Ferry bystander = Ferry.connect(host.guestSocket(), "bystander", host.secret("bystander"));
             Region watch = Region.open(host.regionPath("bystander"))) {
            boolean ok = vadd(bystander);
            // 1. The attacker takes its region over the socket and tries to resize it.
            boolean sealed = resizeRefused(host, "attacker");
            System.out.println("chaos: a guest's truncate/grow of its sealed region: "
                    + (sealed ? "refused (EPERM)" : "NOT refused"));
            // 2. The VM fallback: a file region truncated under the host (only its uid or QEMU can).
            try (FileChannel ch = FileChannel.open(host.regionPath("vm"), StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
            Thread.sleep(3 * FerryHost.HEARTBEAT_MILLIS);
            long beat = watch.hostHeartbeat();
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (watch.hostHeartbeat() == beat && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            boolean beating = watch.hostHeartbeat() != beat;
            ok &= vadd(bystander);
            boolean attackerWorks;
            try (Ferry attacker = Ferry.connect(host.guestSocket(), "attacker", host.secret("attacker"))) {
                attackerWorks = attacker.nop(5) == 5;
            }
            System.out.println("chaos: after the resize attempts: bystander " + (ok ? "verified" : "FAILED")
                    + ", host heartbeat " + (beating ? "moving" : "STOPPED") + ", attacker "
                    + (attackerWorks ? "still served" : "NOT served"));
            return sealed && ok && beating && attackerWorks;
        } finally {
            io.ferry.bench.TransportBench.deleteTree(dir);
        }
    }

    /** The {@code symlink_dir_refused} figure: true when every untrusted directory is refused and nothing followed. */
    public static boolean symlinkDirRefused(Path parent) throws Exception {
        Path dir = Files.createTempDirectory(parent, "regions-link-");
        try {
            // 1. A planted workers link to a folder of someone's files.
            Path precious = Files.createDirectory(dir.resolve("precious"));
            Files.writeString(precious.resolve("notes.txt"), "keep");
            Files.writeString(precious.resolve("x.worker"), "keep");
            Path linked = Files.createDirectory(dir.resolve("linked"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.createSymbolicLink(linked.resolve("workers"), precious);
            boolean refused = refuses(linked, "symbolic link");
            boolean intact = Files.readString(precious.resolve("notes.txt")).equals("keep")
                    && Files.readString(precious.resolve("x.worker")).equals("keep");
            // 2. A directory others may enter.
            Path open = Files.createDirectory(dir.resolve("open"));
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
            refused &= refuses(open, "rwxr-xr-x");
            // 3. As root: a directory owned by another uid.
            if ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0) {
                Path foreign = Files.createDirectory(dir.resolve("foreign"),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                Files.setAttribute(foreign, "unix:uid", 65534);
                refused &= refuses(foreign, "owned by uid 65534");
            }
            System.out.println("chaos: untrusted region directories " + (refused ? "refused" : "NOT refused")
                    + ", the linked folder's files " + (intact ? "intact" : "DAMAGED"));
            return refused && intact;
        } finally {
            io.ferry.bench.TransportBench.deleteTree(dir);
        }
    }

    private static boolean refuses(Path regionDir, String why) {
        HostConfig cfg = new HostConfig(regionDir, true, List.of(), List.of(new HostConfig.GuestConfig("g", 1L << 20)));
        try (FerryHost h = FerryHost.start(cfg, Devices.of(List.of(), List.of()))) {
            System.out.println("chaos: a host STARTED on " + regionDir);
            return false;
        } catch (IOException e) {
            System.out.println("chaos: refused: " + e.getMessage());
            return e.getMessage().contains(why);
        }
    }

    private static boolean resizeRefused(FerryHost host, String guest) throws IOException {
        try (UnixSocket s = UnixSocket.connect(host.guestSocket())) {
            s.send(HandoverDescriptor.request(guest, host.secret(guest)), -1);
            byte[] header = new byte[HandoverDescriptor.REPLY_HEADER_SIZE];
            int[] fd = new int[1];
            s.receiveFully(header, fd);
            if (HandoverDescriptor.readReply(header).status() != Status.OK.code() || fd[0] < 0) {
                return false;
            }
            try {
                return refusedWithEperm(fd[0], 0) && refusedWithEperm(fd[0], 1L << 40);
            } finally {
                Memfd.closeQuietly(fd[0]);
            }
        }
    }

    private static boolean refusedWithEperm(int fd, long size) {
        try {
            Memfd.truncate(fd, size);
            return false;
        } catch (ErrnoException e) {
            return e.isPermissionDenied();
        }
    }

    private static boolean vadd(Ferry f) {
        int n = 1024;
        try (Context ctx = f.createContext(f.defaultDevice()); CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(VADD); Kernel k = p.kernel("vadd");
             HeapBlock h = f.heap().allocate(12L * n);
             DeviceBuffer a = ctx.createBuffer(4L * n); DeviceBuffer b = ctx.createBuffer(4L * n);
             DeviceBuffer c = ctx.createBuffer(4L * n)) {
            var ha = h.segment().asSlice(0, 4L * n);
            var hb = h.segment().asSlice(4L * n, 4L * n);
            var hc = h.segment().asSlice(8L * n, 4L * n);
            for (int i = 0; i < n; i++) {
                ha.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
                hb.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1);
            }
            q.write(a, 0, ha).write(b, 0, hb);
            k.arg(0, a).arg(1, b).arg(2, c);
            q.launch(k, NDRange.of(n));
            q.read(c, 0, hc);
            q.finish();
            for (int i = 0; i < n; i++) {
                if (hc.getAtIndex(ValueLayout.JAVA_FLOAT, i) != i + 1) {
                    return false;
                }
            }
            return true;
        } catch (RuntimeException e) {
            System.out.println("chaos: bystander vadd failed: " + e);
            return false;
        }
    }
}
