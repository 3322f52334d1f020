package io.ferry.host.compute;

import io.ferry.host.sched.Hint;
import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.host.session.QuotaChecks;
import io.ferry.host.session.ServiceContext;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;

/**
 * The calls that enqueue a device command (transfers, copies, fills, launches, markers and barriers): each is
 * validated once here (handles, ranges, its wait list through {@link EventGates}), counted against the
 * commands-in-flight quota and run on the device, straight or through its scheduler ({@link #onDevice}). The
 * memory-object commands ({@link MemoryObjectCalls}, {@link ImageCalls}) take the same path: {@link #waitsBefore}
 * and {@link #run}.
 */
final class DeviceCommands {
    static final int MAX_FILL_PATTERN = ComputeCalls.MAX_FILL_PATTERN;
    static final long MAX_WORK_ITEMS = ComputeCalls.MAX_WORK_ITEMS;

    private final ServiceContext session;
    private final HandleTable handles;
    private final ComputeBackends backends;
    private final EventGates gates;
    private final long heapSize;
    private final Calls.BufferWrite bufferWrite = new Calls.BufferWrite();
    private final Calls.BufferRead bufferRead = new Calls.BufferRead();
    private final Calls.BufferCopy bufferCopy = new Calls.BufferCopy();
    private final Calls.BufferFill bufferFill = new Calls.BufferFill();
    private final Calls.Launch launch = new Calls.Launch();
    /** The kind of the command being served ({@link #kernelKey}), set just before {@link #run}; 0 for none. */
    private long key;
    /**
     * The command being served is a kernel's first launch at its shape on a device that compiles then
     * ({@link FirstLaunches}), and the event that tells when it starts to run: the guest's, or {@link #WATCH}.
     */
    private boolean compiles;
    private long watch;
    /** The event handle of a watched launch for which the guest asked none; released when it has started. */
    static final long WATCH = Long.MIN_VALUE;
    private final EventCalls.Marker marker = new EventCalls.Marker();
    private final EventCalls.Barrier barrier = new EventCalls.Barrier();

    DeviceCommands(ServiceContext session, ComputeBackends backends, EventGates gates) {
        this.session = session;
        this.handles = session.handles();
        this.backends = backends;
        this.gates = gates;
        this.heapSize = session.heap().byteSize();
    }

    /** Serves one call that enqueues a device command. */
    void serve(Op op, MemorySegment rec) throws CallException, BackendException {
        switch (op) {
            case BUFFER_WRITE, BUFFER_READ -> {
                Calls.Transfer<?> c = op == Op.BUFFER_WRITE ? bufferWrite.wrap(rec, 0) : bufferRead.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                Entry buf = handles.get(c.buffer(), Kind.BUFFER, "buffer");
                ComputeCalls.sameBackend(q, buf);
                long offset = c.offset();
                long size = c.size();
                long heapOffset = c.heapOffset();
                ComputeCalls.checkRange(buf, offset, size);
                checkHeap(heapOffset, size);
                long event = newEvent(c.event());
                long[] waits = gates.waits(c, c.waits(), q, false);
                key = kernelKey(op, 0, size);
                if (op == Op.BUFFER_WRITE) {
                    run(q, event, waits, () -> q.backend.enqueueWrite(q.handle, buf.handle, offset, size, heapOffset,
                            event, waits));
                } else {
                    run(q, event, waits, () -> q.backend.enqueueRead(q.handle, buf.handle, offset, size, heapOffset,
                            event, waits));
                }
            }
            case BUFFER_COPY -> {
                var c = bufferCopy.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                Entry src = handles.get(c.source(), Kind.BUFFER, "source buffer");
                Entry dst = handles.get(c.destination(), Kind.BUFFER, "destination buffer");
                ComputeCalls.sameBackend(q, src);
                ComputeCalls.sameBackend(q, dst);
                long size = c.size();
                long srcOffset = c.sourceOffset();
                long dstOffset = c.destinationOffset();
                ComputeCalls.checkRange(src, srcOffset, size);
                ComputeCalls.checkRange(dst, dstOffset, size);
                long event = newEvent(c.event());
                long[] waits = gates.waits(c, c.waits(), q, false);
                key = kernelKey(op, 0, size);
                run(q, event, waits, () -> q.backend.enqueueCopy(q.handle, src.handle, dst.handle, srcOffset,
                        dstOffset, size, event, waits));
            }
            case BUFFER_FILL -> {
                var c = bufferFill.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                Entry buf = handles.get(c.buffer(), Kind.BUFFER, "buffer");
                ComputeCalls.sameBackend(q, buf);
                long offset = c.offset();
                long size = c.size();
                long[] waits = gates.waits(c, c.waits(), q, true);
                MemorySegment pattern = WaitList.payload(c, waits.length);
                long n = pattern.byteSize();
                if (n <= 0 || n > MAX_FILL_PATTERN || Long.bitCount(n) != 1) {
                    throw new CallException(Status.INVALID_ARGUMENT, "fill pattern of " + n
                            + " bytes: it must be 1, 2, 4, ... or " + MAX_FILL_PATTERN + " bytes");
                }
                ComputeCalls.checkRange(buf, offset, size);
                if (offset % n != 0 || size % n != 0) {
                    throw new CallException(Status.INVALID_ARGUMENT, "fill offset " + offset + " and size " + size
                            + " must be multiples of the " + n + "-byte pattern");
                }
                long event = newEvent(c.event());
                key = kernelKey(op, 0, size);
                run(q, event, waits, () -> q.backend.enqueueFill(q.handle, buf.handle, pattern, offset, size, event,
                        waits));
            }
            case LAUNCH -> launch(launch.wrap(rec, 0));
            case MARKER, BARRIER -> {
                EventCalls.Sync<?> c = op == Op.MARKER ? marker.wrap(rec, 0) : barrier.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                long event = newEvent(c.event());
                long[] waits = gates.waits(c, c.waits(), q, false);
                boolean isBarrier = op == Op.BARRIER;
                run(q, event, waits, () -> q.backend.enqueueMarker(q.handle, event, waits, isBarrier));
            }
            default -> throw new IllegalStateException("not a device command: " + op);
        }
    }

