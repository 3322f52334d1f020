package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.QuotaChecks;
import io.ferry.host.session.ServiceContext;
import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;

import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.host.sched.Hint;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;

/**
 * The compute calls of one session: each reads its arguments from the private copy of the record, validates every
 * handle, size and range, then calls the backend. Nothing here reads guest memory: heap data is only named by
 * validated offsets that the backend turns into device transfers.
 */
final class ComputeCalls implements SessionService {
    /** Largest by-value kernel argument (OpenCL guarantees 1 KiB of arguments in all). */
    static final int MAX_ARG_VALUE = 1024;
    static final int MAX_FILL_PATTERN = 128;
    /** Most work-items of one launch: bounds what one call can ask of a device. */
    static final long MAX_WORK_ITEMS = 1L << 32;
    /** Longest kernel name (bytes): backends keep the name per kernel, so objects x this bounds what names hold. */
    static final int MAX_KERNEL_NAME = 4096;

    private final ServiceContext session;
    private final HandleTable handles;
    private final Devices devices;
    private final ComputeBackends backends;
    private final long heapSize;

    ComputeCalls(ServiceContext session, Devices devices, ComputeBackends backends) {
        this.session = session;
        this.handles = session.handles();
        this.devices = devices;
        this.backends = backends;
        this.heapSize = session.heap().byteSize();
    }

    @Override
    public void call(Op op, MemorySegment rec, long[] results, SessionContext ctx) throws CallException {
        try {
            if (op == Op.DEVICE_INFO) {
                deviceInfo(Wire.arg(rec, 0, 0), results);
            } else {
                serve(op, rec, results);
            }
        } catch (BackendException e) {
            throw new CallException(e.status(), e.getMessage());
        }
    }

    @Override
    public void callStarting(long seq, int op, long firstArg) {
        backends.callStarting(seq, op, firstArg);
    }

    @Override
    public void sync(SessionService.FailureSink failures) throws CallException {
        try {
            backends.sync(failures);
        } catch (BackendException e) {
            throw new CallException(e.status(), e.getMessage());
        }
    }

    @Override
    public void collect(SessionService.FailureSink failures) {
        backends.collect(failures);
    }

    @Override
    public void cancel(String why) {
        backends.cancelWorkers(why);
    }

    @Override
    public long deviceMemoryBytes() {
        return backends.deviceMemoryBytes();
    }

    @Override
    public int commandsInFlight() {
        return backends.commandsInFlight();
    }

    @Override
    public void close() {
        backends.close();
    }

    private void deviceInfo(long index, long[] results) throws CallException {
        Devices.Device d = devices.get(index);
        if (d == null) {
            throw new CallException(Status.NO_DEVICE, "device " + index + " does not exist: " + devices.noDeviceMessage());
        }
        var info = d.info();
        long langs = 0;
        for (var l : info.languages()) {
            langs |= 1L << l.code();
        }
        results[0] = info.type().code() | (langs << 8);
        results[1] = info.globalMemoryBytes();
        results[2] = info.localMemoryBytes();
        results[3] = (info.computeUnits() & 0xffff_ffffL) | (info.maxWorkGroupSize() << 32);
        session.replyText(info.name() + "\n" + info.vendor() + "\n" + info.version() + "\n" + d.backend().name());
    }

