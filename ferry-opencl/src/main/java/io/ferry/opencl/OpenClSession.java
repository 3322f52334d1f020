package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.InfoKind;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.ComputeSession;
import io.ferry.spi.InfoValue;
import io.ferry.spi.MemoryObjects;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The OpenCL objects of one guest session, named by the guest's handles.
 *
 * <p>Heap-backed buffers are created with {@code CL_MEM_USE_HOST_PTR} over the heap range, and writes/reads go
 * straight between the heap and the buffer (one copy, non-blocking). Enqueue and set-argument calls use a scratch
 * segment allocated once per session (calls come from one thread at a time), so they allocate no native memory.
 *
 * <p>{@link #deviceMemoryBytes()} counts the sizes of all live buffers, heap-backed ones included (on PoCL the
 * "device" memory of a heap-backed buffer is the heap itself, elsewhere the driver may still mirror it). Arguments
 * arrive validated by the host (see {@link io.ferry.spi.BackendSession}); this class checks what only OpenCL knows:
 * argument kinds against the kernel's declaration, objects of one context, and native errors.
 */
public final class OpenClSession extends ComputeSession<ClObject> {
    private static final long SCRATCH_BYTES = 4096 + ClMemory.SCRATCH_BYTES;
    private static final long VALUE_AT = 128;
    private static final long WAITS_AT = 2048;
    /** The status a user event gets when it is released or its session ends before the guest set it. */
    static final int USER_EVENT_ABANDONED = -1;

    private final List<ClDevice> devices;
    private final MemorySegment eventSlot;   // cl_event out-parameter / wait list of one
    private final MemorySegment errcode;     // cl_int errcode_ret
    private final MemorySegment offsets;     // size_t[3]
    private final MemorySegment globals;     // size_t[3]
    private final MemorySegment locals;      // size_t[3]
    private final MemorySegment pointerSlot; // one cl_mem / cl_device_id
    private final MemorySegment values;      // by-value args (at most 1 KiB), fill patterns, queue properties
    private final OpenClMemoryObjects memoryObjects;
    private final MemorySegment waitList;    // cl_event[64]: a command's wait list

    OpenClSession(String guest, MemorySegment heap, List<ClDevice> devices, Consumer<Object> onClose) {
        super("OpenCL", guest, heap, SCRATCH_BYTES, onClose);
        this.devices = devices;
        MemorySegment scratch = scratch();
        eventSlot = scratch.asSlice(0, 8);
        errcode = scratch.asSlice(8, 4);
        offsets = scratch.asSlice(16, 24);
        globals = scratch.asSlice(40, 24);
        locals = scratch.asSlice(64, 24);
        pointerSlot = scratch.asSlice(88, 8);
        values = scratch.asSlice(VALUE_AT, WAITS_AT - VALUE_AT);
        waitList = scratch.asSlice(WAITS_AT, 4096 - WAITS_AT);
        memoryObjects = new OpenClMemoryObjects(this, scratch.asSlice(4096, ClMemory.SCRATCH_BYTES), errcode);
    }

    // ---- objects ----

    @Override
    public void createContext(long context, int deviceIndex) throws BackendException {
        ensureUsable();
        ClDevice device = device(devices, deviceIndex);
        pointerSlot.set(JAVA_LONG, 0, device.id());
        long ptr = OpenCL.createContext(pointerSlot, 1, errcode);
        checkCreate("clCreateContext", "device " + deviceIndex + " '" + device.info().name() + "'");
        put(context, new ClObject.Context(ptr, device));
    }

