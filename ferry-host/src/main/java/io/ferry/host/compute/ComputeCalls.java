package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.QuotaChecks;
import io.ferry.host.session.ServiceContext;
import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;

import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;

/**
 * The compute calls of one session: each reads its arguments from the private copy of the record through its
 * {@link Calls} view, validates every handle, size and range, then calls the backend. This is the one place a call
 * is validated: the session checked only its framing, and backends trust what {@link BackendSession}'s contract
 * lists, so every item of that contract is checked here. Nothing here reads guest memory: heap data is only named
 * by validated offsets that the backend turns into device transfers (or, for PROGRAM_CREATE_HEAP, reads once).
 */
final class ComputeCalls implements SessionService {
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
    private final KernelArgCalls kernelArgs;
    /** The seq of the call being served. */
    private long seq;
    // One flyweight per op, re-pointed at each record: nothing is allocated per call (one thread at a time).
    private final Calls.DeviceInfo deviceInfo = new Calls.DeviceInfo();
    private final Calls.ContextCreate contextCreate = new Calls.ContextCreate();
    private final Calls.QueueCreate queueCreate = new Calls.QueueCreate();
    private final Calls.BufferCreate bufferCreate = new Calls.BufferCreate();
    /** The program sources live programs of this session hold, at most {@link #MAX_SOURCE_BYTES}. */
    static final long MAX_SOURCE_BYTES = 64L << 20;
    private long sourceBytes;
    private final Calls.ProgramCreate programCreate = new Calls.ProgramCreate();
    private final ProgramCalls.ProgramCreateHeap programCreateHeap =
            new ProgramCalls.ProgramCreateHeap();
    private final Calls.ProgramBuild programBuild = new Calls.ProgramBuild();
    private final Calls.KernelCreate kernelCreate = new Calls.KernelCreate();
    private final Calls.Release release = new Calls.Release();
    private final Calls.QueueHint queueHint = new Calls.QueueHint();
    private final Calls.QueueRelease queueRelease = new Calls.QueueRelease();
    private final Calls.Finish finish = new Calls.Finish();
    private final Calls.EventWait eventWait = new Calls.EventWait();
    private final EventGates gates;
    private final DeviceCommands commands;
    private final MemoryObjectCalls memory;
    private final ProgramInfoCalls programs;

    ComputeCalls(ServiceContext session, Devices devices, ComputeBackends backends) {
        this.session = session;
        this.handles = session.handles();
        this.devices = devices;
        this.backends = backends;
        this.heapSize = session.heap().byteSize();
        this.gates = new EventGates(handles);
        this.commands = new DeviceCommands(session, backends, gates);
        this.kernelArgs = new KernelArgCalls(handles);
        this.memory = new MemoryObjectCalls(session, backends, commands);
        this.programs = new ProgramInfoCalls(session, devices);
    }

    @Override
    public void call(Op op, MemorySegment rec, long[] results, SessionContext ctx) throws CallException {
        try {
            if (op == Op.DEVICE_INFO) {
                deviceInfo(deviceInfo.wrap(rec, 0).device(), results);
            } else {
                serve(op, rec, results);
            }
        } catch (BackendException e) {
            throw new CallException(e);
        }
    }

    @Override
    public void callStarting(long seq, int op, long firstArg) {
        this.seq = seq;
        backends.callStarting(seq, op, firstArg);
    }

    @Override
    public void sync(SessionService.FailureSink failures) throws CallException {
        try {
            backends.sync(failures);
        } catch (BackendException e) {
            throw new CallException(e);
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
            throw devices.missing(index);
        }
        var info = d.info();
        long langs = 0;
        for (var l : info.languages()) {
            langs |= 1L << l.code();
        }
        results[0] = info.type().code() | (langs << 8);
        // The guest's device is its share of it: the memory it may hold (its lane's device-memory quota) where
        // that is less than the device has. Applications size their work by this figure (PyOpenCL's tests allocate
        // what CL_DEVICE_MAX_MEM_ALLOC_SIZE allows); a quota they cannot see fails them later.
        results[1] = Math.min(info.globalMemoryBytes(), session.quotas().deviceMemoryBytes());
        results[2] = info.localMemoryBytes();
        results[3] = (info.computeUnits() & 0xffff_ffffL) | (info.maxWorkGroupSize() << 32);
        session.replyText(info.name() + "\n" + info.vendor() + "\n" + info.version() + "\n" + d.backend().name());
    }