    /** Runs one compute call; returns result 0 (most calls return nothing). */
    private long serve(Op op, MemorySegment rec, long[] results) throws CallException, BackendException {
        switch (op) {
            case CONTEXT_CREATE -> {
                long ctx = arg(rec, 0);
                handles.checkNew(ctx, "context");
                Devices.Device dev = devices.get(arg(rec, 1));
                if (dev == null) {
                    throw new CallException(Status.NO_DEVICE, "device " + arg(rec, 1) + " does not exist: "
                            + devices.noDeviceMessage());
                }
                BackendSession b = backends.backendFor(dev);
                b.createContext(ctx, dev.info().index());
                handles.put(ctx, Kind.CONTEXT, b, 0, 0).device = dev;
            }
            case QUEUE_CREATE -> {
                long q = arg(rec, 0);
                handles.checkNew(q, "queue");
                Entry ctx = handles.get(arg(rec, 1), Kind.CONTEXT, "context");
                long flags = arg(rec, 2);
                if ((flags & ~Wire.QUEUE_PROFILING) != 0) {
                    throw new CallException(Status.INVALID_ARGUMENT, "unknown queue flags 0x" + Long.toHexString(flags));
                }
                int priority = (int) Math.max(-1000, Math.min(1000, arg(rec, 3)));
                ctx.backend.createQueue(q, ctx.handle, (flags & Wire.QUEUE_PROFILING) != 0, priority);
                Entry e = handles.put(q, Kind.QUEUE, ctx.backend, 0, 0);
                e.device = ctx.device;
                e.hintPriority = priority;
            }
            case BUFFER_CREATE -> {
                long buf = arg(rec, 0);
                handles.checkNew(buf, "buffer");
                Entry ctx = handles.get(arg(rec, 1), Kind.CONTEXT, "context");
                long size = arg(rec, 2);
                long access = arg(rec, 3);
                long heapOffset = arg(rec, 4);
                if (size <= 0) {
                    throw new CallException(Status.INVALID_ARGUMENT, "buffer size " + size + " must be positive");
                }
                if (access < 0 || access > 3) {
                    throw new CallException(Status.INVALID_ARGUMENT, "buffer access " + access
                            + " is not one of 0 (read-write), 1 (read-only), 2 (write-only), 3 (read-write)");
                }
                if (heapOffset != -1) {
                    checkHeap(heapOffset, size);
                }
                QuotaChecks.checkDeviceMemory(session.quotas(), backends.deviceMemoryBytes(), size);
                ctx.backend.createBuffer(buf, ctx.handle, size, (int) access, heapOffset);
                handles.put(buf, Kind.BUFFER, ctx.backend, size, 0);
                backends.deviceMemoryChanged();
            }
            case PROGRAM_CREATE -> {
                long prog = arg(rec, 0);
                handles.checkNew(prog, "program");
                Entry ctx = handles.get(arg(rec, 1), Kind.CONTEXT, "context");
                SourceLanguage lang = SourceLanguage.of((int) arg(rec, 2));
                if (lang == null || arg(rec, 2) != (int) arg(rec, 2)) {
                    throw new CallException(Status.INVALID_ARGUMENT, "unknown source language " + arg(rec, 2));
                }
                String source = blob(rec, op);
                if (source.isBlank()) {
                    throw new CallException(Status.INVALID_ARGUMENT, "program source is empty");
                }
                ctx.backend.createProgram(prog, ctx.handle, lang, source);
                handles.put(prog, Kind.PROGRAM, ctx.backend, 0, 0);
            }
            case PROGRAM_BUILD -> {
                Entry prog = handles.get(arg(rec, 0), Kind.PROGRAM, "program");
                session.replyText(prog.backend.buildProgram(prog.handle,
                        io.ferry.spi.BuildOptions.checked(blob(rec, op))));
            }
            case KERNEL_CREATE -> {
                long k = arg(rec, 0);
                handles.checkNew(k, "kernel");
                Entry prog = handles.get(arg(rec, 1), Kind.PROGRAM, "program");
                if (Wire.blobLength(rec, 0) > MAX_KERNEL_NAME) {
                    throw new CallException(Status.INVALID_ARGUMENT, "kernel name of " + Wire.blobLength(rec, 0)
                            + " bytes is longer than the host's limit of " + MAX_KERNEL_NAME + " bytes");
                }
                String name = blob(rec, op);
                int argc = prog.backend.createKernel(k, prog.handle, name);
                handles.put(k, Kind.KERNEL, prog.backend, 0, argc);
                results[0] = argc;
            }
            case RELEASE -> {
                long h = arg(rec, 0);
                Entry e = handles.remove(h);
                if (e == null) {
                    // Idempotent: the object's creation may have failed (reported once, as a sticky error).
                    break;
                }
                if (e.kind == Kind.QUEUE) {
                    backends.commandsFinished(e.queued);
                }
                try {
                    e.backend.release(h);
                } finally {
                    backends.deviceMemoryChanged();
                }
            }
            case KERNEL_ARG_BUFFER -> {
                Entry k = handles.get(arg(rec, 0), Kind.KERNEL, "kernel");
                int index = argIndex(k, arg(rec, 1));
                Entry buf = handles.get(arg(rec, 2), Kind.BUFFER, "buffer");
                sameBackend(k, buf);
                k.backend.setKernelArgBuffer(k.handle, index, buf.handle);
            }
            case KERNEL_ARG_VALUE -> {
                Entry k = handles.get(arg(rec, 0), Kind.KERNEL, "kernel");
                int index = argIndex(k, arg(rec, 1));
                int n = Wire.blobLength(rec, 0);
                if (n <= 0 || n > MAX_ARG_VALUE) {
                    throw new CallException(Status.INVALID_KERNEL_ARGS, "argument " + index + " value of " + n
                            + " bytes: a by-value argument takes 1.." + MAX_ARG_VALUE + " bytes");
                }
                k.backend.setKernelArgValue(k.handle, index, rec.asSlice(op.fixedLength(), n));
            }
            case KERNEL_ARG_LOCAL -> {
                Entry k = handles.get(arg(rec, 0), Kind.KERNEL, "kernel");
                int index = argIndex(k, arg(rec, 1));
                long bytes = arg(rec, 2);
                if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
                    throw new CallException(Status.INVALID_KERNEL_ARGS, "argument " + index + ": local memory size "
                            + bytes + " must be positive");
                }
                k.backend.setKernelArgLocal(k.handle, index, bytes);
            }
            case BUFFER_WRITE, BUFFER_READ -> {
                Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
                Entry buf = handles.get(arg(rec, 1), Kind.BUFFER, "buffer");
                sameBackend(q, buf);
                long offset = arg(rec, 2);
                long size = arg(rec, 3);
                long heapOffset = arg(rec, 4);
                checkRange(buf, offset, size);
                checkHeap(heapOffset, size);
                long event = newEvent(arg(rec, 5));
                enqueue(q);
                if (op == Op.BUFFER_WRITE) {
                    onDevice(q, () -> q.backend.enqueueWrite(q.handle, buf.handle, offset, size, heapOffset, event));
                } else {
                    onDevice(q, () -> q.backend.enqueueRead(q.handle, buf.handle, offset, size, heapOffset, event));
                }
                putEvent(event, q);
            }
            case BUFFER_COPY -> {
                Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
                Entry src = handles.get(arg(rec, 1), Kind.BUFFER, "source buffer");
                Entry dst = handles.get(arg(rec, 2), Kind.BUFFER, "destination buffer");
                sameBackend(q, src);
                sameBackend(q, dst);
                long size = arg(rec, 5);
                checkRange(src, arg(rec, 3), size);
                checkRange(dst, arg(rec, 4), size);
                long event = newEvent(arg(rec, 6));
                enqueue(q);
                long srcOffset = arg(rec, 3);
                long dstOffset = arg(rec, 4);
                onDevice(q, () -> q.backend.enqueueCopy(q.handle, src.handle, dst.handle, srcOffset, dstOffset, size,
                        event));
                putEvent(event, q);
            }
            case BUFFER_FILL -> {
                Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
                Entry buf = handles.get(arg(rec, 1), Kind.BUFFER, "buffer");
                sameBackend(q, buf);
                long offset = arg(rec, 2);
                long size = arg(rec, 3);
                int n = Wire.blobLength(rec, 0);
                if (n <= 0 || n > MAX_FILL_PATTERN || Integer.bitCount(n) != 1) {
                    throw new CallException(Status.INVALID_ARGUMENT, "fill pattern of " + n
                            + " bytes: it must be 1, 2, 4, ... or " + MAX_FILL_PATTERN + " bytes");
                }
                checkRange(buf, offset, size);
                if (offset % n != 0 || size % n != 0) {
                    throw new CallException(Status.INVALID_ARGUMENT, "fill offset " + offset + " and size " + size
                            + " must be multiples of the " + n + "-byte pattern");
                }
                long event = newEvent(arg(rec, 4));
                enqueue(q);
                MemorySegment pattern = rec.asSlice(op.fixedLength(), n);
                onDevice(q, () -> q.backend.enqueueFill(q.handle, buf.handle, pattern, offset, size, event));
                putEvent(event, q);
            }
            case LAUNCH -> launch(rec);
            case QUEUE_HINT -> {
                Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
                long priority = arg(rec, 1);
                long deadline = arg(rec, 2);
                long scope = arg(rec, 3);
                if (priority < -1000 || priority > 1000 || deadline < 0 || (scope != 0 && scope != 1)) {
                    throw new CallException(Status.INVALID_ARGUMENT, "hint priority " + priority
                            + " must be in -1000..1000, deadline " + deadline + " ns not negative, scope " + scope
                            + " 0 (next command) or 1 (the queue)");
                }
                if (scope == 1) {
                    q.hintPriority = (int) priority;
                    q.hintDeadlineNanos = deadline;
                } else {
                    q.nextHint = true;
                    q.nextPriority = (int) priority;
                    q.nextDeadlineNanos = deadline;
                }
            }
            case FINISH -> {
                Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
                // Under the scheduler every device command already ran to completion: only one-way calls that are
                // not device commands (kernel arguments, creations) may still be on their way to a device worker.
                if (backends.dispatchFor((Devices.Device) q.device) == null || q.queued != 0) {
                    backends.commandsFinished(q.queued);
                    q.queued = 0;
                    q.backend.finish(q.handle);
                } else {
                    q.backend.sync();
                }
            }
            case EVENT_WAIT -> {
                Entry ev = handles.get(arg(rec, 0), Kind.EVENT, "event");
                long[] times = ev.backend.waitEvent(ev.handle);
                results[0] = times[0];
                results[1] = times[1];
            }
            default -> throw new IllegalStateException("not a compute call: " + op);
        }
        return results[0];
    }

    private void launch(MemorySegment rec) throws CallException, BackendException {
        Entry q = handles.get(arg(rec, 0), Kind.QUEUE, "queue");
        Entry k = handles.get(arg(rec, 1), Kind.KERNEL, "kernel");
        sameBackend(q, k);
        long dims = arg(rec, 2);
        if (dims < 1 || dims > 3) {
            throw new CallException(Status.INVALID_WORK_SIZE, "a launch has 1 to 3 dimensions, not " + dims);
        }
        int d = (int) dims;
        long[] offset = new long[d];
        long[] global = new long[d];
        long[] local = new long[d];
        boolean anyOffset = false;
        int localGiven = 0;
        for (int i = 0; i < d; i++) {
            offset[i] = arg(rec, 3 + i);
            global[i] = arg(rec, 6 + i);
            local[i] = arg(rec, 9 + i);
            if (offset[i] < 0 || global[i] <= 0 || local[i] < 0) {
                throw new CallException(Status.INVALID_WORK_SIZE, "dimension " + i + ": global size " + global[i]
                        + " must be positive, offset " + offset[i] + " and local size " + local[i]
                        + " must not be negative");
            }
            anyOffset |= offset[i] != 0;
            localGiven += local[i] != 0 ? 1 : 0;
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
        for (int i = 0; localGiven != 0 && i < d; i++) {
            if (global[i] % local[i] != 0) {
                throw new CallException(Status.INVALID_WORK_SIZE, "dimension " + i + ": global size " + global[i]
                        + " is not a multiple of local size " + local[i]);
            }
        }
        long event = newEvent(arg(rec, 12));
        enqueue(q);
        long[] off = anyOffset ? offset : null;
        long[] loc = localGiven != 0 ? local : null;
        onDevice(q, () -> k.backend.enqueueLaunch(q.handle, k.handle, d, off, global, loc, event));
        putEvent(event, q);
    }

    /**
     * Runs a device command: straight to the backend under the FIFO policy, or through the device's scheduler,
     * which gives the command its turn and runs it to completion so its device time is known.
     */
    private void onDevice(Entry q, DeviceTurns.Command command) throws CallException, BackendException {
        DeviceTurns dispatch = backends.dispatchFor((Devices.Device) q.device);
        if (dispatch == null) {
            command.run();
            return;
        }
        Hint hint = backends.hintFor(q);
        dispatch.run(backends.tenant(), hint, () -> {
            command.run();
            q.backend.finish(q.handle);
        }, backends.cancelFor(q.backend));
        backends.commandsFinished(q.queued);
        q.queued = 0;
    }

    private void enqueue(Entry queue) throws CallException {
        QuotaChecks.checkCommandsInFlight(session.quotas(), backends.inFlight(), queue.queued, queue.handle);
        queue.queued++;
        backends.commandsEnqueued();
    }

    private long newEvent(long event) throws CallException {
        if (event != 0) {
            handles.checkNew(event, "event");
        }
        return event;
    }

    private void putEvent(long event, Entry queue) {
        if (event != 0) {
            handles.put(event, Kind.EVENT, queue.backend, 0, 0);
        }
    }

    private static int argIndex(Entry kernel, long index) throws CallException {
        if (index < 0 || index >= kernel.argCount) {
            throw new CallException(Status.INVALID_KERNEL_ARGS, "argument index " + index + " is out of range: the kernel has "
                    + kernel.argCount + " argument" + (kernel.argCount == 1 ? "" : "s"));
        }
        return (int) index;
    }

    private static void sameBackend(Entry a, Entry b) throws CallException {
        if (a.backend != b.backend) {
            throw new CallException(Status.INVALID_ARGUMENT, a.kind.name().toLowerCase() + " " + a.handle + " and "
                    + b.kind.name().toLowerCase() + " " + b.handle + " belong to devices of different backends");
        }
    }

    private static void checkRange(Entry buf, long offset, long size) throws CallException {
        if (offset < 0 || size <= 0 || size > buf.size - offset) {
            throw new CallException(Status.OUT_OF_RANGE, "range [offset " + offset + ", size " + size
                    + ") is outside buffer " + buf.handle + " of " + buf.size + " bytes");
        }
    }

    private void checkHeap(long heapOffset, long size) throws CallException {
        if (heapOffset < 0 || size <= 0 || size > heapSize - heapOffset) {
            throw new CallException(Status.HEAP_RANGE, "heap range [offset " + heapOffset + ", size " + size
                    + ") is outside the guest heap of " + heapSize + " bytes");
        }
    }

    private static long arg(MemorySegment rec, int index) {
        return Wire.arg(rec, 0, index);
    }

    private static String blob(MemorySegment rec, Op op) {
        return Wire.string(rec, op.fixedLength(), Wire.blobLength(rec, 0));
    }
}
