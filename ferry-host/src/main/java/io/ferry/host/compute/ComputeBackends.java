package io.ferry.host.compute;

import io.ferry.channel.RegionLayout;
import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.Hint;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.SessionService;
import io.ferry.host.worker.WorkerClient;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The backend sessions of one guest session, one per backend it touched: in the host, or (guest kernels on a CPU
 * device under process isolation) in a sandboxed device worker. Also the session's device figures: device memory
 * and device commands in flight. Endpoint thread, except where a method says otherwise.
 */
final class ComputeBackends {
    private final HostConfig host;
    private final HostConfig.GuestConfig config;
    private final String guest;
    private final long tenant;
    private final Map<Devices.Device, ? extends DeviceTurns> dispatches;
    private final Path regionPath;
    private final int lane;
    private final MemorySegment heap;
    private final WorkerGate workerGate;
    private final HandleTable handles;
    private final Map<ComputeBackend, BackendSession> backends = new IdentityHashMap<>();
    /** This session's device workers, for the watchdog thread ({@link #cancelWorkers}). */
    private final List<WorkerClient> workers = new CopyOnWriteArrayList<>();
    private long callSeq;
    private int callOp;
    private long callArg;
    private volatile long deviceMemory;
    private int inFlight;
    private volatile int inFlightView;

    ComputeBackends(HostConfig host, HostConfig.GuestConfig config, long tenant,
                    Map<Devices.Device, ? extends DeviceTurns> dispatches, Path regionPath, int lane, MemorySegment heap,
                    WorkerGate workerGate, HandleTable handles) {
        this.host = host;
        this.config = config;
        this.guest = config.name();
        this.tenant = tenant;
        this.dispatches = dispatches;
        this.regionPath = regionPath;
        this.lane = lane;
        this.heap = heap;
        this.workerGate = workerGate;
        this.handles = handles;
    }

    /** Device commands enqueued and not yet finished, over all queues (safe from any thread). */
    int commandsInFlight() {
        return inFlightView;
    }

    /** Device commands enqueued and not yet finished, over all queues (endpoint thread). */
    int inFlight() {
        return inFlight;
    }

    void commandsEnqueued() {
        inFlight++;
        inFlightView = inFlight;
    }

    void commandsFinished(int n) {
        inFlight -= n;
        inFlightView = inFlight;
    }

    /** Device memory held by the session's buffers (safe from any thread; updated after each change). */
    long deviceMemoryBytes() {
        return deviceMemory;
    }

    /** Recomputes the device memory figure; endpoint thread only. */
    void deviceMemoryChanged() {
        long sum = 0;
        for (BackendSession b : backends.values()) {
            sum += b.deviceMemoryBytes();
        }
        deviceMemory = sum;
    }

    long tenant() {
        return tenant;
    }

    /** The scheduler of {@code device}, or null under the FIFO policy. */
    DeviceTurns dispatchFor(Devices.Device device) {
        return device == null ? null : dispatches.get(device);
    }

    /** The hint for the next command of queue {@code q} (a one-shot hint first, else the queue's own). */
    Hint hintFor(HandleTable.Entry q) {
        int priority = q.hintPriority;
        long deadline = q.hintDeadlineNanos;
        if (q.nextHint) {
            q.nextHint = false;
            priority = q.nextPriority;
            deadline = q.nextDeadlineNanos;
        }
        return priority == 0 && deadline == 0 ? Hint.NONE
                : new Hint(priority, deadline == 0 ? Long.MAX_VALUE : System.nanoTime() + deadline);
    }

    /** From the watchdog thread: kills this session's device workers, so a wait on one returns at once. */
    void cancelWorkers(String why) {
        for (WorkerClient w : workers) {
            w.cancel(why);
        }
    }

    /** How to stop a backend's running work: kill the device worker; null where it cannot be stopped. */
    Runnable cancelFor(BackendSession b) {
        return b instanceof WorkerClient w ? w::cancel : null;
    }

