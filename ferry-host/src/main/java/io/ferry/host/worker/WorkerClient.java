package io.ferry.host.worker;

import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * The host's side of a guest's device worker: a {@link BackendSession} whose every call is a request to the worker
 * process ({@link WorkerMain}) over a private control region, answered before the call returns.
 *
 * <p>The worker runs guest code, so what it answers is untrusted: replies are framed by the hardened ring, must
 * echo the request's sequence number, carry a known status, and plausible values; device memory is accounted here
 * from the host's own records, not from the worker's figures. If the worker dies (a wild kernel, a crash) or breaks
 * the reply protocol, the call fails with {@link Status#DEVICE_LOST} and so does every later call: that guest's
 * device work has ended; nothing else is affected.
 */
public final class WorkerClient implements BackendSession {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    static final long START_TIMEOUT_NANOS = 60_000_000_000L;
    static final int MAX_KERNEL_ARGS = 4096;
    static final int MAX_DEFERRED = 1024;
    /** Longest message kept of a deferred failure (chars): with {@link #MAX_DEFERRED}, at most 2 MiB held. */
    static final int MAX_DEFERRED_MESSAGE = 1024;
    /** One-way requests tracked at most; at this many the next one first waits for the worker (a PING). */
    static final int MAX_OUTSTANDING = 1 << 16;

    private final String guest;
    private final Region control;
    private final Process process;
    private final long compileTimeNanos;
    private long waitLimitNanos;
    /** Set by {@link #cancel} (the host's watchdog thread): the waiting call ends the worker's work with it. */
    private volatile String cancelled;
    /** Set when the session closes this worker: a watchdog's cancel then only hastens the end. */
    private volatile boolean closing;
    private final SpscRing requests;
    private final SpscRing replies;
    private final Reply reply = new Reply();
    private final Map<Long, Long> buffers = new HashMap<>();
    /** One-way requests not yet known to be done (bounded by {@link #MAX_OUTSTANDING}; no object per request). */
    private final Outstanding outstanding = new Outstanding();
    private final ArrayDeque<DeferredFailure> failures = new ArrayDeque<>();
    /** Failures of one-way requests dropped because {@link #MAX_DEFERRED} were already waiting (the first are kept). */
    private long failuresDropped;
    private long awaited;
    private long callSeq;
    private long callOp;
    private long callArg;
    private long deviceMemory;
    private long seq;
    private String lost;

    WorkerClient(String guest, Region control, Process process, long compileTimeNanos) {
        this.guest = guest;
        this.control = control;
        this.process = process;
        this.compileTimeNanos = compileTimeNanos;
        this.requests = control.commandRing();
        this.replies = control.completionRing();
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
    public static WorkerClient start(String backend, String guest, Path guestRegion, long heapOffset, long heapSize,
                                     Path workDir,
                                     io.ferry.host.sched.SchedClass schedClass,
                                     io.ferry.host.config.HostConfig.WorkerLimits limits, long waitLimitNanos)
            throws BackendException {
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
            long nonce = ThreadLocalRandom.current().nextLong() | 1;
            control.connectRequest(nonce);
            List<String> workerArgs = new ArrayList<>(List.of(Long.toString(heapOffset), Long.toString(heapSize),
                    backend, guest));
            if (schedClass != null) {
                workerArgs.add(schedClass.name());
            }
            List<String> cmd;
            try {
                cmd = WorkerSandbox.command(guestRegion, file, WorkerSandbox.seccompFile(file),
                        Files.size(guestRegion), limits, workerArgs);
            } catch (io.ferry.host.config.HostConfig.ConfigException e) {
                throw new BackendException(Status.DEVICE_LOST, e.getMessage());
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            pb.environment().clear(); // bwrap sets the worker's own (--clearenv); prlimit and sh need none
            process = pb.start();
            WorkerOutput.pump(guest, process);
            long start = System.nanoTime();
            IdleStrategy idle = new BackoffIdleStrategy(0, 0, 100, 100_000, 5_000_000);
            while (control.connectAck() != nonce) {
                if (!process.isAlive()) {
                    throw new BackendException(Status.DEVICE_LOST, "the device worker of guest '" + guest
                            + "' exited at start (exit code " + process.exitValue() + "; the host's log has its "
                            + "output); its address space is limited to workerMemory "
                            + io.ferry.host.config.HostConfig.formatSize(limits.memoryBytes()) + " plus the region: raise "
                            + "workerMemory if the JVM and PoCL need more on this machine");
                }
                if (System.nanoTime() - start > START_TIMEOUT_NANOS) {
                    throw new BackendException(Status.DEVICE_LOST, "the device worker of guest '" + guest
                            + "' did not start within " + START_TIMEOUT_NANOS / 1_000_000_000 + " s");
                }
                idle.idle(0);
            }
            Files.deleteIfExists(file); // both sides have it mapped; nobody else needs to find it
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".bpf")); // loaded before the JVM ran
            long pid = process.pid();
            long ms = (System.nanoTime() - start) / 1_000_000;
            LOG.info(() -> "guest " + guest + ": device worker started in its sandbox in " + ms + " ms (bwrap pid "
                    + pid + ", " + backend + ")");
            WorkerClient c = new WorkerClient(guest, control, process, limits.compileTimeNanos());
            c.waitLimitNanos = waitLimitNanos;
            return c;
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

    /** The pid of the sandbox (bwrap); the worker's JVM is its descendant, in namespaces of its own. */
    public long pid() {
        return process.pid();
    }

    /**
     * Stops the guest's device work now (from another thread: the host's watchdog, for a command over the guest's
     * overrunLimit or a guest gone). The worker is killed; the call waiting on it ends with DEVICE_LOST at once, as
     * does every later one.
     */
    public void cancel() {
        cancel("was stopped by the host's watchdog (a device command over the guest's overrunLimit, or the guest gone)");
    }

    /** As {@link #cancel()}, with the reason the waiting call reports. */
    public void cancel(String why) {
        if (closing) {
            process.destroyForcibly(); // being closed anyway: no news
            return;
        }
        LOG.warning("guest " + guest + ": cancelling device work: killing worker " + process.pid() + ": " + why);
        cancelled = why;
        process.destroyForcibly();
    }

    // ---- the request/reply exchange ----

    /**
     * Sends a request. One-way requests return at once (the worker answers only if they fail; such failures are
     * collected as {@link DeferredFailure}s); others wait for their answer.
     */
    private Reply call(WorkerOp op, boolean oneWay, byte[] blob, MemorySegment blobSegment, long... args)
            throws BackendException {
        if (lost != null) {
            throw new BackendException(Status.DEVICE_LOST, lost);
        }
        if (oneWay && outstanding.size() >= MAX_OUTSTANDING) {
            call(WorkerOp.PING, false, null, null); // the host's bookkeeping stays bounded: wait for the worker
        }
        int blobLength = blob != null ? blob.length : blobSegment != null ? (int) blobSegment.byteSize() : 0;
        int length = Wire.CALL_HEADER_LENGTH + 8 * args.length + blobLength;
        if (length > requests.maxRecordLength()) {
            throw new BackendException(Status.INVALID_ARGUMENT, op + " request of " + length + " bytes is too large");
        }
        long at;
        while ((at = requests.tryClaim(op.code, length)) < 0) {
            String why = cancelled;
            if (why != null) {
                throw lose(op, why);
            }
            checkAlive(op);
            drain(op); // the worker may be blocked writing failure answers we have not read
            Thread.onSpinWait();
        }
        MemorySegment buf = requests.segment();
        long s = ++seq;
        Wire.putCallHeader(buf, at, s, oneWay ? 0 : Wire.FLAG_REPLY, blobLength);
        for (int i = 0; i < args.length; i++) {
            Wire.putArg(buf, at, i, args[i]);
        }
        long blobAt = at + Wire.CALL_HEADER_LENGTH + 8L * args.length;
        if (blob != null) {
            MemorySegment.copy(blob, 0, buf, ValueLayout.JAVA_BYTE, blobAt, blobLength);
        } else if (blobSegment != null) {
            MemorySegment.copy(blobSegment, 0, buf, blobAt, blobLength);
        }
        requests.publish();
        if (oneWay) {
            outstanding.add(s, callSeq, callOp, callArg);
            if ((s & 63) == 0) {
                drain(op);
            }
            return null;
        }
        IdleStrategy idle = op == WorkerOp.FINISH || op == WorkerOp.WAIT_EVENT || op == WorkerOp.BUILD_PROGRAM
                || op == WorkerOp.PING ? RingIdleStrategy.forDeviceWork(replies) : RingIdleStrategy.forAnswers(replies);
        int polls = 0;
        awaited = s;
        reply.seq = -1;
        long started = System.nanoTime();
        while (true) {
            String why = cancelled;
            if (why != null) {
                throw lose(op, why);
            }
            int n = drain(op);
            if (reply.seq == s) {
                outstanding.clear(); // served in order: everything before s is done
                if (reply.status != Status.OK) {
                    throw new BackendException(reply.status, reply.message);
                }
                return reply;
            }
            if (n == 0) {
                if ((++polls & 127) == 0) {
                    checkAlive(op);
                    long ran = System.nanoTime() - started;
                    if (waitLimitNanos > 0 && (op == WorkerOp.FINISH || op == WorkerOp.WAIT_EVENT)
                            && ran > waitLimitNanos) {
                        throw lose(op, "was stopped by the host: its device work ran " + ran / 1_000_000 + " ms, over "
                                + "the guest's overrunLimit of " + waitLimitNanos / 1_000_000 + " ms (under policy "
                                + "fifo each wait for device work is timed); split the work or raise overrunLimit");
                    }
                    if (op == WorkerOp.BUILD_PROGRAM && ran > compileTimeNanos) {
                        throw lose(op, "ran a program build for " + ran / 1_000_000 + " ms, over the compileTimeLimit "
                                + "of " + compileTimeNanos / 1_000_000 + " ms; simplify the program or raise "
                                + "compileTimeLimit in the host's config");
                    }
                }
                idle.idle(0);
            } else {
                idle.reset();
            }
        }
    }

    /** Reads whatever answers are there: the awaited one into {@link #reply}, failures of one-way requests aside. */
    private int drain(WorkerOp op) throws BackendException {
        int n;
        try {
            n = replies.poll(reply, 16);
        } catch (RingCorruptedException e) {
            throw lose(op, "broke the reply ring: " + e.getMessage());
        }
        if (reply.invalid != null) {
            throw lose(op, reply.invalid);
        }
        return n;
    }

    private void checkAlive(WorkerOp op) throws BackendException {
        if (!process.isAlive()) {
            int code = process.exitValue();
            String how = code > 128 ? "killed by signal " + (code - 128) + (code == 134 ? " (SIGABRT after a crash)"
                    : code == 139 ? " (SIGSEGV)" : code == 137 ? " (SIGKILL)" : "") : "exit code " + code;
            // the guest learns how its worker ended; the crash report (the worker's stderr) is in the host's log only
            throw lose(op, "died (" + how + ")");
        }
    }

    private BackendException lose(WorkerOp op, String what) {
        lost = "the device worker of guest '" + guest + "' (pid " + process.pid() + ") " + what + " during "
                + op + "; this guest's device work has ended: reconnect to start anew";
        // a worker stopped while it is being closed (its guest gone at the same time) is no news
        LOG.log(op == WorkerOp.CLOSE ? java.util.logging.Level.FINE : java.util.logging.Level.WARNING,
                "guest " + guest + ": " + lost);
        process.destroyForcibly();
        return new BackendException(Status.DEVICE_LOST, lost);
    }

    /**
     * Reads answers, validated, out of the ring's private copy: the awaited answer is kept; a failure of an
     * outstanding one-way request becomes a deferred failure; anything else breaks the protocol.
     */
    private final class Reply implements RecordHandler {
        long seq;
        Status status;
        long r0;
        long r1;
        String message;
        String invalid;

        @Override
        public void onRecord(int type, MemorySegment rec, int length) {
            if (invalid != null) {
                return;
            }
            if (length < Wire.COMPLETION_HEADER_LENGTH) {
                invalid = "sent an answer of " + length + " bytes";
                return;
            }
            int blob = Wire.blobLength(rec, 0);
            if (blob < 0 || Wire.COMPLETION_HEADER_LENGTH + (long) blob > length) {
                invalid = "sent an answer blob of " + blob + " bytes in a record of " + length;
                return;
            }
            long s = Wire.seq(rec, 0);
            int code = Wire.status(rec, 0);
            Status st = Status.of(code);
            if (st == null || st.code() != code) { // Status.of maps codes past its table to INTERNAL
                invalid = "answered request #" + s + " with status code " + code + ", which is no status: a worker "
                        + "protocol violation";
                return;
            }
            String text = blob == 0 ? "" : Wire.string(rec, Wire.COMPLETION_HEADER_LENGTH, blob);
            if (s == awaited) {
                seq = s;
                status = st;
                r0 = Wire.result(rec, 0, 0);
                r1 = Wire.result(rec, 0, 1);
                message = text;
                return;
            }
            // The failure of a one-way request: every outstanding request before it went well.
            outstanding.dropBefore(s);
            if (outstanding.isEmpty() || outstanding.firstSeq() != s || st == Status.OK) {
                invalid = "answered request #" + s + ", which is not outstanding";
                return;
            }
            long guestSeq = outstanding.firstGuestSeq();
            int guestOp = outstanding.firstGuestOp();
            long firstArg = outstanding.firstArg();
            outstanding.removeFirst();
            if (failures.size() >= MAX_DEFERRED && !creates(guestOp)) {
                // The earliest failures are the ones reported: keep them. A failed creation is always kept (the
                // host forgets the object by it); there are at most as many as the object quota.
                failuresDropped++;
                return;
            }
            failures.add(new DeferredFailure(guestSeq, guestOp, firstArg, st,
                    text.length() > MAX_DEFERRED_MESSAGE ? text.substring(0, MAX_DEFERRED_MESSAGE) + "..." : text));
        }
    }

    private static boolean creates(int guestOp) {
        io.ferry.protocol.Op op = io.ferry.protocol.Op.of(guestOp);
        return op != null && op.name().endsWith("_CREATE");
    }

    // ---- BackendSession ----

    @Override
    public void createContext(long context, int deviceIndex) throws BackendException {
        call(WorkerOp.CREATE_CONTEXT, true, null, null, context, deviceIndex);
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
        call(WorkerOp.CREATE_QUEUE, true, null, null, queue, context, profiling ? 1 : 0, priority);
    }

    @Override
    public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset)
            throws BackendException {
        call(WorkerOp.CREATE_BUFFER, true, null, null, buffer, context, size, accessFlags, heapOffset);
        buffers.put(buffer, size);
        deviceMemory += size;
    }

    @Override
    public void createProgram(long program, long context, SourceLanguage language, String source)
            throws BackendException {
        call(WorkerOp.CREATE_PROGRAM, true, Wire.utf8(source), null, program, context, language.code());
    }

    @Override
    public String buildProgram(long program, String options) throws BackendException {
        return call(WorkerOp.BUILD_PROGRAM, false, Wire.utf8(options), null, program).message;
    }

    @Override
    public int createKernel(long kernel, long program, String name) throws BackendException {
        long argc = call(WorkerOp.CREATE_KERNEL, false, Wire.utf8(name), null, kernel, program).r0;
        if (argc < 0 || argc > MAX_KERNEL_ARGS) {
            throw lose(WorkerOp.CREATE_KERNEL, "reported " + argc + " kernel arguments");
        }
        return (int) argc;
    }

    @Override
    public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
        call(WorkerOp.ARG_BUFFER, true, null, null, kernel, index, buffer);
    }

    @Override
    public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
        call(WorkerOp.ARG_VALUE, true, null, value, kernel, index);
    }

    @Override
    public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
        call(WorkerOp.ARG_LOCAL, true, null, null, kernel, index, bytes);
    }

    @Override
    public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        call(WorkerOp.WRITE, true, null, null, queue, buffer, offset, size, heapOffset, event);
    }

    @Override
    public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        call(WorkerOp.READ, true, null, null, queue, buffer, offset, size, heapOffset, event);
    }

    @Override
    public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event)
            throws BackendException {
        call(WorkerOp.COPY, true, null, null, queue, src, dst, srcOffset, dstOffset, size, event);
    }

    @Override
    public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
            throws BackendException {
        call(WorkerOp.FILL, true, null, pattern, queue, buffer, offset, size, event);
    }

    @Override
    public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local,
                              long event) throws BackendException {
        long[] a = new long[14];
        a[0] = queue;
        a[1] = kernel;
        a[2] = dims;
        for (int i = 0; i < dims; i++) {
            a[3 + i] = offset == null ? 0 : offset[i];
            a[6 + i] = global[i];
            a[9 + i] = local == null ? 0 : local[i];
        }
        a[12] = event;
        a[13] = (offset != null ? 1 : 0) | (local != null ? 2 : 0);
        call(WorkerOp.LAUNCH, true, null, null, a);
    }

    @Override
    public void finish(long queue) throws BackendException {
        call(WorkerOp.FINISH, false, null, null, queue);
    }

    @Override
    public long[] waitEvent(long event) throws BackendException {
        Reply r = call(WorkerOp.WAIT_EVENT, false, null, null, event);
        return new long[] {r.r0, r.r1};
    }

    @Override
    public void release(long handle) throws BackendException {
        Long size = buffers.remove(handle);
        if (size != null) {
            deviceMemory -= size;
        }
        call(WorkerOp.RELEASE, true, null, null, handle);
    }

    @Override
    public void callContext(long seq, int op, long firstArg) {
        callSeq = seq;
        callOp = op;
        callArg = firstArg;
    }

    @Override
    public void sync() throws BackendException {
        if (!outstanding.isEmpty()) {
            call(WorkerOp.PING, false, null, null);
        }
    }

    @Override
    public List<DeferredFailure> drainFailures() {
        if (failures.isEmpty()) {
            return List.of();
        }
        List<DeferredFailure> out = new ArrayList<>(failures);
        failures.clear();
        if (failuresDropped > 0) {
            long dropped = failuresDropped;
            failuresDropped = 0;
            LOG.fine(() -> "guest " + guest + ": " + dropped + " later one-way failures not kept (the first "
                    + MAX_DEFERRED + " were)");
        }
        for (DeferredFailure f : out) {
            // a buffer that failed to be made holds no memory
            Long size = f.op() == io.ferry.protocol.Op.BUFFER_CREATE.code() ? buffers.remove(f.firstArg()) : null;
            if (size != null) {
                deviceMemory -= size;
            }
        }
        return out;
    }

    @Override
    public long deviceMemoryBytes() {
        return deviceMemory;
    }

    /** Asks the worker to release everything and exit; kills it if it does not within a second. */
    @Override
    public void close() {
        closing = true;
        try {
            if (lost == null && process.isAlive()) {
                call(WorkerOp.CLOSE, false, null, null);
            }
        } catch (BackendException e) {
            // the worker is gone or broken: it is killed below either way
        }
        try {
            if (!process.waitFor(1, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        buffers.clear();
        deviceMemory = 0;
        control.close();
    }
}
