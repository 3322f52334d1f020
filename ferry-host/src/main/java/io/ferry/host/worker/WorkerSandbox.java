package io.ferry.host.worker;

import io.ferry.host.config.HostConfig;
import io.ferry.spi.sandbox.Bubblewrap;
import io.ferry.spi.sandbox.SeccompFilter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * How a guest's device worker is put in its sandbox: Debian's bubblewrap ({@code bwrap}, the sandbox Flatpak uses),
 * never a hand-made one. The launch chain, all {@code exec}s so the host's {@link Process} is bwrap itself:
 *
 * <pre>
 *   /bin/sh -c 'exec 3&lt;&gt;"$1" 4&lt;&gt;"$2" 5&lt;"$3"; shift 3; exec "$@"' sh REGION CONTROL CONTROL.bpf \
 *     prlimit --as=M --core=0 --fsize=F [--cpu=S] -- \
 *     bwrap --unshare-all --die-with-parent --disable-userns --uid 60000 --gid 60000 --cap-drop ALL \
 *           --ro-bind /usr /usr (the /lib*, /bin, /sbin links or binds) --ro-bind-try /etc/ld.so.cache, /etc/OpenCL,
 *           /etc/alternatives; --proc /proc --dev /dev --ro-bind /dev/null /dev/tty --size 256MiB --tmpfs /tmp (PoCL's
 *           kernel cache); then the JDK and every class path entry read-only (on top, so a checkout under /tmp works);
 *           --clearenv --setenv (PATH, HOME, LANG, MALLOC_ARENA_MAX, POCL_CACHE_DIR=/tmp/pocl, the host's POCL_*,
 *           POCL_AFFINITY=1 where {@link DeviceThreadPinning} says so)
 *           --seccomp 5 --chdir /tmp -- java ... WorkerMain /proc/self/fd/4 /proc/self/fd/3 BACKEND GUEST [CLASS]
 * </pre>
 *
 * <p>The guest's region and the worker's control region reach the worker only as inherited descriptors 3 and 4:
 * the region's path (a file, or {@code /proc/<host>/fd/<n>} for a memfd) is opened by the shell, outside the
 * sandbox, and nothing of the region directory, the config, the TEE directory, {@code /root} or {@code /home} is
 * mounted inside. Nothing on the host is writable from inside: a JVM crash report goes to the worker's stderr
 * ({@code -XX:+ErrorFileToStderr}), which the host reads with a bound (see {@link WorkerClient}); the one
 * exception is a diagnostic the operator turns on in the host's environment ({@link #RECORD_ENV}). See
 * docs/security.md, "Device worker sandbox".
 */
public final class WorkerSandbox {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** The worker's uid and gid inside its user namespace: an id no account of the host has. */
    public static final int WORKER_UID = Bubblewrap.SANDBOX_UID;
    /** The size of the worker's private /tmp (tmpfs). */
    static final long TMP_BYTES = 256L << 20;
    /** The largest file a worker may write (RLIMIT_FSIZE): kernel binaries in its cache, never more. */
    static final long FILE_BYTES = 256L << 20;
    private static volatile String checked;
    /**
     * Diagnostics: a directory where every device worker keeps a Java Flight Recording (docs/operations.md,
     * "Profiling a device worker"). The one thing the sandbox then makes writable on the host, so only for a
     * developer's or operator's investigation, never in service.
     */
    static final String RECORD_ENV = "FERRY_WORKER_JFR";
    /** With {@link #RECORD_ENV}: a JFR method-trace filter ({@code a.B;c.D::m}), every call of those traced. */
    static final String TRACE_ENV = "FERRY_WORKER_JFR_TRACE";
    private static volatile String recordingsWarned;
    private static volatile String traceWarned;

    private WorkerSandbox() {
    }

    /**
     * Checks, once per JVM, that bubblewrap is there and can make a sandbox on this machine; throws
     * {@link HostConfig.ConfigException} naming what failed and the fix, so the host refuses {@code isolation: process}
     * rather than run guest kernels unsandboxed.
     */
    public static synchronized void check() {
        if (checked != null) {
            return;
        }
        String bwrap = Bubblewrap.find();
        String refusal = selfCheck(bwrap);
        if (refusal != null) {
            throw new HostConfig.ConfigException(refusal);
        }
        if (!SeccompFilter.supported()) {
            LOG.warning("device worker sandbox: no seccomp filter on " + System.getProperty("os.arch")
                    + " (written for x86-64); namespaces and limits still apply");
        }
        checked = bwrap;
    }

    /** Why {@code bwrap} (a path, or null when none was found) cannot sandbox workers here; null when it can. */
    static String selfCheck(String bwrap) {
        return Bubblewrap.selfCheck(bwrap, "isolation: process", "device workers",
                "set isolation: inprocess knowing guest kernels then run inside the host");
    }

