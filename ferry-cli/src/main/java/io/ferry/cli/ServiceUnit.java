package io.ferry.cli;

import io.ferry.host.config.HostConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The systemd unit {@code ferry install-service} writes for the host ({@code ferry-host.service}). Its text only: the
 * command writes it. Every choice is explained in the unit's own comments and in docs/operations.md, "Running as a
 * service"; the ones that are not obvious:
 * <ul>
 *   <li>{@code Type=simple}: the host sends no {@code READY=1}. It may still talk to {@code NOTIFY_SOCKET} to keep
 *       region memfds in the file-descriptor store ({@code FDSTORE=1}), hence {@code NotifyAccess=main} and
 *       {@code FileDescriptorStoreMax=256}.</li>
 *   <li>{@code KillMode=mixed}: SIGTERM goes to the host alone, which stops its device workers and closes sessions
 *       itself; whatever is left in the unit's cgroup (a stuck worker, a helper process) gets SIGKILL after the host
 *       exited. {@code control-group} would SIGTERM the workers at the same moment as the host.</li>
 *   <li>{@code ProtectKernelTunables}, {@code ProtectKernelLogs}, {@code ProtectProc}, {@code RestrictNamespaces},
 *       {@code PrivateUsers} stay off: device workers run in bubblewrap, which needs user namespaces and mounts a
 *       fresh {@code /proc}; the kernel refuses that mount in a user namespace where parts of {@code /proc} are
 *       over-mounted ("bwrap: Can't mount proc on /newroot/proc: Operation not permitted").</li>
 *   <li>{@code RestrictRealtime=yes} unless the config sets {@code scheduler.realtime}: {@code OsPriority} uses nice
 *       values and {@code SCHED_IDLE}; with {@code realtime}, critical guests' threads run under SCHED_FIFO.</li>
 *   <li>Devices are left open (no {@code DeviceAllow}, no {@code PrivateDevices}): GPU runtimes open
 *       {@code /dev/dri/renderD*}, {@code /dev/nvidia*}, {@code /dev/kfd} and more, and regions live in
 *       {@code /dev/shm}, which QEMU must see.</li>
 * </ul>
 */
final class ServiceUnit {
    static final String NAME = "ferry-host.service";
    static final Path DEFAULT_DIR = Path.of("/etc/systemd/system");
    static final Path RUNTIME_DIR = Path.of("/run/ferry");
    /** The systemd release that knows {@code FileDescriptorStorePreserve=}. */
    static final int PRESERVE_SINCE = 254;

    private ServiceUnit() {
    }

