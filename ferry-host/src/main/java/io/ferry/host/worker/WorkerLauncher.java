package io.ferry.host.worker;

import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.Handshake;
import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * Starts a guest's device worker: its private control region, its sandboxed process, and the connect handshake
 * over the control region ({@link Handshake}); what runs after is {@link WorkerClient}'s.
 */
public final class WorkerLauncher {
    private static final Logger LOG = Logger.getLogger("ferry.host");

    private WorkerLauncher() {
    }

    /** A start that failed with a reason for the guest, out of the handshake's wait. */
    private static final class StartFailure extends RuntimeException {
        final BackendException failure;

        StartFailure(BackendException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    /**
     * Starts a worker for {@code guest}, in its sandbox ({@link WorkerSandbox}), that serves {@code backend}'s devices
     * with the guest's region's heap, its threads at the CPU priority of {@code schedClass} (null: leave it).
     * {@code guestRegion} is a path the host can open read-write (a region file, or {@code /proc/<host>/fd/<n>} of a
     * memfd): the worker receives it as an open descriptor, never as a path, and maps only the heap at
     * {@code heapOffset}, {@code heapSize}: the host's figures, not the region header, which the guest can rewrite.
     * {@code waitLimitNanos} (0: none) bounds each wait for device work (finish, event wait): the guest's
     * overrunLimit where no scheduler times its commands one by one (policy fifo).
     */
    static WorkerClient start(String backend, String guest, Path guestRegion, long heapOffset, long heapSize,
                                     Path workDir,
                                     io.ferry.host.sched.SchedClass schedClass, RealTime.Settings rt,
                                     io.ferry.host.config.HostConfig.WorkerLimits limits, long waitLimitNanos,
                                     boolean pinDeviceThreads)
            throws BackendException {
        List<String> workerArgs = new ArrayList<>(List.of(Long.toString(heapOffset), Long.toString(heapSize),
                backend, guest));
        if (schedClass != null) {
            workerArgs.add(schedClass.name());
            workerArgs.add(rt.encode());
        }
        Launched w = launch(guest, guestRegion, workDir, limits, pinDeviceThreads, WorkerMain.class.getName(),
                workerArgs, backend);
        LiveWorkers.add(workDir, backend, guest, w.process());
        WorkerClient c = new WorkerClient(guest, w.control(), w.process(), limits.compileTimeNanos());
        c.waitLimitNanos(waitLimitNanos);
        return c;
    }

    /** A started worker: its control region (host side) and its process. */
    public record Launched(Region control, Process process) {
        /** Stops the worker at once (SIGKILL) and waits up to 2 s for it to be gone; unmaps the control region. */
        public void kill() {
            process.destroyForcibly();
            try {
                process.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            control.close();
        }
    }

    /**
     * Starts a worker process in its sandbox with {@code workerArgs} after the two region descriptors, and waits
     * for its connect handshake on the new control region.
     */
    public static Launched launch(String guest, Path guestRegion, Path workDir,
                                  io.ferry.host.config.HostConfig.WorkerLimits limits, boolean pinDeviceThreads,
                                  String mainClass, List<String> workerArgs, String what) throws BackendException {
        Region control = null;
        Process process = null;
        try {
            if (!Files.isDirectory(workDir)) {
                Files.createDirectories(workDir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path file = workDir.resolve(guest + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong())
                    + ".worker");
            // records up to half a ring: requests as large as a guest's (a program source), answers of 32 KiB (a cut log)
            control = Region.create(file, guest, new RegionLayout(256 * 1024, 64 * 1024, 64 * 1024), null);
            long nonce = Handshake.request(control, ProcessHandle.current().pid());
            List<String> cmd;
            try {
                cmd = WorkerSandbox.command(guestRegion, file, WorkerSandbox.seccompFile(file),
                        Files.size(guestRegion), limits, pinDeviceThreads, mainClass, workerArgs);
            } catch (io.ferry.host.config.HostConfig.ConfigException e) {
                throw new BackendException(Status.DEVICE_LOST, e.getMessage());
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            pb.environment().clear(); // bwrap sets the worker's own (--clearenv); prlimit and sh need none
            process = pb.start();
            WorkerOutput.pump(guest, process);
            long start = System.nanoTime();
            Process p = process;
            try {
                Handshake.awaitAck(control, nonce, new BackoffIdleStrategy(0, 0, 100, 100_000, 5_000_000), waited -> {
                    if (!p.isAlive()) {
                        throw new StartFailure(new BackendException(Status.DEVICE_LOST, "the device worker of guest '"
                                + guest + "' exited at start (exit code " + p.exitValue() + "; the host's log has its "
                                + "output); its address space is limited to workerMemory "
                                + io.ferry.host.config.ConfigUnits.formatSize(limits.memoryBytes()) + " plus the region: raise "
                                + "workerMemory if the JVM and PoCL need more on this machine"));
                    }
                    if (waited > WorkerClient.START_TIMEOUT_NANOS) {
                        throw new StartFailure(new BackendException(Status.DEVICE_LOST, "the device worker of guest '"
                                + guest + "' did not start within " + WorkerClient.START_TIMEOUT_NANOS / 1_000_000_000
                                + " s"));
                    }
                });
            } catch (StartFailure f) {
                throw f.failure;
            }
            Files.deleteIfExists(file); // both sides have it mapped; nobody else needs to find it
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".bpf")); // loaded before the JVM ran
            long pid = process.pid();
            long ms = (System.nanoTime() - start) / 1_000_000;
            LOG.info(() -> "guest " + guest + ": device worker started in its sandbox in " + ms + " ms (bwrap pid "
                    + pid + ", " + what + ")");
            return new Launched(control, process);
        } catch (IOException | RuntimeException e) {
            cleanup(control, process);
            throw new BackendException(Status.DEVICE_LOST, "could not start the device worker of guest '" + guest
                    + "': " + e.getMessage(), e);
        } catch (BackendException e) {
            cleanup(control, process);
            throw e;
        }
    }

    private static void cleanup(Region control, Process process) {
        if (process != null) {
            process.destroyForcibly();
        }
        if (control != null) {
            Path p = control.path();
            control.close();
            try {
                Files.deleteIfExists(p.resolveSibling(p.getFileName() + ".bpf"));
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: the file lives in the host's private directory
            }
        }
    }

}