    /** Runs one compute call; returns result 0 (most calls return nothing). */
    private long serve(Op op, MemorySegment rec, long[] results) throws CallException, BackendException {
        switch (op) {
            case CONTEXT_CREATE -> {
                var c = contextCreate.wrap(rec, 0);
                long ctx = c.context();
                handles.checkNew(ctx, "context");
                long index = c.device();
                Devices.Device dev = devices.get(index);
                if (dev == null) {
                    throw devices.missing(index);
                }
                BackendSession b = backends.backendFor(dev);
                b.createContext(ctx, dev.info().index());
                handles.put(ctx, Kind.CONTEXT, b, 0, 0).device = dev;
            }
            case QUEUE_CREATE -> {
                var c = queueCreate.wrap(rec, 0);
                long q = c.queue();
                handles.checkNew(q, "queue");
                Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
                long flags = c.queueFlags();
                if ((flags & ~(Wire.QUEUE_PROFILING | Wire.QUEUE_OUT_OF_ORDER)) != 0) {
                    throw new CallException(Status.INVALID_ARGUMENT, "unknown queue flags 0x" + Long.toHexString(flags));
                }
                int priority = (int) Math.max(-1000, Math.min(1000, c.priority()));
                ctx.backend.createQueue(q, ctx.handle, (flags & Wire.QUEUE_PROFILING) != 0, priority,
                        (flags & Wire.QUEUE_OUT_OF_ORDER) != 0);
                Entry e = handles.put(q, Kind.QUEUE, ctx.backend, 0, 0);
                e.device = ctx.device;
                e.hintPriority = priority;
            }
            case BUFFER_CREATE -> {
                var c = bufferCreate.wrap(rec, 0);
                long buf = c.buffer();
                handles.checkNew(buf, "buffer");
                Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
                long size = c.size();
                long access = c.access();
                long heapOffset = c.heapOffset();
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
                handles.put(buf, Kind.BUFFER, ctx.backend, size, 0).device = ctx.device;
                backends.deviceMemoryChanged();
            }
            case PROGRAM_CREATE, PROGRAM_CREATE_HEAP -> {
                boolean inHeap = op == Op.PROGRAM_CREATE_HEAP;
                var c = programCreate.wrap(rec, 0); // PROGRAM_CREATE_HEAP starts with the same three arguments
                long prog = c.program();
                handles.checkNew(prog, "program");
                Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
                long code = c.language();
                SourceLanguage lang = SourceLanguage.of((int) code);
                if (lang == null || code != (int) code) {
                    throw new CallException(Status.INVALID_ARGUMENT, "unknown source language " + code);
                }
                long bytes = inHeap ? heapSourceBytes(programCreateHeap.wrap(rec, 0)) : c.blobLength();
                if (bytes > MAX_SOURCE_BYTES - sourceBytes) {
                    throw new CallException(Status.QUOTA_EXCEEDED, "program sources: " + sourceBytes + " bytes held "
                            + "by live programs + " + bytes + " > the host's limit of " + (MAX_SOURCE_BYTES >> 20)
                            + " MiB per session; release the programs you no longer need");
                }
                if (inHeap) { // the backend reads the source once and refuses a blank one
                    ctx.backend.createProgramInHeap(prog, ctx.handle, lang, programCreateHeap.heapOffset(), bytes);
                } else {
                    String source = c.blobText();
                    if (source.isBlank()) {
                        throw new CallException(Status.INVALID_ARGUMENT, "program source is empty");
                    }
                    ctx.backend.createProgram(prog, ctx.handle, lang, source);
                }
                handles.put(prog, Kind.PROGRAM, ctx.backend, bytes, 0).device = ctx.device; // size: its source
                sourceBytes += bytes;
            }
            case PROGRAM_BUILD -> {
                var c = programBuild.wrap(rec, 0);
                Entry prog = handles.get(c.program(), Kind.PROGRAM, "program");
                session.replyText(prog.backend.buildProgram(prog.handle,
                        io.ferry.spi.BuildOptions.checked(c.blobText())));
            }
            case KERNEL_CREATE -> {
                var c = kernelCreate.wrap(rec, 0);
                long k = c.kernel();
                handles.checkNew(k, "kernel");
                Entry prog = handles.get(c.program(), Kind.PROGRAM, "program");
                int n = c.blobLength();
                if (n > MAX_KERNEL_NAME) {
                    throw new CallException(Status.INVALID_ARGUMENT, "kernel name of " + n
                            + " bytes is longer than the host's limit of " + MAX_KERNEL_NAME + " bytes");
                }
                String name = c.blobText();
                int argc = prog.backend.createKernel(k, prog.handle, name);
                KernelArgState.attach(handles.put(k, Kind.KERNEL, prog.backend, 0, argc), name, prog.device);
                results[0] = argc;
            }
            case RELEASE -> {
                long h = release.wrap(rec, 0).handle();
                Entry e = handles.remove(h);
                gates.released(h);
                if (e == null) {
                    // Idempotent: the object's creation may have failed (reported once, as a sticky error).
                    break;
                }
                if (e.kind == Kind.QUEUE) {
                    backends.commandsFinished(e.queued);
                }
                if (e.kind == Kind.PROGRAM) {
                    sourceBytes -= e.size;
                }
                try {
                    e.backend.release(h);
                } finally {
                    backends.deviceMemoryChanged();
                }
            }
            case KERNEL_ARG_BUFFER, KERNEL_ARG_VALUE, KERNEL_ARG_LOCAL, KERNEL_ARG_SAMPLER ->
                    kernelArgs.serve(op, rec, seq);
            case BUFFER_WRITE, BUFFER_READ, BUFFER_COPY, BUFFER_FILL, LAUNCH, MARKER, BARRIER -> commands.serve(op, rec);
            case USER_EVENT_CREATE, USER_EVENT_SET, EVENT_STATUS, KERNEL_WORK_GROUP_INFO -> gates.serve(op, rec, results);
            case QUEUE_HINT -> {
                var c = queueHint.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                long priority = c.priority();
                long deadline = c.deadlineNs();
                long scope = c.scope();
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
            case QUEUE_RELEASE -> {
                var c = queueRelease.wrap(rec, 0);
                Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
                long period = c.periodNs(); // each read once; the scheduler validates these copies
                long offset = c.offsetNs();
                long budget = c.budgetNs();
                DeviceTurns turns = backends.dispatchFor((Devices.Device) q.device);
                if (turns == null) {
                    throw new CallException(Status.UNSUPPORTED, "release declarations need the host's scheduler; "
                            + "this host runs the fifo policy (scheduler: {policy: ferry} in its config)");
                }
                turns.declareRelease(backends.tenant(), period, offset, budget);
            }
            case FINISH -> {
                Entry q = handles.get(finish.wrap(rec, 0).queue(), Kind.QUEUE, "queue");
                gates.checkOpen(q.handle, "FINISH of queue " + q.handle);
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
                Entry ev = handles.get(eventWait.wrap(rec, 0).event(), Kind.EVENT, "event");
                gates.checkOpen(ev.handle, "EVENT_WAIT of event " + ev.handle);
                long[] times = ev.backend.waitEvent(ev.handle);
                System.arraycopy(times, 0, results, 0, Math.min(times.length, 4));
            }
            case SUB_BUFFER_CREATE, BUFFER_WRITE_RECT, BUFFER_READ_RECT, BUFFER_COPY_RECT, IMAGE_CREATE, IMAGE_WRITE,
                 IMAGE_READ, SAMPLER_CREATE -> memory.serve(op, rec);
            case INFO, PROGRAM_CREATE_BINARY, PROGRAM_COMPILE, PROGRAM_LINK -> programs.serve(op, rec, results);
            default -> throw new IllegalStateException("not a compute call: " + op);
        }
        return results[0];
    }

    static void sameBackend(Entry a, Entry b) throws CallException {
        if (a.backend != b.backend) {
            throw new CallException(Status.INVALID_ARGUMENT, a.kind.name().toLowerCase() + " " + a.handle + " and "
                    + b.kind.name().toLowerCase() + " " + b.handle + " belong to devices of different backends");
        }
    }

    static void checkRange(Entry buf, long offset, long size) throws CallException {
        if (offset < 0 || size <= 0 || size > buf.size - offset) {
            throw new CallException(Status.OUT_OF_RANGE, "range [offset " + offset + ", size " + size
                    + ") is outside buffer " + buf.handle + " of " + buf.size + " bytes");
        }
    }

    /** PROGRAM_CREATE_HEAP's source size, once its size (1 B to 16 MiB) and heap range are checked. */
    private long heapSourceBytes(ProgramCalls.ProgramCreateHeap c) throws CallException {
        long at = c.heapOffset();
        long size = c.size();
        if (size <= 0 || size > ProgramCalls.ProgramCreateHeap.MAX_SIZE) {
            throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_CREATE_HEAP: a source of " + size + " bytes; "
                    + "the host takes 1 to " + ProgramCalls.ProgramCreateHeap.MAX_SIZE + " bytes");
        }
        checkHeap(at, size);
        return size;
    }

    private void checkHeap(long heapOffset, long size) throws CallException {
        if (heapOffset < 0 || size <= 0 || size > heapSize - heapOffset) {
            throw new CallException(Status.HEAP_RANGE, "heap range [offset " + heapOffset + ", size " + size
                    + ") is outside the guest heap of " + heapSize + " bytes");
        }
    }
}