    /**
     * The unit for a host run as {@code command} (absolute program, then its arguments, ending in
     * {@code host --config CONFIG}) with {@code cfg}, the config that file holds now; {@code docs} is the
     * operations guide, or null; {@code systemdVersion} the machine's systemd (0: unknown).
     */
    static String render(List<String> command, HostConfig cfg, Path docs, int systemdVersion) {
        if (command.isEmpty() || !command.getFirst().startsWith("/")) {
            throw new IllegalArgumentException("ExecStart needs an absolute program, not " + command);
        }
        StringBuilder u = new StringBuilder(4096);
        u.append("# ").append(NAME).append(": the Ferry host, written by `ferry install-service`.\n")
                .append("# Enable it:  systemctl daemon-reload && systemctl enable --now ferry-host\n")
                .append("# Reload the config (apply guest changes):  systemctl reload ferry-host\n")
                .append("# Why each setting: docs/operations.md, \"Running as a service\".\n\n");
        u.append("[Unit]\n")
                .append("Description=Ferry host: accelerators shared with guests over shared memory\n");
        if (docs != null) {
            u.append("Documentation=").append(escapeSpecifiers("file://" + docs.toAbsolutePath().normalize()
                    .toString().replace(" ", "%20"))).append('\n');
        }
        u.append("After=network.target\n\n");

        u.append("[Service]\n")
                .append("# simple, not notify: the host sends no READY=1. It may use NOTIFY_SOCKET for FDSTORE=1\n")
                .append("# (region memfds kept across restarts), which needs NotifyAccess and a store size.\n")
                .append("Type=simple\n")
                .append("NotifyAccess=main\n")
                .append("FileDescriptorStoreMax=256\n");
        if (systemdVersion == 0 || systemdVersion >= PRESERVE_SINCE) {
            u.append("# Keep the stored region memfds over a stop and start too (systemd 254 and later).\n")
                    .append("FileDescriptorStorePreserve=yes\n");
        } else {
            u.append("# FileDescriptorStorePreserve=yes needs systemd ").append(PRESERVE_SINCE).append("; this is ")
                    .append(systemdVersion).append(": stored memfds last across restarts, not a stop and start.\n");
        }
        u
                .append("ExecStart=").append(execLine(command)).append('\n')
                .append("# SIGHUP re-reads the config and applies the difference (guests added, removed, changed).\n")
                .append("ExecReload=/bin/kill -HUP $MAINPID\n")
                .append("Restart=on-failure\n")
                .append("RestartSec=2s\n")
                .append("# SIGTERM to the host only: it stops its device workers and sessions itself and exits 0;\n")
                .append("# anything still in the cgroup after that (a stuck worker) gets SIGKILL.\n")
                .append("KillMode=mixed\n")
                .append("TimeoutStopSec=30s\n")
                .append("# GPU runtimes pin memory; regions are shared memory.\n")
                .append("LimitMEMLOCK=infinity\n")
                .append("LimitNOFILE=65536\n");
        for (Path dir : createDirs(cfg)) {
            // '+': outside the sandbox, so that a directory under a read-only tree can be made before the host starts
            u.append("ExecStartPre=+/bin/mkdir -p ").append(quote(dir.toString(), false)).append('\n');
        }
        u.append("# The TLS listeners' certificate authority (its key is the host's most precious file).\n")
                .append("ExecStartPre=+/bin/mkdir -p -m 0700 ").append(quote(tlsDir(cfg).toString(), false)).append('\n');
        u.append("# The guest socket's directory, kept across restarts.\n")
                .append("RuntimeDirectory=ferry\n")
                .append("RuntimeDirectoryMode=0755\n")
                .append("RuntimeDirectoryPreserve=restart\n")
                .append("# Kernel caches of the host's OpenCL runtimes (the device workers have their own /tmp).\n")
                .append("CacheDirectory=ferry\n")
                .append("Environment=XDG_CACHE_HOME=/var/cache/ferry POCL_CACHE_DIR=/var/cache/ferry/pocl "
                        + "CUDA_CACHE_PATH=/var/cache/ferry/nv\n");
        Path bin = Path.of(command.getFirst()).getParent(); // the unit's JDK, which need not be this one
        Path jsig = bin == null || bin.getParent() == null ? null
                : io.ferry.spi.sandbox.FaultHandlers.chainingLibrary(bin.getParent());
        if (jsig != null && !jsig.toString().matches(".*[\\s:\"%$\\\\].*")) {
            u.append("# The JVM keeps its fault handlers when PoCL's LLVM installs its own (docs/security.md).\n")
                    .append("Environment=LD_PRELOAD=").append(jsig).append('\n');
        }
        u.append('\n');

        u.append("# Hardening. Device workers run in bubblewrap (user namespaces, a fresh /proc): so\n")
                .append("# RestrictNamespaces, PrivateUsers, ProtectKernelTunables, ProtectKernelLogs and ProtectProc\n")
                .append("# stay off (the kernel refuses bwrap's /proc mount where /proc is partly over-mounted).\n")
                .append("NoNewPrivileges=yes\n")
                .append("ProtectSystem=strict\n");
        for (Path p : readWritePaths(cfg)) {
            u.append("ReadWritePaths=-").append(quote(p.toString(), false)).append('\n');
        }
        boolean underHome = underHome(command, cfg);
        if (underHome) {
            u.append("# read-only, not yes: the JDK, ferry.jar or the config lies under /home, /root or /run/user.\n")
                    .append("ProtectHome=read-only\n");
        } else {
            u.append("ProtectHome=yes\n");
        }
        if (underTmp(command, cfg)) {
            u.append("# PrivateTmp off: the JDK, ferry.jar, the config or a region lies under /tmp or /var/tmp.\n")
                    .append("PrivateTmp=no\n");
        } else {
            u.append("PrivateTmp=yes\n");
        }
        u.append("ProtectKernelTunables=no\n")
                .append("ProtectKernelModules=yes\n")
                .append("ProtectControlGroups=yes\n")
                .append("RestrictSUIDSGID=yes\n")
                .append("LockPersonality=yes\n")
                .append(cfg.scheduling().realtime()
                        ? "# scheduler.realtime: critical guests' threads run under SCHED_FIFO (RealTime), so realtime\n"
                        + "# policies stay allowed; root holds CAP_SYS_NICE. LimitMEMLOCK=infinity lets mlockall work.\n"
                        : "# Critical guests get nice -10 and best-effort ones SCHED_IDLE (OsPriority): no realtime\n"
                        + "# policy unless scheduler.realtime is set, so this holds for every class.\n"
                        + "RestrictRealtime=yes\n")
                .append("# MemoryDenyWriteExecute stays off: the JVM compiles code at run time.\n")
                .append("# Devices stay open (no DeviceAllow, no PrivateDevices): OpenCL/CUDA runtimes open\n")
                .append("# /dev/dri/renderD*, /dev/nvidia*, /dev/nvidia-uvm, /dev/kfd; QEMU must see regions in /dev/shm.\n")
                .append("# Runs as root: raising critical guests' priority needs CAP_SYS_NICE.\n\n");
        u.append("[Install]\nWantedBy=multi-user.target\n");
        return u.toString();
    }

