package io.ferry.tee.soft;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.sandbox.Bubblewrap;
import io.ferry.spi.sandbox.SeccompFilter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The sandbox of a TA instance's process, made like a device worker's ({@link Bubblewrap}, {@link SeccompFilter}):
 * every namespace new (so no network at all: a loopback-less net namespace), uid 60000, no capabilities, the seccomp
 * filter (no Unix or IP sockets, no ptrace, no mounts, no new namespaces), and rlimits: address space
 * {@link #ADDRESS_SPACE_BYTES}, CPU {@link #CPU_SECONDS} over the process's life, files of at most
 * {@link #FILE_BYTES}, no core dumps. The launch chain, all {@code exec}s so the host's {@link Process} is bwrap:
 *
 * <pre>
 *   /bin/sh -c 'exec 5&lt;"$1" 6&lt;&gt;"$2"; shift 2; exec "$@"' sh SECCOMP.bpf REGION  prlimit --as --cpu --fsize --core=0 -- \
 *     bwrap (namespaces) (read-only system, JDK, class path) --proc /proc --dev /dev --tmpfs /tmp (16 MiB) \
 *           --ro-bind IMAGE /tee/ta/UUID.ta  --bind LANE /tee/lane  --bind STORE /tee/store \
 *           --clearenv (PATH, HOME, LANG, MALLOC_ARENA_MAX) --seccomp 5 --chdir /tmp -- java ... TeeMain
 * </pre>
 *
 * <p>What the TA's process sees of the host is therefore its own signed image, its own lane file, and its own
 * (guest, TA) storage directory: not the root key, the signing key, the TA directory, other instances' lanes or
 * storage, nor any socket; of the regions only its own guest's, as descriptor 6, opened outside the sandbox (the
 * host names the windows it maps: the guest's direct lanes, {@link DirectLanes}). It keeps doing sealed storage itself, with the one derived key it gets on
 * stdin; both the key and the directory are its own only, so a TA that escapes its class loader gains nothing it
 * did not have (docs/tee.md, "Sandbox").
 */
final class TaSandbox {
    private static final Logger LOG = Logger.getLogger("ferry.tee");
    /** RLIMIT_AS: the JVM's heap (128 MiB), metaspace, code cache, stacks and the lane mapping, with room. */
    static final long ADDRESS_SPACE_BYTES = 1L << 30;
    /** RLIMIT_CPU over the process's life: a TA thread spinning between calls is ended in the end too. */
    static final long CPU_SECONDS = 3600;
    /** RLIMIT_FSIZE: sealed objects are at most 4 MiB. */
    static final long FILE_BYTES = 64L << 20;
    /** The size of the process's private /tmp. */
    static final long TMP_BYTES = 16L << 20;
    /** Where the instance's things are inside its sandbox. */
    static final String LANE = "/tee/lane";
    static final String TA_DIR = "/tee/ta";
    static final String STORE = "/tee/store";

    private static volatile String bwrap;

    private TaSandbox() {
    }

    /**
     * Checks, once per JVM, that bubblewrap can make a sandbox here; else refuses the software TEE naming the
     * cause and the fix (as the host refuses device workers without it).
     */
    static synchronized void check() throws BackendException {
        if (bwrap != null) {
            return;
        }
        String found = Bubblewrap.find();
        String refusal = refusal(found);
        if (refusal != null) {
            throw new BackendException(Status.UNSUPPORTED, refusal);
        }
        if (!SeccompFilter.supported()) {
            LOG.warning("soft-tee: no seccomp filter for TA instances on " + System.getProperty("os.arch")
                    + " (written for x86-64); namespaces and limits still apply");
        }
        bwrap = found;
    }

    /** Why {@code bwrap} (a path, or null) cannot sandbox TA instances here; null when it can. */
    static String refusal(String bwrap) {
        return Bubblewrap.selfCheck(bwrap, "the software TEE", "TA instances",
                "set isolation: none in the tee section of ferry.yaml (for tests only: TAs then run with the host's "
                        + "files, root key included, and its network)");
    }

    /** Writes the seccomp program into the private lane directory; null where there is none. */
    static Path seccomp(Path laneDir) throws IOException {
        return Bubblewrap.writeSeccomp(laneDir.resolve("ta-seccomp.bpf"));
    }

    /** The whole launch chain of one instance; {@code jvm} are the JVM's options and main class. */
    static List<String> command(Path seccomp, Path image, Path lane, Path store, Path region,
                                Collection<String> classPath, List<String> jvm) {
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", "exec 5<\"$1\" 6<>\"$2\"; shift 2; exec \"$@\"",
                "sh", seccomp == null ? "/dev/null" : seccomp.toString(), region == null ? "/dev/null"
                        : region.toString(), "prlimit", "--as=" + ADDRESS_SPACE_BYTES,
                "--cpu=" + CPU_SECONDS, "--fsize=" + FILE_BYTES, "--core=0", "--"));
        cmd.addAll(Bubblewrap.java(bwrap, TMP_BYTES, classPath, List.of("--ro-bind", image.toString(),
                TA_DIR + "/" + image.getFileName(), "--bind", lane.toString(), LANE, "--bind", store.toString(), STORE),
                Map.of(), seccomp != null));
        cmd.addAll(jvm);
        return cmd;
    }
}
