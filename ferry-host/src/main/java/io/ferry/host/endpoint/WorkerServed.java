package io.ferry.host.endpoint;

import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.host.compute.InWorker;
import io.ferry.host.config.HostConfig;
import io.ferry.host.session.Session;
import io.ferry.host.worker.DeviceThreadPinning;
import io.ferry.host.worker.ServeWords;
import io.ferry.host.worker.WorkerLauncher;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import io.ferry.host.compute.DeviceDispatch;
import io.ferry.host.compute.Devices;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.sched.Hint;
import io.ferry.host.worker.Grant;
import io.ferry.protocol.CompletionRecord;

/**
 * The host's half of a session its guest's device worker serves ({@link InWorker}): from the first compute call on,
 * the worker consumes the guest's command ring and produces its completions, so device calls cross no process
 * boundary beyond the guest's. The host keeps what is not the worker's to hold: the session's TEE side (the worker
 * forwards those calls over the private control region and this class serves them through the host's
 * {@link Session}), the watchdog (a worker whose wait for device work overruns its limit is killed; so is a worker of
 * a guest that is gone), the figures for status (from {@link ServeWords}, untrusted) and the end of the session.
 *
 * <p>Endpoint thread only, except {@link #destroy} (any thread).
 */
final class WorkerServed implements RecordHandler {
    private final Session session;
    private final WorkerLauncher.Launched worker;
    private final Map<Devices.Device, DeviceDispatch> dispatches;
    private final Devices devices;
    private final long tenant;
    private final CompletionRecord grant = new CompletionRecord();
    private final ServeWords words;
    private final io.ferry.host.session.CallCounts counts;
    private final CallRecord call = new CallRecord();
    private final io.ferry.channel.IdleStrategy idle;
    private volatile String stopReason;
    private final long overrunLimitNanos;
    private Status endedStatus;
    private String endedReason;

    private WorkerServed(Session session, WorkerLauncher.Launched worker, Map<Devices.Device, DeviceDispatch> dispatches,
                         Devices devices, long tenant, io.ferry.host.session.CallCounts counts, SchedClass schedClass,
                         long overrunLimitNanos) {
        this.session = session;
        this.overrunLimitNanos = overrunLimitNanos;
        this.worker = worker;
        this.dispatches = dispatches;
        this.devices = devices;
        this.tenant = tenant;
        this.words = new ServeWords(worker.control().segment());
        this.counts = counts;
        counts.attach(new io.ferry.host.worker.WorkerCallTable(worker.control().segment()));
        // Below 4 cores no spinning: the guest, its worker and (for TEE calls) the TEE's process need the cores. A
        // best-effort guest's thread does not even yield before it sleeps: at nice 10 its yields would take the
        // cores from the best-effort device workers under SCHED_IDLE (measured: best-effort throughput in the MCB
        // 0.72-0.76 of FIFO with the yields, 0.79-0.81 without); a wake-up costs it some latency, which it can spare.
        var ring = worker.control().completionRing();
        this.idle = Runtime.getRuntime().availableProcessors() >= 4
                ? io.ferry.channel.RingIdleStrategy.forRequests(ring, worker.control().commandRing(), 50_000_000)
                : new io.ferry.channel.RingIdleStrategy(ring, 0, schedClass == SchedClass.BEST_EFFORT ? 0 : 200_000,
                        50_000, 50_000_000);
    }