    private void launch(Calls.Launch c) throws CallException, BackendException {
        Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
        Entry k = handles.get(c.kernel(), Kind.KERNEL, "kernel");
        ComputeCalls.sameBackend(q, k);
        long dims = c.dimensions();
        if (dims < 1 || dims > Calls.Launch.MAX_DIMENSIONS) {
            throw new CallException(Status.INVALID_WORK_SIZE, "a launch has 1 to 3 dimensions, not " + dims);
        }
        int d = (int) dims;
        // null: all zero (no offset; the device chooses the local size)
        long[] off = c.offsets(d);
        long[] global = c.globals(d);
        long[] loc = c.locals(d);
        int localGiven = 0;
        for (int i = 0; i < d; i++) {
            long offset = off == null ? 0 : off[i];
            long local = loc == null ? 0 : loc[i];
            if (offset < 0 || global[i] <= 0 || local < 0) {
                throw new CallException(Status.INVALID_WORK_SIZE, "dimension " + i + ": global size " + global[i]
                        + " must be positive, offset " + offset + " and local size " + local
                        + " must not be negative");
            }
            localGiven += local != 0 ? 1 : 0;
        }
        double items = 1;
        for (int i = 0; i < d; i++) {
            items *= global[i];
        }
        if (items > MAX_WORK_ITEMS) {
            throw new CallException(Status.INVALID_WORK_SIZE, "a launch of " + String.format("%.3g", items)
                    + " work-items exceeds the host's limit of " + MAX_WORK_ITEMS + " (2^32)");
        }
        if (localGiven != 0 && localGiven != d) {
            throw new CallException(Status.INVALID_WORK_SIZE, "give a local size for every dimension or for none");
        }
        LaunchLimits.check(q, k, d, localGiven == 0 ? null : loc);
        for (int i = 0; localGiven != 0 && i < d; i++) {
            if (global[i] % loc[i] != 0) {
                throw new CallException(Status.INVALID_WORK_SIZE, "dimension " + i + ": global size " + global[i]
                        + " is not a multiple of local size " + loc[i]);
            }
        }
        long event = newEvent(c.event());
        long[] waits = gates.waits(c, c.waits(), q, false);
        key = kernelKey(Op.LAUNCH, k.handle, (long) Math.min(items, Long.MAX_VALUE));
        if (k.launchShapes == null && k.backend.compilesAtFirstLaunch()) {
            k.launchShapes = FirstLaunches.none();
        }
        compiles = k.launchShapes != null && FirstLaunches.first(k.launchShapes, d, off, global, loc);
        long ev = compiles && event == 0 && handles.find(WATCH) == null ? WATCH : event;
        watch = compiles ? ev : 0;
        run(q, event, waits, () -> k.backend.enqueueLaunch(q.handle, k.handle, d, off, global, loc, ev, waits));
    }