    /**
     * Writes the seccomp program (0600) next to a worker's control file, at {@code controlFile + ".bpf"}; returns it,
     * or null where there is no filter. Deleted with the control file once the worker runs.
     */
    static Path seccompFile(Path controlFile) throws IOException {
        if (!SeccompFilter.supported()) {
            return null;
        }
        return Bubblewrap.writeSeccomp(controlFile.resolveSibling(controlFile.getFileName() + ".bpf"));
    }

    /**
     * The whole launch chain of a worker. {@code workerArgs} follow the main class: what {@link WorkerMain} takes
     * after its two region paths.
     */
    static List<String> command(Path guestRegion, Path control, Path seccomp, long regionBytes,
                                HostConfig.WorkerLimits limits, List<String> workerArgs) {
        return command(guestRegion, control, seccomp, regionBytes, limits, false, WorkerMain.class.getName(),
                workerArgs);
    }

    /**
     * As above, running {@code mainClass} (given the two region descriptors' paths, then {@code workerArgs});
     * {@code pinDeviceThreads}: PoCL pins its threads one per CPU ({@link DeviceThreadPinning}).
     */
    static List<String> command(Path guestRegion, Path control, Path seccomp, long regionBytes,
                                HostConfig.WorkerLimits limits, boolean pinDeviceThreads, String mainClass,
                                List<String> workerArgs) {
        check();
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c",
                "exec 3<>\"$1\" 4<>\"$2\" 5<\"$3\"; shift 3; exec \"$@\"", "sh", guestRegion.toString(),
                control.toString(), seccomp == null ? "/dev/null" : seccomp.toString()));
        // RLIMIT_AS counts every mapping: the guest's region comes on top of the worker's own memory
        long as = limits.memoryBytes() + regionBytes;
        cmd.addAll(List.of("prlimit", "--as=" + as, "--core=0", "--fsize=" + FILE_BYTES));
        if (limits.cpuTimeNanos() > 0) {
            cmd.add("--cpu=" + Math.max(1, limits.cpuTimeNanos() / 1_000_000_000L));
        }
        cmd.add("--");
        Set<String> classPath = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!e.isBlank()) {
                classPath.add(Path.of(e).toAbsolutePath().normalize().toString());
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("POCL_CACHE_DIR", "/tmp/pocl");
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            // the operator's PoCL settings (device count, threads, debug) apply in the worker too
            if (e.getKey().startsWith("POCL_") && !e.getKey().equals("POCL_CACHE_DIR")
                    && e.getKey().matches("[A-Z0-9_]+")) {
                env.put(e.getKey(), e.getValue());
            }
        }
        if (pinDeviceThreads) {
            env.put("POCL_AFFINITY", "1");
        }
        Path recordings = recordings(System.getenv(RECORD_ENV));
        cmd.addAll(Bubblewrap.java(checked, TMP_BYTES, classPath, recordings == null ? List.of()
                : List.of("--bind", recordings.toString(), recordings.toString()), env, seccomp != null));
        if (recordings != null) {
            cmd.addAll(recordingOptions(recordings, System.getenv(TRACE_ENV)));
        }
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xss16m", "-Xmx256m",
                "-XX:-UsePerfData", "-cp", String.join(java.io.File.pathSeparator, classPath),
                mainClass, "/proc/self/fd/4", "/proc/self/fd/3"));
        cmd.addAll(workerArgs);
        return cmd;
    }

    /** The directory {@code value} names if it is an absolute, existing directory, else null (said once). */
    static Path recordings(String value) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        Path dir = Path.of(value);
        if (dir.isAbsolute() && java.nio.file.Files.isDirectory(dir) && value.matches("[^,:;=\\s]+")) {
            return dir.normalize();
        }
        if (!value.equals(recordingsWarned)) {
            recordingsWarned = value;
            LOG.warning(RECORD_ENV + "=" + value + " is ignored: give an absolute path of an existing directory, "
                    + "without spaces, commas, colons, semicolons or '='; workers start without a recording");
        }
        return null;
    }

    /**
     * The worker JVM's options for a recording into {@code dir}: a disk repository of 1 MiB chunks, each complete
     * once the next begins, so what the worker recorded stays readable though the host kills it at the session's
     * end ({@code jfr print}, {@code jfr summary}; the last chunk may be unreadable). {@code trace}: a method-trace
     * filter, or null.
     */
    static List<String> recordingOptions(Path dir, String trace) {
        String start = "-XX:StartFlightRecording:settings=profile";
        if (trace != null && trace.matches("[^,\\s]+")) {
            start += ",method-trace=" + trace;
        } else if (trace != null && !trace.isEmpty() && !trace.equals(traceWarned)) {
            traceWarned = trace; // said once, as for the directory
            LOG.warning(TRACE_ENV + " is ignored: a method-trace filter has no commas or spaces (a.B;c.D::m)");
        }
        return List.of(start, "-XX:FlightRecorderOptions:repository=" + dir + ",maxchunksize=1M");
    }
}
