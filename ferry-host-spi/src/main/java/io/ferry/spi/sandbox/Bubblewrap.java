package io.ferry.spi.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What every Ferry sandbox has in common, whoever runs in it (a device worker of the host, a TA instance of the
 * software TEE): Debian's bubblewrap ({@code bwrap}) with every namespace new (mount, pid, net, ipc, uts, cgroup,
 * user), no way to make more, a uid and gid no account of the host has, no capabilities, death with its parent,
 * no way to the terminal (below); a read-only system ({@code /usr} and its links, the loader's and PoCL's files in {@code /etc});
 * the JDK and the class path read-only; the seccomp program of {@link SeccompFilter} on a descriptor. Each user
 * adds its own mounts (nothing of the host's state directories is there unless bound) and its own limits.
 *
 * <p><b>No new session.</b> A sandbox stays in the host's session on purpose. Where the kernel groups tasks by
 * session for the CPU scheduler ({@code kernel.sched_autogroup_enabled=1}, the default on most distributions), each
 * session is a group with a fair share of the CPU, and a thread's nice level or {@code SCHED_IDLE} only counts
 * inside its group. With {@code --new-session} every device worker was a group of its own, so a best-effort
 * worker under {@code SCHED_IDLE} took as much CPU as a critical worker at nice -10 (docs/scheduling.md). What
 * {@code --new-session} guarded against, a sandbox typing into the host's terminal ({@code TIOCSTI}, CVE-2017-5226),
 * is closed instead: the sandbox has no descriptor of a terminal (its standard streams are pipes or
 * {@code /dev/null}), its {@code /dev/tty} is {@code /dev/null}, and the seccomp filter denies {@code TIOCSTI} and
 * {@code TIOCLINUX}.
 */
public final class Bubblewrap {
    /** The sandboxed process's uid and gid inside its user namespace: an id no account of the host has. */
    public static final int SANDBOX_UID = 60000;

    private Bubblewrap() {
    }

    /** The installed {@code bwrap}, or null. */
    public static String find() {
        for (String dir : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
            Path p = Path.of(dir, "bwrap");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /** {@code bwrap} and the namespace and privilege options every sandbox starts with. */
    public static List<String> base(String bwrap) {
        return new ArrayList<>(List.of(bwrap, "--unshare-all", "--unshare-user", "--die-with-parent",
                "--disable-userns", "--uid", String.valueOf(SANDBOX_UID), "--gid", String.valueOf(SANDBOX_UID),
                "--cap-drop", "ALL"));
    }

    /**
     * Why {@code bwrap} (a path, or null when none was found) cannot make a sandbox here; null when it can. The
     * answer names {@code setting} (what needs the sandbox), {@code what} it sandboxes, and {@code otherwise} (the
     * way out, and its price).
     */
    public static String selfCheck(String bwrap, String setting, String what, String otherwise) {
        if (bwrap == null || !Files.isExecutable(Path.of(bwrap))) {
            return setting + " needs bubblewrap (bwrap) to sandbox " + what + ", and it is not installed"
                    + (bwrap == null ? "" : " (no " + bwrap + ")") + "; install it (apt-get install -y bubblewrap, "
                    + "or run ./ferry, which installs it when run as root) or " + otherwise;
        }
        // the same namespace and privilege options as a real launch, so what this bwrap lacks shows here
        List<String> cmd = base(bwrap);
        systemMounts(cmd);
        cmd.addAll(List.of("--", "/usr/bin/true"));
        String why;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            boolean done = p.waitFor(10, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            String out = done ? new String(p.getInputStream().readNBytes(4096)).strip() : "";
            why = !done ? "did not finish within 10 s" : p.exitValue() != 0 ? "exited with " + p.exitValue()
                    + (out.isEmpty() ? "" : ": " + out) : null;
        } catch (IOException e) {
            why = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted";
        }
        return why == null ? null : setting + " needs bubblewrap to sandbox " + what + ", and its self-check failed ("
                + String.join(" ", cmd.subList(0, 12)) + " ... /usr/bin/true: " + why + "); user namespaces may be "
                + "disabled (sysctl user.max_user_namespaces) or restricted by AppArmor, or this bubblewrap is older "
                + "than 0.8; fix that, or " + otherwise;
    }

    /** The read-only system: /usr, the /lib*, /bin, /sbin links (or directories), and what PoCL reads in /etc. */
    public static void systemMounts(List<String> cmd) {
        cmd.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String top : List.of("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")) {
            Path p = Path.of(top);
            try {
                if (Files.isSymbolicLink(p)) {
                    cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), top));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    cmd.addAll(List.of("--ro-bind", top, top));
                }
            } catch (IOException e) {
                // not there on this machine: nothing to mount
            }
        }
        for (String etc : List.of("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/OpenCL",
                "/etc/alternatives")) {
            cmd.addAll(List.of("--ro-bind-try", etc, etc));
        }
        // hwloc (PoCL's CPU topology) and the JVM read the CPU list here; nothing else of /sys is mounted
        cmd.addAll(List.of("--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"));
    }

    /** The JDK and each class path entry, read-only at their own paths (those under /usr are there already). */
    public static void javaMounts(List<String> cmd, Path javaHome, Collection<String> classPath) {
        if (!javaHome.startsWith("/usr/")) {
            cmd.addAll(List.of("--ro-bind", javaHome.toString(), javaHome.toString()));
        }
        for (String e : classPath) {
            if (!e.startsWith("/usr/")) {
                cmd.addAll(List.of("--ro-bind-try", e, e));
            }
        }
    }

    /**
     * A JVM in a sandbox, from {@code bwrap} to the options every sandboxed JVM takes (the caller adds its own, the
     * class path and the main class): {@link #base}, the read-only system, a fresh {@code /proc} and {@code /dev}
     * and a private {@code /tmp} of {@code tmpBytes} (first, so that a JDK or class path entry under {@code /tmp},
     * bound after it, lands on top of it), the JDK and {@code classPath}, the caller's {@code binds}, a cleared
     * environment (PATH, HOME, LANG, MALLOC_ARENA_MAX, then {@code env}, and LD_PRELOAD of the JDK's signal chaining
     * library, {@link FaultHandlers}), the seccomp program on descriptor 5 when
     * {@code seccomp}, and {@code /tmp} as the working directory.
     */
    public static List<String> java(String bwrap, long tmpBytes, Collection<String> classPath, List<String> binds,
                                    Map<String, String> env, boolean seccomp) {
        List<String> cmd = new ArrayList<>(base(bwrap));
        systemMounts(cmd);
        // no way to the host's terminal through /dev/tty (the class comment)
        cmd.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--ro-bind", "/dev/null", "/dev/tty", "--size",
                String.valueOf(tmpBytes), "--tmpfs", "/tmp"));
        Path javaHome = javaHome();
        javaMounts(cmd, javaHome, classPath);
        cmd.addAll(binds);
        cmd.addAll(List.of("--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
                "--setenv", "LANG", "C.UTF-8", "--setenv", "MALLOC_ARENA_MAX", "2"));
        env.forEach((k, v) -> cmd.addAll(List.of("--setenv", k, v)));
        Path chaining = FaultHandlers.chainingLibrary();
        if (chaining != null) { // the JVM keeps its fault handlers when a native library installs its own
            cmd.addAll(List.of("--setenv", "LD_PRELOAD", chaining.toString()));
        }
        if (seccomp) {
            cmd.addAll(List.of("--seccomp", "5"));
        }
        cmd.addAll(List.of("--chdir", "/tmp", "--", javaHome.resolve("bin/java").toString(),
                "-XX:CompressedClassSpaceSize=64m", "-XX:ReservedCodeCacheSize=64m", "-XX:-CreateCoredumpOnCrash",
                "-XX:+ErrorFileToStderr", "-Djava.io.tmpdir=/tmp"));
        return cmd;
    }

    /** The running JDK's home, absolute and normal. */
    public static Path javaHome() {
        return Path.of(System.getProperty("java.home")).toAbsolutePath().normalize();
    }

    /** Writes the seccomp program (mode 0600, a new file) to {@code file}; returns it, or null where there is none. */
    public static Path writeSeccomp(Path file) throws IOException {
        if (!SeccompFilter.supported()) {
            return null;
        }
        Files.write(file, SeccompFilter.program(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
