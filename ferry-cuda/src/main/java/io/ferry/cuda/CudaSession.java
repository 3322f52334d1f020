package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.ComputeSession;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The CUDA objects of one guest session, named by the guest's handles.
 *
 * <p><b>One context per guest.</b> The first {@code createContext} on a device makes a {@code CUcontext} for this
 * session alone; the guest's further contexts on that device share it (Ferry contexts are scopes; CUDA contexts are
 * address spaces). Each context has its own GPU virtual address space, so a guest's kernels reach only memory
 * allocated or registered in its own context: the MMU keeps guests apart. Every call makes the session's context
 * current on the calling thread first ({@code cuCtxSetCurrent}), because the host may serve several guests from
 * one thread over time.
 *
 * <p><b>Zero copy from the heap.</b> The guest's heap is registered once per context with
 * {@code cuMemHostRegister(heap, size, 0)}: pinned and mapped for this context only (not portable to others), and
 * unregistered when the session closes. Writes and reads are {@code cuMemcpyHtoDAsync}/{@code cuMemcpyDtoHAsync}
 * between the heap and device memory: asynchronous DMA straight from and into guest memory, no staging copy.
 * Heap-backed buffers ({@code heapOffset >= 0}) still get device memory of their own (a kernel reading host memory
 * over PCIe would be slow); their initial contents are copied from the heap at creation, and afterwards data moves
 * by explicit writes and reads, DMA from the registered heap as for any buffer.
 *
 * <p><b>Faults.</b> A kernel that faults (illegal address, illegal instruction, a failed launch ...) leaves the
 * context unusable ("sticky" errors, {@link CudaErrors#isSticky}); the call that reports it answers
 * {@link Status#DEVICE_LOST} naming the fault, and so does every later call of this session. Other guests' contexts
 * are untouched. {@link #close()} still destroys the context, which frees everything of the guest on the device.
 *
 * <p>{@link #deviceMemoryBytes()} counts the sizes of live buffers (each is a {@code cuMemAlloc}).
 * Calls come from one thread at a time; scratch memory for out-parameters is allocated once per session.
 *
 * <p>Arguments arrive validated by the host (see {@link io.ferry.spi.BackendSession}); programs and kernels are
 * {@link CuPrograms}' work, queue commands {@link CuCommands}'.
 */
public final class CudaSession extends ComputeSession<CuObject> {
    private static final Logger LOG = Logger.getLogger("ferry.cuda");
    private static final long SCRATCH_BYTES = 4096;
    private static final long VALUE_AT = 64;

    private final List<CudaDevice> devices;
    private final Map<Integer, CuObject.DeviceContext> contexts = new HashMap<>();
    private final CuCommands commands = new CuCommands(this);
    /** One out-parameter (handle, pointer). */
    final MemorySegment slot;
    /** A second one. */
    final MemorySegment slot2;
    /** Fill patterns, small values. */
    final MemorySegment values;

    CudaSession(String guest, MemorySegment heap, List<CudaDevice> devices, Consumer<Object> onClose) {
        super("CUDA", guest, heap, SCRATCH_BYTES, onClose);
        this.devices = devices;
        MemorySegment scratch = scratch();
        slot = scratch.asSlice(0, 8);
        slot2 = scratch.asSlice(8, 8);
        values = scratch.asSlice(VALUE_AT, SCRATCH_BYTES - VALUE_AT);
    }

    // ---- contexts and queues ----

    @Override
    public void createContext(long context, int deviceIndex) throws BackendException {
        createContext(context, deviceIndex, false);
    }

    /**
     * As {@link #createContext(long, int)}; with {@code ownDeviceContext} the context gets a {@code CUcontext} of its
     * own even where the session has one on the device (the state of a session on two devices, on one GPU; tests).
     */
    void createContext(long context, int deviceIndex, boolean ownDeviceContext) throws BackendException {
        ensureUsable();
        CudaDevice device = device(devices, deviceIndex);
        int key = ownDeviceContext ? -1 - contexts.size() : deviceIndex;
        CuObject.DeviceContext dc = contexts.get(key);
        if (dc == null) {
            dc = openDeviceContext(device);
            contexts.put(key, dc);
        }
        put(context, new CuObject.Context(dc));
    }

    private CuObject.DeviceContext openDeviceContext(CudaDevice device) throws BackendException {
        String what = "device " + device.info().index() + " '" + device.info().name() + "' for guest '" + guest() + "'";
        int rc = Cuda.ctxCreate(slot, Cuda.CU_CTX_SCHED_AUTO, device.ordinal());
        if (rc != 0) {
            throw CudaErrors.exception("cuCtxCreate", rc, what);
        }
        long ctx = slot.get(JAVA_LONG, 0);
        MemorySegment heap = heap();
        EventClock clock = null;
        MemorySegment view = heap;
        boolean registered = false;
        try {
            // cuCtxCreate pushed the context onto this thread's context stack. Pop it: the thread serves other
            // sessions too, and bind() makes a context current by replacing the top, so the stack stays one deep.
            check("cuCtxPopCurrent_v2", Cuda.ctxPopCurrent(slot2), what);
            check("cuCtxSetCurrent", Cuda.ctxSetCurrent(ctx), what);
            if (heap.byteSize() > 0) {
                // A range is registered once per process (CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED), and a portable
                // registration would map the heap into other guests' contexts too: a further device context of this
                // session registers a view of its own (HeapAlias), for itself only.
                if (contexts.values().stream().anyMatch(c -> c.heapView.address() == heap.address())) {
                    try {
                        view = HeapAlias.of(heap);
                    } catch (IllegalStateException e) {
                        LOG.warning(() -> "guest '" + guest() + "': " + e.getMessage());
                    }
                }
                rc = CudaMemory.memHostRegister(view.address(), view.byteSize(), 0);
                registered = rc == 0;
                if (!registered) {
                    int code = rc;
                    LOG.warning(() -> "guest '" + guest() + "': " + CudaErrors.message("cuMemHostRegister_v2", code,
                            "heap of " + heap.byteSize() + " bytes") + "; copies fall back to pageable transfers");
                }
            }
            MemorySegment least = slot;
            MemorySegment greatest = slot2;
            least.set(JAVA_INT, 0, 0);
            greatest.set(JAVA_INT, 0, 0);
            check("cuCtxGetStreamPriorityRange", Cuda.ctxGetStreamPriorityRange(least, greatest), what);
            int lo = least.get(JAVA_INT, 0);
            int hi = greatest.get(JAVA_INT, 0);
            clock = new EventClock(new ClockEvents(), System.nanoTime());
            return new CuObject.DeviceContext(device, ctx, lo, hi, clock, registered, view);
        } catch (BackendException | RuntimeException e) {
            if (clock != null) {
                clock.close();
            }
            if (registered) {
                CudaMemory.memHostUnregister(view.address());
            }
            Cuda.ctxDestroy(ctx);
            if (view != heap) {
                HeapAlias.release(view);
            }
            throw e;
        }
    }

    /** The driver side of a context's {@link EventClock} (its context current, as on every call of the session). */
    private final class ClockEvents implements EventClock.Device {
        @Override
        public long recordAndWait() throws BackendException {
            check("cuEventCreate", Cuda.eventCreate(slot, Cuda.CU_EVENT_DEFAULT), "clock anchor");
            long e = slot.get(JAVA_LONG, 0);
            int rc = Cuda.eventRecord(e, 0);
            if (rc == 0) {
                rc = Cuda.eventSynchronize(e);
            }
            if (rc != 0) {
                Cuda.eventDestroy(e);
                throw exception("cuEventRecord", rc, "clock anchor");
            }
            return e;
        }

        @Override
        public float elapsedMillis(long from, long to) {
            return Cuda.elapsedMillis(values, from, to);
        }

        @Override
        public void destroy(long event) {
            Cuda.eventDestroy(event);
        }
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        bind(dc);
        int p = LaunchGeometry.streamPriority(priority, dc.leastPriority, dc.greatestPriority);
        // Non-blocking: a guest's queues do not wait for work on the legacy default stream (Ferry never uses it for
        // guest work), so queues of one guest run concurrently as OpenCL queues may.
        check("cuStreamCreateWithPriority", Cuda.streamCreateWithPriority(slot, 1 /* CU_STREAM_NON_BLOCKING */, p),
                "priority hint " + priority + " → stream priority " + p + " in [" + dc.greatestPriority + ", "
                        + dc.leastPriority + "]");
        put(queue, new CuObject.Queue(dc, slot.get(JAVA_LONG, 0), profiling, p));
    }

    // ---- buffers ----

    @Override
    public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset) throws BackendException {
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        long src = heapOffset >= 0 ? heapAddress(dc, heapOffset, size) : 0;
        bind(dc);
        int rc = CudaMemory.memAlloc(slot, size);
        if (rc != 0) {
            throw exception("cuMemAlloc_v2", rc, size + " bytes; this guest holds " + deviceMemoryBytes()
                    + " bytes of device memory");
        }
        long dptr = slot.get(JAVA_LONG, 0);
        if (heapOffset >= 0) {
            // Initial contents from the heap (as CL_MEM_USE_HOST_PTR promises); synchronous so no queue has to order it.
            rc = CudaMemory.memcpyHtoDAsync(dptr, src, size, 0);
            if (rc == 0) {
                rc = Cuda.streamSynchronize(0);
            }
            if (rc != 0) {
                CudaMemory.memFree(dptr);
                throw exception("cuMemcpyHtoDAsync_v2", rc, "initial contents of a heap-backed buffer of " + size + " bytes");
            }
        }
        put(buffer, new CuObject.Buffer(dc, dptr, size, heapOffset >= 0));
        allocated(size);
    }

    // ---- programs and kernels ----

    @Override
    public void createProgram(long program, long context, SourceLanguage language, String source) throws BackendException {
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        if (language != SourceLanguage.CUDA_C && language != SourceLanguage.PTX) {
            throw new BackendException(Status.UNSUPPORTED, "the CUDA backend builds CUDA C and PTX, not " + language
                    + "; choose a device of a backend that lists " + language + " (e.g. an OpenCL device)");
        }
        put(program, new CuObject.Program(dc, language, source));
    }

    @Override
    public String buildProgram(long program, String options) throws BackendException {
        return CuPrograms.build(this, get(program, CuObject.Program.class), options);
    }

    @Override
    public int createKernel(long kernel, long program, String name) throws BackendException {
        CuObject.Kernel k = CuPrograms.createKernel(this, get(program, CuObject.Program.class), name);
        put(kernel, k);
        return k.args.count;
    }

    // ---- kernel arguments ----

    @Override
    public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
        CuObject.Kernel k = get(kernel, CuObject.Kernel.class);
        if (buffer == 0) {
            throw new BackendException(Status.UNSUPPORTED, k.args.describe(index) + ": the CUDA backend takes no NULL "
                    + "buffer argument; pass a buffer (or a 0 by-value pointer argument)");
        }
        CuObject.Buffer b = get(buffer, CuObject.Buffer.class);
        if (b.dc != k.dc) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, k.args.describe(index)
                    + ": the buffer belongs to another device");
        }
        k.args.setBuffer(index, b);
    }

    @Override
    public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
        get(kernel, CuObject.Kernel.class).args.setValue(index, value);
    }

    @Override
    public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
        get(kernel, CuObject.Kernel.class).args.setLocal(index, bytes);
    }

    // ---- queue commands ----

    @Override
    public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event,
                             long[] waits) throws BackendException {
        requireNoWaits(waits);
        commands.write(queue, buffer, offset, size, heapOffset, event);
    }

    @Override
    public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event,
                            long[] waits) throws BackendException {
        requireNoWaits(waits);
        commands.read(queue, buffer, offset, size, heapOffset, event);
    }

    @Override
    public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event,
                            long[] waits) throws BackendException {
        requireNoWaits(waits);
        commands.copy(queue, src, dst, srcOffset, dstOffset, size, event);
    }

    @Override
    public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event,
                            long[] waits) throws BackendException {
        requireNoWaits(waits);
        commands.fill(queue, buffer, pattern, offset, size, event);
    }

    @Override
    public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event,
                              long[] waits) throws BackendException {
        requireNoWaits(waits);
        commands.launch(queue, kernel, dims, offset, global, local, event);
    }

    @Override
    public void finish(long queue) throws BackendException {
        commands.finish(queue);
    }

    @Override
    public long[] waitEvent(long event) throws BackendException {
        return commands.waitEvent(event);
    }

    // ---- release ----

    @Override
    protected void destroy(long handle, CuObject o) throws BackendException {
        bind(o.dc);
        switch (o) {
            case CuObject.Context c -> {
                // The CUcontext is the guest's address space on the device: it lives until the session ends.
            }
            case CuObject.Queue q -> check("cuStreamDestroy_v2", Cuda.streamDestroy(q.stream), "handle " + handle);
            case CuObject.Buffer b -> {
                freed(b.size);
                check("cuMemFree_v2", CudaMemory.memFree(b.dptr), "handle " + handle);
            }
            case CuObject.Program p -> unloadIfUnused(p);
            case CuObject.Kernel k -> {
                k.program.kernels--;
                unloadIfUnused(k.program);
            }
            case CuObject.Event e -> {
                CuCommands.destroyEvent(e.start);
                if (e.anchor != null) {
                    e.dc.clock.release(e.anchor);
                }
                check("cuEventDestroy_v2", Cuda.eventDestroy(e.end), "handle " + handle);
            }
        }
    }

    private void unloadIfUnused(CuObject.Program p) throws BackendException {
        if (p.isReleased() && p.kernels == 0 && p.module != 0) {
            long m = p.module;
            p.module = 0;
            check("cuModuleUnload", CudaModules.moduleUnload(m), null);
        }
    }

    /**
     * Destroys everything of the session: after a fault only the contexts (the driver frees all their memory,
     * modules, streams and the heap registration with them); otherwise each object first.
     */
    @Override
    protected void closeAll(List<CuObject> all) {
        for (CuObject.DeviceContext dc : contexts.values()) {
            try {
                if (Cuda.ctxSetCurrent(dc.ctx) == 0 && !deviceWorkEnded()) {
                    releaseAll(dc, all);
                }
            } catch (RuntimeException ignored) {
                // the contexts are destroyed below anyway
            }
        }
        for (CuObject.DeviceContext dc : contexts.values()) {
            try {
                Cuda.ctxDestroy(dc.ctx); // ends what a fault left registered too
            } catch (RuntimeException ignored) {
                // nothing more to do
            }
            if (dc.heapView.address() != heap().address()) {
                HeapAlias.release(dc.heapView);
            }
        }
        contexts.clear();
    }

    private void releaseAll(CuObject.DeviceContext dc, List<CuObject> all) {
        for (CuObject o : all) {
            if (o.dc == dc && o instanceof CuObject.Queue q) {
                Cuda.streamSynchronize(q.stream);
            }
        }
        for (CuObject o : all) {
            if (o.dc != dc) {
                continue;
            }
            switch (o) {
                case CuObject.Event e -> {
                    CuCommands.destroyEvent(e.start);
                    Cuda.eventDestroy(e.end);
                    if (e.anchor != null) {
                        e.dc.clock.release(e.anchor);
                    }
                }
                case CuObject.Buffer b -> CudaMemory.memFree(b.dptr);
                case CuObject.Queue q -> Cuda.streamDestroy(q.stream);
                default -> {
                }
            }
        }
        for (CuObject o : all) {
            if (o.dc == dc && o instanceof CuObject.Program p && p.module != 0) {
                CudaModules.moduleUnload(p.module);
                p.module = 0;
            }
        }
        if (dc.heapRegistered) {
            CudaMemory.memHostUnregister(dc.heapView.address());
        }
        dc.clock.close();
    }

    // ---- for the program and command helpers ----

    /** The object {@code handle} names, of kind {@code type} (see {@link ComputeSession#get}). */
    <T extends CuObject> T object(long handle, Class<T> type) throws BackendException {
        return get(handle, type);
    }

    /** Records a new event (see {@link ComputeSession#put}). */
    void keep(long handle, CuObject.Event event) {
        put(handle, event);
    }

    /**
     * The address of heap range [offset, offset + size) in {@code dc}'s view of the heap (the one registered in that
     * context), after the bounds check of {@link ComputeSession#heapSlice}.
     */
    long heapAddress(CuObject.DeviceContext dc, long offset, long size) throws BackendException {
        heapSlice(offset, size);
        return dc.heapView.address() + offset;
    }

    /** Makes the session's context current on this thread. */
    void bind(CuObject.DeviceContext dc) throws BackendException {
        int rc = Cuda.ctxSetCurrent(dc.ctx);
        if (rc != 0) {
            throw exception("cuCtxSetCurrent", rc, null);
        }
    }

    private void check(String function, int rc, String context) throws BackendException {
        if (rc != 0) {
            throw exception(function, rc, context);
        }
    }

    /** The exception for a failed call; a sticky fault also ends the session's device work. */
    BackendException exception(String function, int rc, String context) {
        String message = CudaErrors.message(function, rc, context);
        if (CudaErrors.isSticky(rc)) {
            String detail = Cuda.errorString(rc);
            return lose(message + (detail == null ? "" : " (" + detail + ")"));
        }
        return new BackendException(CudaErrors.status(rc), message);
    }

    /** Ends this session's device work after a fault that leaves its context unusable. */
    BackendException lose(String message) {
        String full = message + ": a kernel of guest '" + guest() + "' faulted, which leaves its CUDA context unusable; "
                + "this session's device work has ended (other guests are not affected)";
        if (!deviceWorkEnded()) {
            LOG.warning(() -> "guest '" + guest() + "': " + full);
        }
        return endDeviceWork(full);
    }
}