    /** The ExecStart value: each argument plain when it can be, else double-quoted with C escapes. */
    static String execLine(List<String> command) {
        List<String> words = new ArrayList<>();
        for (String a : command) {
            words.add(quote(a, true));
        }
        return String.join(" ", words);
    }

    /**
     * One word of a unit file line: plain when it holds only safe characters, else in double quotes with
     * {@code \} and {@code "} escaped. {@code %} is always doubled (systemd's specifiers); in ExecStart
     * ({@code exec}) {@code $} is doubled too (else it names an environment variable).
     */
    static String quote(String word, boolean exec) {
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("a unit file cannot hold a control character: " + word.strip());
            }
        }
        String w = escapeSpecifiers(word);
        if (exec) {
            w = w.replace("$", "$$");
        }
        if (!w.isEmpty() && w.matches("[A-Za-z0-9_./:=+,@%$-]+")) {
            return w;
        }
        return "\"" + w.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String escapeSpecifiers(String s) {
        return s.replace("%", "%%");
    }

    /** What the host writes: regions, both sockets' directories, the software TEE's state, /run/ferry. */
    static List<Path> readWritePaths(HostConfig cfg) {
        Set<Path> out = new LinkedHashSet<>();
        out.add(abs(cfg.regionDir()));
        out.add(abs(cfg.adminSocket()).getParent());
        out.add(abs(cfg.guestSocket()).getParent());
        if (cfg.tee() != null) {
            out.add(abs(cfg.tee().dir()));
        }
        out.add(tlsDir(cfg));
        if (cfg.net().vsock() != null) {
            out.add(abs(cfg.net().vsock().socketPath()).getParent()); // the host binds (and replaces) the socket there
        }
        out.add(RUNTIME_DIR);
        out.remove(null);
        return List.copyOf(out);
    }

    /**
     * The TLS listeners' CA directory as the host under this unit finds it: {@code tls-dir}, else the default (the
     * unit passes no {@code FERRY_TLS_DIR}). Always writable, so that adding {@code listen:} later needs no new unit;
     * made 0700 before the host starts (the CA key lives there).
     */
    static Path tlsDir(HostConfig cfg) {
        return abs(cfg.net().tlsDir() != null ? cfg.net().tlsDir()
                : io.ferry.host.net.tls.CertificateAuthority.DEFAULT_DIRECTORY);
    }

    /** Directories the host writes that systemd neither makes nor leaves writable: made before it starts. */
    static List<Path> createDirs(HostConfig cfg) {
        List<Path> out = new ArrayList<>();
        Path tls = tlsDir(cfg);
        for (Path p : readWritePaths(cfg)) {
            if (!p.startsWith("/dev") && !p.startsWith(RUNTIME_DIR) && !p.equals(tls)) {
                out.add(p);
            }
        }
        return out;
    }

    private static boolean underHome(List<String> command, HostConfig cfg) {
        return anyUnder(paths(command, cfg), "/home", "/root", "/run/user");
    }

    private static boolean underTmp(List<String> command, HostConfig cfg) {
        List<Path> ps = paths(command, cfg);
        ps.add(abs(cfg.regionDir()));
        return anyUnder(ps, "/tmp", "/var/tmp");
    }

    /** The absolute paths among the command's words ({@code -cp} lists split), and the config's paths. */
    private static List<Path> paths(List<String> command, HostConfig cfg) {
        List<Path> out = new ArrayList<>();
        for (String w : command) {
            String v = w.contains("=") && w.startsWith("-") ? w.substring(w.indexOf('=') + 1) : w;
            for (String part : v.split(":")) {
                if (part.startsWith("/")) {
                    out.add(Path.of(part).normalize());
                }
            }
        }
        out.addAll(readWritePaths(cfg));
        return out;
    }

    private static boolean anyUnder(List<Path> paths, String... roots) {
        for (Path p : paths) {
            for (String r : roots) {
                if (p.startsWith(r)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Path abs(Path p) {
        return p == null ? null : p.toAbsolutePath().normalize();
    }
}