    /**
     * Starts {@code config}'s worker for {@code session} (whose HELLO the host served; {@code nonce}: the guest's
     * connect request of this session) and hands the session to it: once this returns, the worker reads the command
     * ring from the record the host left in it.
     */
    static WorkerServed start(HostConfig host, HostConfig.GuestConfig config, Region region, Session session,
                              long nonce, String backend, Map<Devices.Device, DeviceDispatch> dispatches,
                              Devices devices, long tenant, io.ferry.host.session.CallCounts counts)
            throws BackendException {
        WorkerLauncher.Launched w;
        for (int attempt = 1; ; attempt++) {
            long withdrawals = devices.withdrawals();
            String settings = InWorker.settings(host, config, region.laneIndex(), backend, session.id(), nonce,
                    session.guestPid(), session.pidVerified(), session.pendingFailure(), devices);
            w = WorkerLauncher.launch(config.name(), region.path(), host.workerDir(),
                    host.workerLimits().withDeviceMemory(config.quotas().deviceMemoryBytes()),
                    DeviceThreadPinning.applies(host.scheduling(), config.schedClass()), InWorker.class.getName(),
                    List.of(settings, config.name()), backend + ", serving the session");
            io.ferry.host.worker.LiveWorkers.add(host.workerDir(), backend, config.name(), w.process());
            if (devices.withdrawals() == withdrawals) {
                break;
            }
            w.kill(); // a device was withdrawn while it started, unknown to it: start one that knows
            if (attempt == 3) { // withdrawals back to back: not a loop of worker starts
                throw new BackendException(Status.DEVICE_LOST, "devices were withdrawn by the operator (VFIO) while "
                        + "the worker serving this session started, three times over; connect again");
            }
        }
        WorkerServed served = new WorkerServed(session, w, dispatches, devices, tenant, counts, config.schedClass(),
                config.overrunLimitNanos());
        session.handedOver(w.control().commandRing(), served.words);
        return served;
    }