    /** OpenCL drivers may build a kernel's code at its first launch: PoCL does, per work-group shape. */
    @Override
    public boolean compilesAtFirstLaunch() {
        return true;
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
        createQueue(queue, context, profiling, priority, false);
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority, boolean outOfOrder)
            throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        ClDevice device = ctx.device;
        long flags = profiling ? OpenCL.CL_QUEUE_PROFILING_ENABLE : 0;
        if (outOfOrder) {
            long supported = OpenCL.infoNumber(OpenCL.Info.DEVICE, device.id(), OpenCL.CL_DEVICE_QUEUE_PROPERTIES, 8, 0);
            if ((supported & OpenCL.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) == 0) {
                throw new BackendException(Status.UNSUPPORTED, "device '" + device.info().name() + "' has no "
                        + "out-of-order queues (CL_DEVICE_QUEUE_PROPERTIES 0x" + Long.toHexString(supported)
                        + "); use an in-order queue and order work with events");
            }
            flags |= OpenCL.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE;
        }
        long ptr;
        String function;
        if (device.clMajor() >= 2 && OpenCL.hasCreateQueueWithProperties()) {
            function = "clCreateCommandQueueWithProperties";
            int n = 0;
            values.setAtIndex(JAVA_LONG, n++, OpenCL.CL_QUEUE_PROPERTIES);
            values.setAtIndex(JAVA_LONG, n++, flags);
            if (priority != 0 && device.priorityHints()) {
                values.setAtIndex(JAVA_LONG, n++, OpenCL.CL_QUEUE_PRIORITY_KHR);
                values.setAtIndex(JAVA_LONG, n++, priority > 0 ? OpenCL.CL_QUEUE_PRIORITY_HIGH_KHR : OpenCL.CL_QUEUE_PRIORITY_LOW_KHR);
            }
            values.setAtIndex(JAVA_LONG, n, 0L);
            ptr = OpenCL.createCommandQueueWithProperties(ctx.ptr, device.id(), values, errcode);
        } else {
            function = "clCreateCommandQueue";
            ptr = OpenCL.createCommandQueue(ctx.ptr, device.id(), flags, errcode);
        }
        checkCreate(function, (profiling ? "profiling " : "") + (outOfOrder ? "out-of-order " : "") + "queue");
        put(queue, new ClObject.Queue(ptr, ctx, profiling));
    }

    @Override
    public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset) throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        long flags = switch (accessFlags) {
            case 1 -> OpenCL.CL_MEM_READ_ONLY;
            case 2 -> OpenCL.CL_MEM_WRITE_ONLY;
            default -> OpenCL.CL_MEM_READ_WRITE; // 0 and 3: the host allows nothing else
        };
        MemorySegment hostPtr = MemorySegment.NULL;
        if (heapOffset >= 0) {
            flags |= OpenCL.CL_MEM_USE_HOST_PTR;
            hostPtr = heapSlice(heapOffset, size);
        }
        long ptr = OpenCL.createBuffer(ctx.ptr, flags, size, hostPtr, errcode);
        checkCreate("clCreateBuffer", size + " bytes" + (heapOffset >= 0 ? " at heap offset " + heapOffset : ""));
        put(buffer, new ClObject.Buffer(ptr, ctx, size, heapOffset >= 0));
        allocated(size);
    }

    @Override
    public void createProgram(long program, long context, SourceLanguage language, String source) throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        if (language != SourceLanguage.OPENCL_C) {
            throw new BackendException(Status.UNSUPPORTED, "the OpenCL backend builds OpenCL C source only, not " + language
                    + "; choose a device of a backend that lists " + language);
        }
        put(program, ClPrograms.create(ctx, source, errcode));
    }

    @Override
    public String buildProgram(long program, String options) throws BackendException {
        return ClPrograms.build(get(program, ClObject.Program.class), options);
    }

    @Override
    public int createKernel(long kernel, long program, String name) throws BackendException {
        ClObject.Kernel k = ClPrograms.createKernel(get(program, ClObject.Program.class), name, errcode);
        put(kernel, k);
        return k.args.count;
    }

    // ---- kernel arguments ----

    @Override
    public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
        ClObject.Kernel k = get(kernel, ClObject.Kernel.class);
        if (buffer == 0) {
            k.args.checkBuffer(index);
            int rc = OpenCL.setKernelArg(k.ptr, index, 8, MemorySegment.NULL);
            if (rc != 0) {
                throw ClErrors.exception("clSetKernelArg", rc, k.args.context(index) + " given a NULL buffer");
            }
            k.args.markSet(index, null);
            return;
        }
        ClObject m = get(buffer, ClObject.class);
        boolean image = m instanceof ClObject.Image;
        ClObject.Context context = image ? ((ClObject.Image) m).context : get(buffer, ClObject.Buffer.class).context;
        k.args.checkBuffer(index);
        if (context != k.context) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, k.args.context(index) + ": the "
                    + (image ? "image" : "buffer") + " belongs to another context");
        }
        pointerSlot.set(JAVA_LONG, 0, m.ptr);
        int rc = OpenCL.setKernelArg(k.ptr, index, 8, pointerSlot);
        if (rc != 0) {
            throw ClErrors.exception("clSetKernelArg", rc, k.args.context(index) + " given "
                    + (image ? "an image" : "a buffer of " + ((ClObject.Buffer) m).size + " bytes"));
        }
        k.args.markSet(index, m);
    }

    @Override
    public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
        ClObject.Kernel k = get(kernel, ClObject.Kernel.class);
        long size = value.byteSize();
        k.args.checkValue(index, size);
        MemorySegment arg = value;
        if (!value.isNative()) {
            // at most 1 KiB (the host's limit), which the scratch holds; the copy is bounds-checked all the same
            MemorySegment.copy(value, 0, values, 0, size);
            arg = values;
        }
        int rc = OpenCL.setKernelArg(k.ptr, index, size, arg);
        if (rc != 0) {
            throw ClErrors.exception("clSetKernelArg", rc, k.args.context(index) + " given a value of " + size + " bytes");
        }
        k.args.markSet(index, null);
    }

    @Override
    public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
        ClObject.Kernel k = get(kernel, ClObject.Kernel.class);
        k.args.checkLocal(index, bytes);
        int rc = OpenCL.setKernelArg(k.ptr, index, bytes, MemorySegment.NULL);
        if (rc != 0) {
            throw ClErrors.exception("clSetKernelArg", rc, k.args.context(index) + " given " + bytes + " bytes of local memory");
        }
        k.args.markSet(index, null);
    }

    // ---- enqueue ----

    @Override
    public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event, long[] waits) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        ClObject.Buffer b = sameContext(q, get(buffer, ClObject.Buffer.class));
        MemorySegment src = heapSlice(heapOffset, size);
        int rc = OpenCL.enqueueWriteBuffer(q.ptr, b.ptr, offset, size, src, waits.length, waitList(waits),
                eventOut(event));
        ClErrors.check("clEnqueueWriteBuffer", rc, null);
        keepEvent(event, q);
    }

    @Override
    public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event, long[] waits) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        ClObject.Buffer b = sameContext(q, get(buffer, ClObject.Buffer.class));
        MemorySegment dst = heapSlice(heapOffset, size);
        int rc = OpenCL.enqueueReadBuffer(q.ptr, b.ptr, offset, size, dst, waits.length, waitList(waits),
                eventOut(event));
        ClErrors.check("clEnqueueReadBuffer", rc, null);
        keepEvent(event, q);
    }

    @Override
    public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event,
                            long[] waits) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        ClObject.Buffer s = sameContext(q, get(src, ClObject.Buffer.class));
        ClObject.Buffer d = sameContext(q, get(dst, ClObject.Buffer.class));
        int rc = OpenCL.enqueueCopyBuffer(q.ptr, s.ptr, d.ptr, srcOffset, dstOffset, size, waits.length,
                waitList(waits), eventOut(event));
        ClErrors.check("clEnqueueCopyBuffer", rc, null);
        keepEvent(event, q);
    }

    @Override
    public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event,
                            long[] waits) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        ClObject.Buffer b = sameContext(q, get(buffer, ClObject.Buffer.class));
        long n = pattern.byteSize();
        MemorySegment.copy(pattern, 0, values, 0, n);
        int rc = OpenCL.enqueueFillBuffer(q.ptr, b.ptr, values, n, offset, size, waits.length, waitList(waits),
                eventOut(event));
        ClErrors.check("clEnqueueFillBuffer", rc, null);
        keepEvent(event, q);
    }

    @Override
    public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event,
                              long[] waits) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        ClObject.Kernel k = get(kernel, ClObject.Kernel.class);
        if (k.context != q.context) {
            throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + k.args.kernelName + "' and the queue belong to different contexts");
        }
        k.args.checkLaunch();
        for (int i = 0; i < dims; i++) {
            globals.setAtIndex(JAVA_LONG, i, global[i]);
            if (offset != null) {
                offsets.setAtIndex(JAVA_LONG, i, offset[i]);
            }
            if (local != null) {
                locals.setAtIndex(JAVA_LONG, i, local[i]);
            }
        }
        int rc = OpenCL.enqueueNDRangeKernel(q.ptr, k.ptr, dims, offset == null ? MemorySegment.NULL : offsets, globals,
                local == null ? MemorySegment.NULL : locals, waits.length, waitList(waits), eventOut(event));
        if (rc != 0) {
            String context = rc == -52 ? k.args.notSetMessage()
                    : rc == -54 || rc == -55 ? ClKernelLimits.workGroupContext(k, dims, global, local, pointerSlot) : "kernel '" + k.args.kernelName + "' global "
                    + Arrays.toString(Arrays.copyOf(global, dims)) + (local == null ? "" : " local " + Arrays.toString(Arrays.copyOf(local, dims)))
                    + (offset == null ? "" : " offset " + Arrays.toString(Arrays.copyOf(offset, dims)));
            throw ClErrors.exception("clEnqueueNDRangeKernel", rc, context);
        }
        keepEvent(event, q);
    }

    // ---- memory objects (OpenClMemoryObjects), and what they use of this session ----

    @Override
    public MemoryObjects memoryObjects() {
        return memoryObjects;
    }

    <T extends ClObject> T object(long handle, Class<T> type) throws BackendException {
        return get(handle, type);
    }

    void keep(long handle, ClObject object) {
        put(handle, object);
    }

    MemorySegment heapRange(long offset, long size) throws BackendException {
        return heapSlice(offset, size);
    }

    void allocatedBytes(long bytes) {
        allocated(bytes);
    }

    @Override
    public void finish(long queue) throws BackendException {
        ClErrors.check("clFinish", OpenCL.finish(get(queue, ClObject.Queue.class).ptr), null);
    }

    @Override
    public long[] waitEvent(long event) throws BackendException {
        ClObject.Event e = get(event, ClObject.Event.class);
        eventSlot.set(JAVA_LONG, 0, e.ptr);
        int waited = OpenCL.waitForEvents(1, eventSlot);
        if (waited != 0) {
            int status = eventStatus(event);
            throw ClErrors.exception("clWaitForEvents", waited, status < 0 ? "the command failed with execution "
                    + "status " + status + " (" + ClErrors.name(status) + "): a command or user event it waited for "
                    + "failed, or the command itself did" : null);
        }
        return ClEvents.times(e, values);
    }

    // ---- events, markers and kernel queries ----

    @Override
    public void enqueueMarker(long queue, long event, long[] waits, boolean barrier) throws BackendException {
        ClObject.Queue q = get(queue, ClObject.Queue.class);
        int rc = OpenCL.enqueueMarker(barrier, q.ptr, waits.length, waitList(waits), eventOut(event));
        ClErrors.check(barrier ? "clEnqueueBarrierWithWaitList" : "clEnqueueMarkerWithWaitList", rc, null);
        keepEvent(event, q);
    }

    @Override
    public void createUserEvent(long event, long context) throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        long ptr = OpenCL.createUserEvent(ctx.ptr, errcode);
        checkCreate("clCreateUserEvent", null);
        put(event, new ClObject.Event(ptr, false, true));
    }

    @Override
    public void setUserEventStatus(long event, int status) throws BackendException {
        ClObject.Event e = get(event, ClObject.Event.class);
        if (!e.user) {
            throw new BackendException(Status.INVALID_ARGUMENT, "event " + event + " is not a user event");
        }
        ClErrors.check("clSetUserEventStatus", OpenCL.setUserEventStatus(e.ptr, status), "status " + status);
        e.userSet = true;
    }

    @Override
    public int eventStatus(long event) throws BackendException {
        return ClEvents.status(get(event, ClObject.Event.class), values);
    }

    @Override
    public long[] kernelWorkGroupInfo(long kernel) throws BackendException {
        return ClEvents.workGroupInfo(get(kernel, ClObject.Kernel.class), values);
    }

    // ---- what a native OpenCL ICD asks: info values, binaries, separate compilation and linking ----

    @Override
    public InfoValue info(InfoKind kind, long handle, int param, long index, long heapOffset, long heapSize)
            throws BackendException {
        String refused = kind == InfoKind.DEVICE ? "device params are the backend's" : kind.refusal(param, index);
        if (refused != null) {
            throw new BackendException(Status.INVALID_ARGUMENT, "INFO: " + refused); // the host checked too
        }
        ClObject o = switch (kind) {
            case PROGRAM, PROGRAM_BUILD -> get(handle, ClObject.Program.class);
            case IMAGE_FORMATS -> get(handle, ClObject.Context.class);
            default -> get(handle, ClObject.Kernel.class);
        };
        if (kind == InfoKind.KERNEL_ARG && (index < 0 || index >= ((ClObject.Kernel) o).args.count)) {
            throw new BackendException(Status.INVALID_ARGUMENT, "INFO: kernel argument " + index + " of a kernel of "
                    + ((ClObject.Kernel) o).args.count + " arguments");
        }
        if (heapSize > 0) {
            heapSlice(heapOffset, heapSize); // bounds-checked here too
        }
        return ClInfo.query(kind, o, param, index, heap(), heapOffset, heapSize);
    }

    @Override
    public void createProgramWithBinary(long program, long context, long heapOffset, long size)
            throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        put(program, ClPrograms.createWithBinary(ctx, heapSlice(heapOffset, size), errcode));
    }

    @Override
    public String compileProgram(long program, long[] headers, String[] includeNames, String options)
            throws BackendException {
        ClObject.Program p = get(program, ClObject.Program.class);
        return ClPrograms.compile(p, programs(headers, p.context, "header"), includeNames, options);
    }

    @Override
    public String linkProgram(long program, long context, long[] inputs, String options) throws BackendException {
        ClObject.Context ctx = get(context, ClObject.Context.class);
        ClPrograms.Linked linked = ClPrograms.link(ctx, programs(inputs, ctx, "input"), options, errcode);
        put(program, linked.program());
        return linked.log();
    }

    /** The programs named by {@code handles}, each of context {@code ctx}. */
    private ClObject.Program[] programs(long[] handles, ClObject.Context ctx, String what) throws BackendException {
        ClObject.Program[] out = new ClObject.Program[handles.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(handles[i], ClObject.Program.class);
            if (out[i].context != ctx) {
                throw new BackendException(Status.INVALID_ARGUMENT, what + " program " + handles[i]
                        + " belongs to another context");
            }
        }
        return out;
    }

    // ---- release ----

    @Override
    protected void destroy(long handle, ClObject o) throws BackendException {
        if (o instanceof ClObject.Image im) {
            freed(im.bytes);
        }
        if (o instanceof ClObject.Buffer b) {
            // a buffer's memory lives on until its last sub-buffer is released (OpenCL keeps it, and so does the count)
            ClObject.Buffer owner = b.parent != null ? b.parent : b;
            if (b.parent != null) {
                b.parent.subBuffers--;
            }
            if (owner.subBuffers == 0 && (owner == b || owner.isReleased())) {
                freed(owner.size);
            }
        }
        ClRelease.failIfUnset(o);
        ClErrors.check(o.kind().function, o.kind().call(o.ptr), "handle " + handle);
    }

    @Override
    protected void closeAll(List<ClObject> all) {
        ClRelease.closeAll(all);
    }

    // ---- helpers ----

    void checkCreate(String function, String context) throws BackendException {
        ClErrors.check(function, errcode.get(JAVA_INT, 0), context);
    }

    static ClObject.Buffer sameContext(ClObject.Queue q, ClObject.Buffer b) throws BackendException {
        if (b.context != q.context) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the buffer and the queue belong to different contexts");
        }
        return b;
    }

    /** The wait list in native memory: the events' pointers (each handle must be one of this session's events). */
    MemorySegment waitList(long[] waits) throws BackendException {
        if (waits.length == 0) {
            return MemorySegment.NULL;
        }
        for (int i = 0; i < waits.length; i++) {
            waitList.setAtIndex(JAVA_LONG, i, get(waits[i], ClObject.Event.class).ptr);
        }
        return waitList;
    }

    MemorySegment eventOut(long event) {
        return event == 0 ? MemorySegment.NULL : eventSlot;
    }

    void keepEvent(long event, ClObject.Queue q) {
        if (event != 0) {
            put(event, new ClObject.Event(eventSlot.get(JAVA_LONG, 0), q.profiling));
        }
    }
}
