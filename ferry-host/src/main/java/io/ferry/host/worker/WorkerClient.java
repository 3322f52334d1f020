package io.ferry.host.worker;

import io.ferry.channel.CompletionReader;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.Region;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
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
public final class WorkerClient extends WorkerRequests {
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
    private final CallRecord any = new CallRecord();
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
     * Starts a worker for {@code guest} in its sandbox, serving {@code backend}'s devices with the guest region's
     * heap at the host's figures {@code heapOffset}, {@code heapSize}; details at {@link WorkerLauncher#start}.
     */
    public static WorkerClient start(String backend, String guest, Path guestRegion, long heapOffset, long heapSize,
                                     Path workDir, io.ferry.host.sched.SchedClass schedClass, RealTime.Settings rt,
                                     io.ferry.host.config.HostConfig.WorkerLimits limits, long waitLimitNanos,
                                     boolean pinDeviceThreads)
            throws BackendException {
        return WorkerLauncher.start(backend, guest, guestRegion, heapOffset, heapSize, workDir, schedClass, rt,
                limits, waitLimitNanos, pinDeviceThreads);
    }

    void waitLimitNanos(long nanos) {
        waitLimitNanos = nanos;
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
     * Sends a guest call to the worker, encoded through its view: {@code args} writes the arguments. One-way
     * requests return at once (the worker answers only if they fail; such failures are collected as
     * {@link DeferredFailure}s); others wait for their answer.
     */
    @Override
    <V extends CallRecord> Answer call(V call, boolean oneWay, byte[] blob, MemorySegment blobSegment,
                                       Consumer<? super V> args) throws BackendException {
        Op op = call.spec();
        Reply r = send(op.code(), op.name(), call, op.argCount(), oneWay, blob, blobSegment, args);
        return r == null ? null : new Answer(r.r0, r.r1, r.r2, r.r3, r.message, r.bytes);
    }

    /** Sends one of the hop's own requests ({@link Wire#WORKER_PING}, {@link Wire#WORKER_CLOSE}) and waits. */
    private Reply control(int type) throws BackendException {
        return send(type, type == Wire.WORKER_PING ? "PING" : "CLOSE", any, 0, false, null, null, r -> { });
    }

    private <V extends CallRecord> Reply send(int type, String name, V call, int argCount, boolean oneWay,
                                              byte[] blob, MemorySegment blobSegment, Consumer<? super V> args)
            throws BackendException {
        if (lost != null) {
            throw new BackendException(Status.DEVICE_LOST, lost);
        }
        if (oneWay && outstanding.size() >= MAX_OUTSTANDING) {
            control(Wire.WORKER_PING); // the host's bookkeeping stays bounded: wait for the worker
        }
        int blobLength = blob != null ? blob.length : blobSegment != null ? (int) blobSegment.byteSize() : 0;
        int length = CallRecord.length(argCount, blobLength);
        if (length > requests.maxRecordLength()) {
            throw new BackendException(Status.INVALID_ARGUMENT, name + " request of " + length + " bytes is too large");
        }
        long at;
        while ((at = requests.tryClaim(type, length)) < 0) {
            String why = cancelled;
            if (why != null) {
                throw lose(name, why);
            }
            checkAlive(name);
            drain(name); // the worker may be blocked writing failure answers we have not read
            Thread.onSpinWait();
        }
        long s = ++seq;
        call.wrap(requests.segment(), at).header(s, oneWay ? 0 : Wire.FLAG_REPLY, blobLength);
        for (int i = 0; i < argCount; i++) {
            call.arg(i, 0);
        }
        args.accept(call);
        if (blob != null) {
            call.blob(blob);
        } else if (blobSegment != null) {
            call.blob(blobSegment);
        }
        requests.publish();
        if (oneWay) {
            outstanding.add(s, callSeq, callOp, callArg);
            if ((s & 63) == 0) {
                drain(name);
            }
            return null;
        }
        boolean deviceWork = type == Op.FINISH.code() || type == Op.EVENT_WAIT.code();
        boolean build = type == Op.PROGRAM_BUILD.code() || type == Op.PROGRAM_COMPILE.code()
                || type == Op.PROGRAM_LINK.code();
        IdleStrategy idle = deviceWork || build || type == Wire.WORKER_PING ? RingIdleStrategy.forDeviceWork(replies)
                : RingIdleStrategy.forAnswers(replies);
        int polls = 0;
        awaited = s;
        reply.seq = -1;
        long started = System.nanoTime();
        while (true) {
            String why = cancelled;
            if (why != null) {
                throw lose(name, why);
            }
            int n = drain(name);
            if (reply.seq == s) {
                outstanding.clear(); // served in order: everything before s is done
                if (reply.status != Status.OK) {
                    throw new BackendException(reply.status, reply.message, reply.r3);
                }
                return reply;
            }
            if (n == 0) {
                if ((++polls & 127) == 0) {
                    checkAlive(name);
                    long ran = System.nanoTime() - started;
                    if (waitLimitNanos > 0 && deviceWork && ran > waitLimitNanos) {
                        throw lose(name, "was stopped by the host: its device work ran " + ran / 1_000_000 + " ms, "
                                + "over the guest's overrunLimit of " + waitLimitNanos / 1_000_000 + " ms (under policy "
                                + "fifo each wait for device work is timed); split the work or raise overrunLimit");
                    }
                    if (build && ran > compileTimeNanos) {
                        throw lose(name, "ran a program build for " + ran / 1_000_000 + " ms, over the "
                                + "compileTimeLimit of " + compileTimeNanos / 1_000_000 + " ms; simplify the program "
                                + "or raise compileTimeLimit in the host's config");
                    }
                }
                idle.idle(0);
            } else {
                idle.reset();
            }
        }
    }

    /** Reads whatever answers are there: the awaited one into {@link #reply}, failures of one-way requests aside. */
    private int drain(String name) throws BackendException {
        int n;
        try {
            n = replies.poll(reply, 16);
        } catch (RingCorruptedException e) {
            throw lose(name, "broke the reply ring: " + e.getMessage());
        }
        if (reply.invalid != null) {
            throw lose(name, reply.invalid);
        }
        return n;
    }

    private void checkAlive(String name) throws BackendException {
        if (!process.isAlive()) {
            int code = process.exitValue();
            String how = code > 128 ? "killed by signal " + (code - 128) + (code == 134 ? " (SIGABRT after a crash)"
                    : code == 139 ? " (SIGSEGV)" : code == 137 ? " (SIGKILL)" : "") : "exit code " + code;
            // the guest learns how its worker ended; the crash report (the worker's stderr) is in the host's log only
            throw lose(name, "died (" + how + ")");
        }
    }

    @Override
    BackendException lose(String name, String what) {
        lost = "the device worker of guest '" + guest + "' (pid " + process.pid() + ") " + what + " during "
                + name;
        // a worker stopped while it is being closed (its guest gone at the same time) is no news
        LOG.log(closing ? java.util.logging.Level.FINE : java.util.logging.Level.WARNING, "guest " + guest + ": " + lost);
        process.destroyForcibly();
        return new BackendException(Status.DEVICE_LOST, lost);
    }

    /**
     * Reads answers, framed by the shared {@link CompletionReader} and validated here: the awaited answer is kept; a
     * failure of an outstanding one-way request becomes a deferred failure; anything else breaks the protocol.
     */
    private final class Reply extends CompletionReader {
        long seq;
        Status status;
        long r0;
        long r1;
        long r2;
        long r3;
        String message;
        byte[] bytes;
        String invalid;

        @Override
        protected void onCompletion(int type, CompletionRecord c) {
            if (invalid != null) {
                return;
            }
            long s = c.seq();
            Status st = c.knownStatus();
            if (st == null) {
                invalid = "answered request #" + s + " with status code " + c.status() + ", which is no status: a "
                        + "worker protocol violation";
                return;
            }
            String text = c.text();
            if (s == awaited) {
                seq = s;
                status = st;
                r0 = c.result(0);
                r1 = c.result(1);
                r2 = c.result(2);
                r3 = c.result(3);
                message = text;
                bytes = c.blobBytes();
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
            Op failed = Op.of(guestOp);
            if (failures.size() >= MAX_DEFERRED && (failed == null || !(failed.name().endsWith("_CREATE")
                    || failed == Op.PROGRAM_CREATE_BINARY))) {
                // The earliest failures are the ones reported: keep them. A failed creation is always kept (the
                // host forgets the object by it); there are at most as many as the object quota.
                failuresDropped++;
                return;
            }
            failures.add(new DeferredFailure(guestSeq, guestOp, firstArg, st,
                    text.length() > MAX_DEFERRED_MESSAGE ? text.substring(0, MAX_DEFERRED_MESSAGE) + "..." : text,
                    c.result(io.ferry.protocol.NativeError.RESULT_WORD)));
        }
    }

    // ---- BackendSession: the calls that keep the host's own accounts (the rest: WorkerRequests) ----

    @Override
    public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset)
            throws BackendException {
        call(new Calls.BufferCreate(), true, null, null, c -> c.buffer(buffer).context(context).size(size)
                .access(accessFlags).heapOffset(heapOffset));
        buffers.put(buffer, size);
        deviceMemory += size;
    }

    @Override
    void holdsDeviceMemory(long handle, long bytes) {
        buffers.put(handle, bytes);
        deviceMemory += bytes;
    }

    @Override
    public void release(long handle) throws BackendException {
        Long size = buffers.remove(handle);
        if (size != null) {
            deviceMemory -= size;
        }
        call(new Calls.Release(), true, null, null, c -> c.handle(handle));
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
            control(Wire.WORKER_PING);
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
            // a buffer or image that failed to be made holds no memory
            boolean made = f.op() == io.ferry.protocol.Op.BUFFER_CREATE.code()
                    || f.op() == io.ferry.protocol.Op.IMAGE_CREATE.code();
            Long size = made ? buffers.remove(f.firstArg()) : null;
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
                control(Wire.WORKER_CLOSE);
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