    /** Which call is served now: backends tag the failures of one-way work with it. */
    void callStarting(long seq, int op, long firstArg) {
        callSeq = seq;
        callOp = op;
        callArg = firstArg;
        for (BackendSession b : backends.values()) {
            b.callContext(callSeq, callOp, callArg);
        }
    }

    BackendSession backendFor(Devices.Device device) throws BackendException {
        BackendSession b = backends.get(device.backend());
        if (b == null) {
            // Guest kernels on a CPU device run as machine code where the device runs: keep them out of the host.
            if (host.isolation() == HostConfig.Isolation.PROCESS && device.info().type() == DeviceType.CPU) {
                workerGate.await();
                // the heap's place comes from the host's own layout, never from the header the guest can rewrite
                // (the lane's slice: the worker maps that and nothing of another lane's heap)
                RegionLayout layout = GuestLayout.of(config);
                if (layout.laneHeapSize() != heap.byteSize()) {
                    throw new BackendException(Status.INTERNAL, "guest " + guest + ": the host's "
                            + "heap of " + heap.byteSize() + " bytes is not the " + layout.laneHeapSize() + " of its "
                            + "layout's lanes; cannot tell the device worker where it is");
                }
                long heapOffset = layout.laneHeapOffset(lane);
                WorkerClient w = WorkerClient.start(device.backend().name(), guest, regionPath, heapOffset,
                        heap.byteSize(), host.workerDir(),
                        host.scheduling().policy() == HostConfig.Policy.FERRY ? config.schedClass() : null,
                        io.ferry.host.worker.RealTime.Settings.of(host.scheduling(), config.schedClass()),
                        host.workerLimits().withDeviceMemory(config.quotas().deviceMemoryBytes()),
                        host.scheduling().policy() == HostConfig.Policy.FIFO ? config.overrunLimitNanos() : 0,
                        io.ferry.host.worker.DeviceThreadPinning.applies(host.scheduling(), config.schedClass()));
                workers.add(w);
                b = w;
            } else {
                b = device.backend().openSession(guest, heap);
                io.ferry.spi.sandbox.FaultHandlers.warnIfTaken(java.util.logging.Logger.getLogger("ferry.host"),
                        "guest " + guest);
            }
            backends.put(device.backend(), b);
            b.callContext(callSeq, callOp, callArg);
        }
        return b;
    }

    /** Waits for every backend to finish earlier one-way work, then files the failures it reports. */
    void sync(SessionService.FailureSink failures) throws BackendException {
        try {
            for (BackendSession b : backends.values()) {
                b.sync();
            }
        } finally {
            collect(failures);
        }
    }

    /** Files the failures of earlier one-way work the backends know of. */
    void collect(SessionService.FailureSink failures) {
        for (BackendSession b : backends.values()) {
            for (BackendSession.DeferredFailure f : b.drainFailures()) {
                Op failedOp = Op.of(f.op());
                if (failedOp != null && (failedOp.name().endsWith("_CREATE") || failedOp == Op.PROGRAM_CREATE_BINARY)
                        && failedOp != Op.KERNEL_CREATE) {
                    HandleTable.Entry gone = handles.remove(f.firstArg()); // the object was never made
                    if (gone != null && gone.kind == HandleTable.Kind.QUEUE) {
                        commandsFinished(gone.queued); // commands counted on it were never enqueued
                    }
                    deviceMemoryChanged();
                }
                failures.file(new CallFailure(f.seq(), failedOp, f.status(), f.message(), f.nativeError()), failedOp,
                        f.firstArg());
            }
        }
    }

    /** Closes every backend session. Never throws. */
    void close() {
        for (BackendSession b : backends.values()) {
            b.close();
        }
        backends.clear();
        deviceMemory = 0;
        inFlight = 0;
        inFlightView = 0;
    }
}