    /**
     * The wait list of {@code call} on {@code queue} ({@code count} events, validated by {@link EventGates#waits}),
     * followed in its blob by exactly {@code payload} bytes of the op's own.
     */
    long[] waitsBefore(CallRecord call, long count, Entry queue, long payload) throws CallException {
        // the length first (a count in range): a list that runs into the payload is refused as such, not as handles
        if (count >= 0 && count <= WaitList.MAX && call.blobLength() != 8 * count + payload) {
            throw new CallException(Status.INVALID_ARGUMENT, call.spec() + ": a blob of " + call.blobLength()
                    + " bytes where " + count + " waited events and the call's " + payload + " bytes make "
                    + (8 * count + payload) + "; see docs/protocol.md, wait lists");
        }
        return gates.waits(call, count, queue, true);
    }

    /**
     * The kind of a command, for the durations the scheduler learns per guest: its op, the kernel's handle (0 for a
     * transfer) and the power of two of its size (work-items, or bytes), so a kernel run at another size is learnt
     * apart. Collisions only share an estimate among one guest's own commands. Never 0 (0 means "no kind").
     */
    static long kernelKey(Op op, long handle, long amount) {
        long k = ((long) op.code() << 56) ^ (handle << 7) ^ (64 - Long.numberOfLeadingZeros(Math.max(0, amount)));
        return k == 0 ? 1 : k;
    }

    /** Counts the command, runs it on the device, then records its event and gates. */
    void run(Entry q, long event, long[] waits, DeviceTurns.Command command)
            throws CallException, BackendException {
        long kind = key;
        boolean compiling = compiles;
        long watching = watch;
        key = 0;
        compiles = false;
        watch = 0;
        long[] gate = gates.gatesFor(q, waits);
        enqueue(q);
        try {
            onDevice(q, gate.length != 0, kind, compiling, watching, command);
        } finally {
            if (watching == WATCH) {
                releaseWatch(q);
            }
        }
        if (event != 0) {
            handles.put(event, Kind.EVENT, q.backend, 0, 0);
        }
        gates.enqueued(q, event, gate);
    }

    /**
     * Runs a device command: straight to the backend under the FIFO policy, or through the device's scheduler,
     * which gives the command its turn and runs it to completion so its device time is known. A command that may
     * wait for an unset user event ({@code gated}) is only enqueued in its turn: finishing it could take forever.
     */
    private void onDevice(Entry q, boolean gated, long kind, boolean compiling, long watching,
                          DeviceTurns.Command command)
            throws CallException, BackendException {
        DeviceTurns dispatch = backends.dispatchFor((Devices.Device) q.device);
        if (dispatch == null) {
            command.run();
            return;
        }
        Hint hint = backends.hintFor(q).withKernelKey(kind).compiling(compiling);
        boolean finish = !gated;
        dispatch.run(backends.tenant(), hint, () -> {
            command.run();
            if (watching != 0 && finish) { // the compile's stretch ends when the kernel starts to run
                awaitStart(q.backend, watching);
                dispatch.started(backends.tenant());
            }
            if (finish) {
                q.backend.finish(q.handle);
            }
        }, backends.cancelFor(q.backend));
        if (finish) {
            backends.commandsFinished(q.queued);
            q.queued = 0;
        } // a gated command was only enqueued: it stays counted, so FINISH of its queue finishes the queue for real
    }

    /** Releases the watched launch's own event; a failure there is not the guest's (its launch stands). */
    private static void releaseWatch(Entry q) {
        try {
            q.backend.release(WATCH);
        } catch (BackendException | RuntimeException e) {
            java.util.logging.Logger.getLogger("ferry.host").warning("releasing a watched launch's event: "
                    + e.getMessage());
        }
    }

    /** Waits until the command of {@code event} runs, has completed or has failed (CL_RUNNING or less). */
    private static void awaitStart(io.ferry.spi.BackendSession backend, long event) throws BackendException {
        for (long sleep = 20_000; backend.eventStatus(event) > 1; sleep = Math.min(2 * sleep, 1_000_000)) {
            java.util.concurrent.locks.LockSupport.parkNanos(sleep);
        }
    }

    private void enqueue(Entry queue) throws CallException {
        QuotaChecks.checkCommandsInFlight(session.quotas(), backends.inFlight(), queue.queued, queue.handle);
        queue.queued++;
        backends.commandsEnqueued();
    }

    long newEvent(long event) throws CallException {
        if (event != 0) {
            handles.checkNew(event, "event");
        }
        return event;
    }

    void checkHeap(long heapOffset, long size) throws CallException {
        if (heapOffset < 0 || size <= 0 || size > heapSize - heapOffset) {
            throw new CallException(Status.HEAP_RANGE, "heap range [offset " + heapOffset + ", size " + size
                    + ") is outside the guest heap of " + heapSize + " bytes");
        }
    }
}