    /** Serves what the worker sent: forwarded calls (answered through the host's session) and its end. */
    int poll() {
        return worker.control().completionRing().poll(this, 16);
    }

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        if (type == InWorker.ENDED) {
            CallRecord c = call.wrap(rec, 0);
            Status s = length >= CallRecord.length(1, 0) ? Status.of((int) c.arg(0)) : null;
            endedStatus = s == null ? Status.INTERNAL : s;
            int blob = Math.max(0, Math.min(c.blobLength(), length - CallRecord.length(1, 0)));
            endedReason = blob == 0 ? "the device worker ended the session"
                    : new String(rec.asSlice(CallRecord.length(1, 0), blob).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    java.nio.charset.StandardCharsets.UTF_8);
            return;
        }
        if (type == InWorker.GRANT_REQUEST || type == InWorker.GRANT_DONE || type == InWorker.DECLARE_RELEASE) {
            turn(type, call.wrap(rec, 0), length);
            return;
        }
        // a call the worker forwards (the TEE's): the host's session serves it and answers on the control region
        session.onRecord(type, rec, length);
    }

    /** A device turn the worker asks for (answered when the policy allows) or reports done. */
    private void turn(int type, CallRecord c, int length) {
        if (length < CallRecord.length(3, 0)) {
            throw new io.ferry.host.session.ProtocolViolation("device worker: a turn record of " + length + " bytes");
        }
        Devices.Device d = devices.get(c.arg(0));
        DeviceDispatch dispatch = d == null || d.index() >= InWorker.MAX_LEASED_DEVICES ? null : dispatches.get(d);
        if (type == InWorker.GRANT_DONE) {
            if (dispatch != null) {
                dispatch.remoteDone(tenant, c.arg(1));
            }
            return;
        }
        // The fourth word: a request's kernel key, a declaration's budget (0 if the record is short).
        long fourth = length >= CallRecord.length(4, 0) ? c.arg(3) : 0;
        if (type == InWorker.DECLARE_RELEASE) {
            declare(dispatch, c.arg(1), c.arg(2), fourth);
            return;
        }
        Grant g = Grant.SINGLE;
        if (dispatch != null) {
            try {
                boolean compiles = length >= CallRecord.length(5, 0) && c.arg(4) == 1; // the first launch of a shape
                g = dispatch.grantRemote(tenant, new Hint((int) Math.max(-1000, Math.min(1000, c.arg(1))), c.arg(2),
                                fourth, compiles),
                        InWorker.leaseWords(worker.control().segment(), d.index()), () -> destroy(overran()));
            } catch (io.ferry.host.session.CallException e) {
                destroy("was stopped: the host is shutting down");
                return;
            }
        }
        var ring = worker.control().commandRing();
        long at;
        while ((at = ring.tryClaim(InWorker.GRANT_ANSWER, CompletionRecord.length(0))) < 0) {
            if (!alive()) {
                return;
            }
            Thread.onSpinWait();
        }
        grant.wrap(ring.segment(), at).put(0, Status.OK.code(), g.ordinal(), 0, 0, 0, null, 0);
        ring.publish();
    }

    /** A release declaration the worker forwarded: checked again by the scheduler; a refusal is logged. */
    private void declare(DeviceDispatch dispatch, long period, long offset, long budget) {
        if (dispatch == null) {
            return;
        }
        try {
            dispatch.declareRelease(tenant, period, offset, budget);
        } catch (io.ferry.host.session.CallException e) {
            java.util.logging.Logger.getLogger("ferry.host").warning("guest " + tenant + ": its device worker "
                    + "forwarded a release declaration the scheduler refused: " + e.getMessage());
        }
    }

    /** The status the worker ended the session with, or null while it serves. */
    Status endedStatus() {
        return endedStatus;
    }

    String endedReason() {
        return endedReason;
    }

    boolean alive() {
        return worker.process().isAlive();
    }

    /** How the worker ended, for a message. */
    String exit() {
        Process p = worker.process();
        if (p.isAlive()) {
            return "still running";
        }
        int code = p.exitValue();
        return code > 128 ? "killed by signal " + (code - 128) + (code == 134 ? " (SIGABRT after a crash)"
                : code == 139 ? " (SIGSEGV)" : code == 137 ? " (SIGKILL)" : "") : "exit code " + code;
    }

    long pid() {
        return worker.process().pid();
    }

    /** What the worker says of its current wait for device work. */
    /**
     * What went wrong with this worker at {@code now}, or null while it serves well: it died (and how), or it was
     * over its time limit (a program build over compileTimeLimit, device work over overrunLimit).
     */
    String failure(long now) {
        ServeWords words = words();
        long over = words.overrun(now);
        if (over <= 0 && alive()) {
            return null;
        }
        if (over <= 0) {
            return stopReason() != null ? stopReason() : "died (" + exit() + ")"
                    + (words.busyFor(now) == 0 ? "" : words.building() ? " during a program build"
                    : " while the device ran this guest's work (a kernel or a transfer)");
        }
        if (words.building()) {
            return "ran a program build for " + words.busyFor(now) / 1_000_000 + " ms, over the compileTimeLimit of "
                    + words.limit() / 1_000_000 + " ms; simplify the program or raise compileTimeLimit in the host's "
                    + "config";
        }
        return "was stopped by the host: its device work ran " + words.busyFor(now) / 1_000_000 + " ms, over the "
                + "guest's overrunLimit of " + words.limit() / 1_000_000 + " ms (under policy fifo each wait for device "
                + "work is timed); split the work or raise overrunLimit";
    }

    ServeWords words() {
        return words;
    }

    /**
     * Waits for the worker's next message as the endpoint waits for a guest's (spin, yield, then sleep on the
     * control ring's doorbell, waking every 50 ms for the watchdog's requests): a device turn the worker asks for is
     * answered within microseconds while the guest is busy, and an idle session costs a wake-up per 50 ms.
     */
    void idle(int work) {
        idle.idle(work);
    }

    /**
     * From any thread: kills the worker, saying {@code why} ("was stopped by ..."); the endpoint thread then sees it
     * gone and takes the session back.
     */
    void destroy(String why) {
        stopReason = why;
        worker.process().destroyForcibly();
    }

    /** The reason of a worker the scheduler's watchdog stopped: the limit, and what the guest can do. */
    private String overran() {
        return "was stopped by the host's watchdog: a device command (a kernel or a copy) ran longer than the "
                + "guest's overrunLimit of " + overrunLimitNanos / 1_000_000 + " ms (a first launch's compile: the "
                + "compileTimeLimit); split the work into shorter commands, or have the operator raise overrunLimit "
                + "for this guest in the host's config (a new connection gets a new device worker)";
    }

    /** Why the host stopped the worker, or null. */
    String stopReason() {
        return stopReason;
    }

    /** Endpoint thread: stops the worker, waits until it is gone, keeps its final counts, unmaps the control region. */
    void stop() {
        Process p = worker.process();
        p.destroyForcibly();
        try {
            p.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (DeviceDispatch d : dispatches.values()) {
            d.endLease(tenant); // before the words are unmapped: the scheduler reads them until the lease ends
        }
        counts.detach(); // the worker's final counts become the lane's while its control region is mapped
        worker.control().close();
    }
}
