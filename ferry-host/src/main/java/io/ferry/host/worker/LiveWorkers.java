package io.ferry.host.worker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every device worker process this JVM started and that still runs, with the host (its worker directory) and the
 * backend it serves: what lets the host confirm that no worker of a backend is left (an operator's
 * {@code release-device}, docs/vfio.md). A worker leaves the list when its sandbox process and every process under
 * it (the worker's JVM, in namespaces of its own) are gone.
 */
public final class LiveWorkers {
    /** One worker: its host's worker directory, the backend it serves, its guest, its sandbox process. */
    public record Worker(Path workDir, String backend, String guest, ProcessHandle process) { }

    private static final Set<Worker> LIVE = ConcurrentHashMap.newKeySet();

    private LiveWorkers() {
    }

    /** Records a started worker until its process ends. */
    public static void add(Path workDir, String backend, String guest, Process process) {
        Worker w = new Worker(workDir.toAbsolutePath().normalize(), backend, guest, process.toHandle());
        LIVE.add(w);
        process.onExit().thenRun(() -> LIVE.remove(w));
    }

    /** The workers of the host whose worker directory is {@code workDir} that serve {@code backend} now. */
    public static List<Worker> of(Path workDir, String backend) {
        Path dir = workDir.toAbsolutePath().normalize();
        List<Worker> out = new ArrayList<>();
        for (Worker w : LIVE) {
            if (w.workDir.equals(dir) && w.backend.equals(backend) && w.process.isAlive()) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * The processes of {@code workers}: each sandbox process and every process under it, as they are now (taken
     * before the workers are stopped: once the sandbox dies, its children are no longer its descendants).
     */
    public static List<ProcessHandle> processes(List<Worker> workers) {
        List<ProcessHandle> out = new ArrayList<>();
        for (Worker w : workers) {
            out.add(w.process);
            w.process.descendants().forEach(out::add);
        }
        return out;
    }
}
