package io.ferry.cuda;

import io.ferry.spi.HandleMap;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.BuildOptions;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
 */
public final class CudaSession implements BackendSession {
    private static final Logger LOG = Logger.getLogger("ferry.cuda");
    private static final long SCRATCH_BYTES = 4096;
    private static final long VALUE_AT = 64;
    private static final int JIT_LOG_BYTES = 16 * 1024;

    private final String guest;
    private final MemorySegment heap;
    private final List<CudaDevice> devices;
    private final Consumer<CudaSession> onClose;
    private final HandleMap<CuObject> objects = new HandleMap<>();
    private final Map<Integer, CuObject.DeviceContext> contexts = new HashMap<>();
    private final Arena scratchArena = Arena.ofShared();
    private final MemorySegment slot;      // one out-parameter (handle, pointer)
    private final MemorySegment slot2;     // a second one
    private final MemorySegment values;    // fill patterns, small values
    private long deviceBytes;
    private volatile boolean closed;
    /** The first fault that ended this guest's device work; null while usable. */
    private volatile String lost;

    CudaSession(String guest, MemorySegment heap, List<CudaDevice> devices, Consumer<CudaSession> onClose) {
        this.guest = guest;
        this.heap = heap;
        this.devices = devices;
        this.onClose = onClose;
        MemorySegment scratch = scratchArena.allocate(SCRATCH_BYTES, 64);
        slot = scratch.asSlice(0, 8);
        slot2 = scratch.asSlice(8, 8);
        values = scratch.asSlice(VALUE_AT, SCRATCH_BYTES - VALUE_AT);
    }

    /** The guest this session serves. */
    public String guest() {
        return guest;
    }

    /** Whether a fault ended this guest's device work (every call now answers {@link Status#DEVICE_LOST}). */
    public boolean isLost() {
        return lost != null;
    }

    // ---- contexts and queues ----

    @Override
    public void createContext(long context, int deviceIndex) throws BackendException {
        checkNew(context);
        if (deviceIndex < 0 || deviceIndex >= devices.size()) {
            throw new BackendException(Status.NO_DEVICE, "CUDA device index " + deviceIndex + " does not exist; the backend has "
                    + devices.size() + " device(s)");
        }
        CuObject.DeviceContext dc = contexts.get(deviceIndex);
        if (dc == null) {
            dc = openDeviceContext(devices.get(deviceIndex));
            contexts.put(deviceIndex, dc);
        }
        objects.put(context, new CuObject.Context(dc));
    }

    private CuObject.DeviceContext openDeviceContext(CudaDevice device) throws BackendException {
        String what = "device " + device.info().index() + " '" + device.info().name() + "' for guest '" + guest + "'";
        int rc = Cuda.ctxCreate(slot, Cuda.CU_CTX_SCHED_AUTO, device.ordinal());
        if (rc != 0) {
            throw CudaErrors.exception("cuCtxCreate", rc, what);
        }
        long ctx = slot.get(JAVA_LONG, 0);
        long epoch = 0;
        boolean registered = false;
        try {
            // cuCtxCreate made it current on this thread.
            if (heap.byteSize() > 0) {
                rc = Cuda.memHostRegister(heap.address(), heap.byteSize(), 0);
                registered = rc == 0;
                if (!registered) {
                    int code = rc;
                    LOG.warning(() -> "guest '" + guest + "': " + CudaErrors.message("cuMemHostRegister_v2", code,
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
            check("cuEventCreate", Cuda.eventCreate(slot, Cuda.CU_EVENT_DEFAULT), "epoch event");
            epoch = slot.get(JAVA_LONG, 0);
            check("cuEventRecord", Cuda.eventRecord(epoch, 0), "epoch event");
            check("cuEventSynchronize", Cuda.eventSynchronize(epoch), "epoch event");
            return new CuObject.DeviceContext(device, ctx, lo, hi, epoch, registered);
        } catch (BackendException | RuntimeException e) {
            if (epoch != 0) {
                Cuda.eventDestroy(epoch);
            }
            if (registered) {
                Cuda.memHostUnregister(heap.address());
            }
            Cuda.ctxDestroy(ctx);
            throw e;
        }
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
        checkNew(queue);
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        bind(dc);
        int p = LaunchGeometry.streamPriority(priority, dc.leastPriority, dc.greatestPriority);
        // Non-blocking: a guest's queues do not wait for work on the legacy default stream (Ferry never uses it for
        // guest work), so queues of one guest run concurrently as OpenCL queues may.
        check("cuStreamCreateWithPriority", Cuda.streamCreateWithPriority(slot, 1 /* CU_STREAM_NON_BLOCKING */, p),
                "priority hint " + priority + " → stream priority " + p + " in [" + dc.greatestPriority + ", "
                        + dc.leastPriority + "]");
        objects.put(queue, new CuObject.Queue(dc, slot.get(JAVA_LONG, 0), profiling, p));
    }

    // ---- buffers ----

    @Override
    public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset) throws BackendException {
        checkNew(buffer);
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        if (size <= 0) {
            throw new BackendException(Status.INVALID_ARGUMENT, "buffer size must be positive, was " + size);
        }
        if (accessFlags < 0 || accessFlags > 3) {
            throw new BackendException(Status.INVALID_ARGUMENT,
                    "buffer access flags must be 1 (read-only), 2 (write-only) or 3 (read-write), was " + accessFlags);
        }
        long src = heapOffset >= 0 ? heapAddress(heapOffset, size) : 0;
        bind(dc);
        int rc = Cuda.memAlloc(slot, size);
        if (rc != 0) {
            throw exception("cuMemAlloc_v2", rc, size + " bytes; this guest holds " + deviceBytes + " bytes of device memory");
        }
        long dptr = slot.get(JAVA_LONG, 0);
        if (heapOffset >= 0) {
            // Initial contents from the heap (as CL_MEM_USE_HOST_PTR promises); synchronous so no queue has to order it.
            rc = Cuda.memcpyHtoDAsync(dptr, src, size, 0);
            if (rc == 0) {
                rc = Cuda.streamSynchronize(0);
            }
            if (rc != 0) {
                Cuda.memFree(dptr);
                throw exception("cuMemcpyHtoDAsync_v2", rc, "initial contents of a heap-backed buffer of " + size + " bytes");
            }
        }
        objects.put(buffer, new CuObject.Buffer(dc, dptr, size, heapOffset >= 0));
        deviceBytes += size;
    }

    // ---- programs and kernels ----

    @Override
    public void createProgram(long program, long context, SourceLanguage language, String source) throws BackendException {
        checkNew(program);
        CuObject.DeviceContext dc = get(context, CuObject.Context.class).dc;
        if (language != SourceLanguage.CUDA_C && language != SourceLanguage.PTX) {
            throw new BackendException(Status.UNSUPPORTED, "the CUDA backend builds CUDA C and PTX, not " + language
                    + "; choose a device of a backend that lists " + language + " (e.g. an OpenCL device)");
        }
        if (source == null || source.isBlank()) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the program source is empty");
        }
        objects.put(program, new CuObject.Program(dc, language, source));
    }

    @Override
    public String buildProgram(long program, String options) throws BackendException {
        CuObject.Program p = get(program, CuObject.Program.class);
        if (p.module != 0) {
            if (p.kernels > 0) {
                throw new BackendException(Status.INVALID_ARGUMENT, "the program is built and has kernels; release them "
                        + "before building it again");
            }
            bind(p.dc);
            Cuda.moduleUnload(p.module);
            p.module = 0;
        }
        StringBuilder log = new StringBuilder();
        String ptx;
        String opts = options == null ? "" : options.strip();
        if (p.language == SourceLanguage.CUDA_C) {
            Nvrtc nvrtc = Nvrtc.get();
            List<String> args = nvrtcOptions(p.dc.device, opts);
            Nvrtc.Result r = nvrtc.compile(p.source, "ferry_program.cu", args);
            ptx = r.ptx();
            if (!r.log().isBlank()) {
                log.append(r.log());
            }
        } else {
            ptx = p.source;
            if (!opts.isEmpty()) {
                log.append("note: build options are ignored for PTX: ").append(opts);
            }
        }
        bind(p.dc);
        p.module = loadModule(ptx, log);
        p.ptx = ptx;
        p.entries = Ptx.entries(ptx);
        return log.toString().strip();
    }

    /**
     * NVRTC options: the device's virtual architecture (unless the guest names one), then the guest's options, each
     * checked against {@link BuildOptions}' NVRTC allow-list (NVRTC runs in the daemon: no option may read a file).
     */
    static List<String> nvrtcOptions(CudaDevice device, String guestOptions) throws BackendException {
        List<String> args = new ArrayList<>();
        List<String> guestArgs = BuildOptions.check(guestOptions, BuildOptions.Dialect.NVRTC);
        boolean archGiven = guestArgs.stream().anyMatch(a -> a.startsWith("--gpu-architecture") || a.startsWith("-arch"));
        if (!archGiven) {
            args.add(device.archOption());
        }
        args.addAll(guestArgs);
        return args;
    }

    /** {@code cuModuleLoadDataEx} with the JIT's info and error logs; a failure throws with the error log. */
    private long loadModule(String ptx, StringBuilder log) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocateFrom(ptx, StandardCharsets.UTF_8);
            MemorySegment info = arena.allocate(JIT_LOG_BYTES);
            MemorySegment error = arena.allocate(JIT_LOG_BYTES);
            MemorySegment options = arena.allocate(JAVA_INT, 4);
            MemorySegment optionValues = arena.allocate(ADDRESS, 4);
            options.setAtIndex(JAVA_INT, 0, Cuda.CU_JIT_INFO_LOG_BUFFER);
            optionValues.setAtIndex(ADDRESS, 0, info);
            options.setAtIndex(JAVA_INT, 1, Cuda.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);
            optionValues.setAtIndex(JAVA_LONG, 1, JIT_LOG_BYTES);
            options.setAtIndex(JAVA_INT, 2, Cuda.CU_JIT_ERROR_LOG_BUFFER);
            optionValues.setAtIndex(ADDRESS, 2, error);
            options.setAtIndex(JAVA_INT, 3, Cuda.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            optionValues.setAtIndex(JAVA_LONG, 3, JIT_LOG_BYTES);
            MemorySegment module = arena.allocate(JAVA_LONG);
            int rc = Cuda.moduleLoadDataEx(module, image, 4, options, optionValues);
            String infoLog = info.getString(0, StandardCharsets.UTF_8).strip();
            String errorLog = error.getString(0, StandardCharsets.UTF_8).strip();
            if (!infoLog.isEmpty()) {
                log.append(log.isEmpty() ? "" : "\n").append(infoLog);
            }
            if (rc != 0) {
                String message = CudaErrors.message("cuModuleLoadDataEx", rc, "loading PTX");
                if (CudaErrors.isSticky(rc)) {
                    throw lose(message);
                }
                Status status = CudaErrors.status(rc);
                if (status == Status.DEVICE_ERROR || status == Status.INVALID_ARGUMENT) {
                    status = Status.BUILD_FAILED;
                }
                throw new BackendException(status, errorLog.isEmpty() ? message : message + "\nbuild log:\n" + errorLog);
            }
            return module.get(JAVA_LONG, 0);
        }
    }

    @Override
    public int createKernel(long kernel, long program, String name) throws BackendException {
        checkNew(kernel);
        CuObject.Program p = get(program, CuObject.Program.class);
        if (p.module == 0) {
            throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + name + "': the program is not built; build "
                    + "it successfully first");
        }
        Ptx.Entry entry;
        try {
            entry = Ptx.find(p.entries, name);
        } catch (Ptx.AmbiguousNameException e) {
            throw new BackendException(Status.KERNEL_NOT_FOUND, "kernel '" + name + "' names several overloads "
                    + e.names + "; declare the kernel extern \"C\" or pass its mangled name");
        }
        if (entry == null) {
            List<String> names = p.entries.stream().map(Ptx.Entry::name).toList();
            throw new BackendException(Status.KERNEL_NOT_FOUND, "no kernel '" + name + "' in the program; its kernels: "
                    + (names.isEmpty() ? "none" : String.join(", ", names))
                    + (p.language == SourceLanguage.CUDA_C ? " (a __global__ function at global scope is found by its "
                    + "plain name; others need extern \"C\")" : ""));
        }
        bind(p.dc);
        long function;
        try (Arena arena = Arena.ofConfined()) {
            int rc = Cuda.moduleGetFunction(slot, p.module, arena.allocateFrom(entry.name(), StandardCharsets.UTF_8));
            if (rc != 0) {
                throw exception("cuModuleGetFunction", rc, "kernel '" + entry.name() + "'");
            }
            function = slot.get(JAVA_LONG, 0);
        }
        List<Ptx.Param> params = crossCheck(function, entry);
        int maxThreads = Cuda.funcGetAttribute(values, Cuda.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function) == 0
                ? values.get(JAVA_INT, 0) : 0;
        KernelParams args = new KernelParams(name, params, Arena.ofAuto());
        objects.put(kernel, new CuObject.Kernel(p.dc, p, function, args, maxThreads));
        p.kernels++;
        return args.count;
    }

    /**
     * The parameters from the PTX, checked against {@code cuFuncGetParamInfo} where the driver has it (CUDA ≥ 12.4):
     * the driver's sizes win, and parameters the PTX parse missed are added as byte arrays of the driver's size.
     */
    private List<Ptx.Param> crossCheck(long function, Ptx.Entry entry) {
        List<Ptx.Param> parsed = entry.params();
        if (!Cuda.hasFuncGetParamInfo()) {
            return parsed;
        }
        List<Ptx.Param> out = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            int rc = Cuda.funcGetParamInfo(function, i, slot, slot2);
            if (rc != 0) {
                break;
            }
            long size = slot2.get(JAVA_LONG, 0);
            Ptx.Param p = i < parsed.size() ? parsed.get(i) : null;
            if (p != null && p.size() == size) {
                out.add(p);
            } else {
                out.add(new Ptx.Param(p != null ? p.name() : entry.name() + "_param_" + i, "b8", size, 1,
                        p != null && p.pointer()));
            }
        }
        return out.isEmpty() && !parsed.isEmpty() ? parsed : out;
    }

    // ---- kernel arguments ----

    @Override
    public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
        CuObject.Kernel k = get(kernel, CuObject.Kernel.class);
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

    // ---- enqueue ----

    @Override
    public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, get(buffer, CuObject.Buffer.class));
        checkRange(b, offset, size);
        long src = heapAddress(heapOffset, size);
        bind(q.dc);
        long start = startEvent(q, event);
        int rc = Cuda.memcpyHtoDAsync(b.dptr + offset, src, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw exception("cuMemcpyHtoDAsync_v2", rc, size + " bytes from heap offset " + heapOffset);
        }
        endEvent(q, event, start);
    }

    @Override
    public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, get(buffer, CuObject.Buffer.class));
        checkRange(b, offset, size);
        long dst = heapAddress(heapOffset, size);
        bind(q.dc);
        long start = startEvent(q, event);
        int rc = Cuda.memcpyDtoHAsync(dst, b.dptr + offset, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw exception("cuMemcpyDtoHAsync_v2", rc, size + " bytes to heap offset " + heapOffset);
        }
        endEvent(q, event, start);
    }

    @Override
    public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event)
            throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        CuObject.Buffer s = sameDevice(q, get(src, CuObject.Buffer.class));
        CuObject.Buffer d = sameDevice(q, get(dst, CuObject.Buffer.class));
        checkRange(s, srcOffset, size);
        checkRange(d, dstOffset, size);
        bind(q.dc);
        long start = startEvent(q, event);
        int rc = Cuda.memcpyDtoDAsync(d.dptr + dstOffset, s.dptr + srcOffset, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw exception("cuMemcpyDtoDAsync_v2", rc, size + " bytes");
        }
        endEvent(q, event, start);
    }

    /**
     * Fills with a pattern of 1, 2 or 4 bytes by {@code cuMemsetD8/D16/D32Async}; a longer pattern that repeats a
     * 4-byte word likewise; any other pattern (8..128 bytes) by copying it into the buffer once and doubling it with
     * device-to-device copies (the one host-to-device copy of the pattern waits for the queue, since the pattern
     * lives in scratch memory).
     */
    @Override
    public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
            throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, get(buffer, CuObject.Buffer.class));
        long n = pattern.byteSize();
        if (n == 0 || n > 128 || Long.bitCount(n) != 1 || offset % n != 0 || size % n != 0) {
            throw new BackendException(Status.INVALID_ARGUMENT, "fill pattern must be 1, 2, 4, ... or 128 bytes and divide "
                    + "offset and size; pattern " + n + " bytes, offset " + offset + ", size " + size);
        }
        checkRange(b, offset, size);
        MemorySegment.copy(pattern, 0, values, 0, n);
        bind(q.dc);
        long start = startEvent(q, event);
        long dst = b.dptr + offset;
        int rc;
        String fn;
        if (n == 1) {
            fn = "cuMemsetD8Async";
            rc = Cuda.memsetD8Async(dst, values.get(JAVA_BYTE, 0), size, q.stream);
        } else if (n == 2) {
            fn = "cuMemsetD16Async";
            rc = Cuda.memsetD16Async(dst, values.get(JAVA_SHORT, 0), size / 2, q.stream);
        } else if (repeatsWord(values, n)) {
            fn = "cuMemsetD32Async";
            rc = Cuda.memsetD32Async(dst, values.get(JAVA_INT, 0), size / 4, q.stream);
        } else {
            fn = "cuMemcpyHtoDAsync_v2";
            rc = Cuda.memcpyHtoDAsync(dst, values.address(), n, q.stream);
            if (rc == 0) {
                fn = "cuStreamSynchronize";
                rc = Cuda.streamSynchronize(q.stream);
            }
            for (long filled = n; rc == 0 && filled < size; ) {
                long chunk = Math.min(filled, size - filled);
                fn = "cuMemcpyDtoDAsync_v2";
                rc = Cuda.memcpyDtoDAsync(dst + filled, dst, chunk, q.stream);
                filled += chunk;
            }
        }
        if (rc != 0) {
            destroyEvent(start);
            throw exception(fn, rc, "fill of " + size + " bytes with a " + n + "-byte pattern");
        }
        endEvent(q, event, start);
    }

    private static boolean repeatsWord(MemorySegment pattern, long n) {
        int word = pattern.get(JAVA_INT, 0);
        for (long i = 4; i < n; i += 4) {
            if (pattern.get(JAVA_INT, i) != word) {
                return false;
            }
        }
        return n >= 4;
    }

    @Override
    public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event)
            throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        CuObject.Kernel k = get(kernel, CuObject.Kernel.class);
        if (k.dc != q.dc) {
            throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + k.args.kernelName
                    + "' and the queue belong to different devices");
        }
        if (offset != null) {
            for (int i = 0; i < Math.min(dims, offset.length); i++) {
                if (offset[i] != 0) {
                    throw new BackendException(Status.UNSUPPORTED, "kernel '" + k.args.kernelName + "': CUDA has no "
                            + "global offsets; add the offset in the kernel (pass it as an argument)");
                }
            }
        }
        LaunchGeometry g = LaunchGeometry.of(k.args.kernelName, dims, global, local, q.dc.device.limits(),
                k.maxThreadsPerBlock);
        long shared = k.args.prepareLaunch();
        if (shared > q.dc.device.maxSharedPerBlock()) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, "kernel '" + k.args.kernelName + "': its local "
                    + "arguments need " + shared + " bytes of shared memory; the device allows "
                    + q.dc.device.maxSharedPerBlock() + " per block");
        }
        bind(q.dc);
        long start = startEvent(q, event);
        int rc = Cuda.launchKernel(k.function, g.grid()[0], g.grid()[1], g.grid()[2], g.block()[0], g.block()[1],
                g.block()[2], (int) shared, q.stream, k.args.pointers);
        if (rc != 0) {
            destroyEvent(start);
            throw exception("cuLaunchKernel", rc, "kernel '" + k.args.kernelName + "' grid "
                    + java.util.Arrays.toString(g.grid()) + " block " + java.util.Arrays.toString(g.block())
                    + (shared > 0 ? " shared " + shared + " bytes" : ""));
        }
        endEvent(q, event, start);
    }

    @Override
    public void finish(long queue) throws BackendException {
        CuObject.Queue q = get(queue, CuObject.Queue.class);
        bind(q.dc);
        int rc = Cuda.streamSynchronize(q.stream);
        if (rc != 0) {
            throw exception("cuStreamSynchronize", rc, "finishing the queue");
        }
    }

    @Override
    public long[] waitEvent(long event) throws BackendException {
        CuObject.Event e = get(event, CuObject.Event.class);
        bind(e.dc);
        int rc = Cuda.eventSynchronize(e.end);
        if (rc != 0) {
            throw exception("cuEventSynchronize", rc, "waiting for event " + event);
        }
        long[] times = new long[2];
        if (e.start != 0) {
            float t0 = Cuda.elapsedMillis(values, e.dc.epochEvent, e.start);
            float t1 = Cuda.elapsedMillis(values, e.dc.epochEvent, e.end);
            if (!Float.isNaN(t0) && !Float.isNaN(t1)) {
                times[0] = Math.round(t0 * 1e6);
                times[1] = Math.round(t1 * 1e6);
            }
        }
        return times;
    }

    // ---- events ----

    /** On a profiling queue with an event requested: a timing event recorded before the command; else 0. */
    private long startEvent(CuObject.Queue q, long event) throws BackendException {
        if (event == 0) {
            return 0;
        }
        if (objects.contains(event)) {
            throw new BackendException(Status.HANDLE_IN_USE, "event handle " + event + " already names an object of this session");
        }
        if (!q.profiling) {
            return 0;
        }
        long e = newEvent(Cuda.CU_EVENT_DEFAULT);
        int rc = Cuda.eventRecord(e, q.stream);
        if (rc != 0) {
            Cuda.eventDestroy(e);
            throw exception("cuEventRecord", rc, "start of event " + event);
        }
        return e;
    }

    private void endEvent(CuObject.Queue q, long event, long start) throws BackendException {
        if (event == 0) {
            return;
        }
        long e;
        try {
            e = newEvent(q.profiling ? Cuda.CU_EVENT_DEFAULT : Cuda.CU_EVENT_DISABLE_TIMING);
        } catch (BackendException ex) {
            destroyEvent(start);
            throw ex;
        }
        int rc = Cuda.eventRecord(e, q.stream);
        if (rc != 0) {
            Cuda.eventDestroy(e);
            destroyEvent(start);
            throw exception("cuEventRecord", rc, "event " + event);
        }
        objects.put(event, new CuObject.Event(q.dc, start, e));
    }

    private long newEvent(int flags) throws BackendException {
        int rc = Cuda.eventCreate(slot, flags);
        if (rc != 0) {
            throw exception("cuEventCreate", rc, null);
        }
        return slot.get(JAVA_LONG, 0);
    }

    private static void destroyEvent(long e) {
        if (e != 0) {
            Cuda.eventDestroy(e);
        }
    }

    // ---- release ----

    @Override
    public void release(long handle) throws BackendException {
        ensureUsable();
        CuObject o = objects.remove(handle);
        if (o == null) {
            throw new BackendException(Status.UNKNOWN_HANDLE, "handle " + handle + " names no CUDA object of this session");
        }
        bind(o.dc);
        switch (o) {
            case CuObject.Context c -> {
                // The CUcontext is the guest's address space on the device: it lives until the session ends.
            }
            case CuObject.Queue q -> check("cuStreamDestroy_v2", Cuda.streamDestroy(q.stream), "handle " + handle);
            case CuObject.Buffer b -> {
                b.released = true;
                deviceBytes -= b.size;
                check("cuMemFree_v2", Cuda.memFree(b.dptr), "handle " + handle);
            }
            case CuObject.Program p -> {
                p.released = true;
                unloadIfUnused(p);
            }
            case CuObject.Kernel k -> {
                k.program.kernels--;
                unloadIfUnused(k.program);
            }
            case CuObject.Event e -> {
                destroyEvent(e.start);
                check("cuEventDestroy_v2", Cuda.eventDestroy(e.end), "handle " + handle);
            }
        }
    }

    private void unloadIfUnused(CuObject.Program p) throws BackendException {
        if (p.released && p.kernels == 0 && p.module != 0) {
            long m = p.module;
            p.module = 0;
            check("cuModuleUnload", Cuda.moduleUnload(m), null);
        }
    }

    @Override
    public long deviceMemoryBytes() {
        return deviceBytes;
    }

    /**
     * Destroys everything of the session: after a fault only the contexts (the driver frees all their memory,
     * modules, streams and the heap registration with them); otherwise each object first. Never throws.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            List<CuObject> all = objects.values();
            for (CuObject.DeviceContext dc : contexts.values()) {
                try {
                    if (Cuda.ctxSetCurrent(dc.ctx) != 0) {
                        continue;
                    }
                    if (lost == null) {
                        releaseAll(dc, all);
                    }
                } catch (RuntimeException ignored) {
                    // destroy the context anyway
                } finally {
                    try {
                        Cuda.ctxDestroy(dc.ctx);
                    } catch (RuntimeException ignored) {
                        // nothing more to do
                    }
                }
            }
        } catch (RuntimeException ignored) {
            // never throws
        } finally {
            objects.clear();
            contexts.clear();
            deviceBytes = 0;
            try {
                scratchArena.close();
            } catch (IllegalStateException ignored) {
                // a call on another thread still holds it (not expected); freed with the arena later
            }
            onClose.accept(this);
        }
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
                    destroyEvent(e.start);
                    Cuda.eventDestroy(e.end);
                }
                case CuObject.Buffer b -> {
                    b.released = true;
                    Cuda.memFree(b.dptr);
                }
                case CuObject.Queue q -> Cuda.streamDestroy(q.stream);
                default -> {
                }
            }
        }
        for (CuObject o : all) {
            if (o.dc == dc && o instanceof CuObject.Program p && p.module != 0) {
                Cuda.moduleUnload(p.module);
                p.module = 0;
            }
        }
        if (dc.heapRegistered) {
            Cuda.memHostUnregister(heap.address());
        }
        Cuda.eventDestroy(dc.epochEvent);
    }

    // ---- for tests (isolation checks hand one guest's addresses to another's kernel) ----

    /** The device address of a buffer of this session. */
    long devicePointer(long buffer) throws BackendException {
        return get(buffer, CuObject.Buffer.class).dptr;
    }

    /** The host address of the guest's heap (registered in this session's contexts). */
    long heapAddress() {
        return heap.address();
    }

    /** Whether the heap is registered in the context of device {@code deviceIndex}. */
    boolean heapRegistered(int deviceIndex) {
        CuObject.DeviceContext dc = contexts.get(deviceIndex);
        return dc != null && dc.heapRegistered;
    }

    // ---- helpers ----

    private void ensureUsable() throws BackendException {
        if (closed) {
            throw new BackendException(Status.SESSION_CLOSED, "the CUDA session of guest '" + guest + "' is closed");
        }
        String why = lost;
        if (why != null) {
            throw new BackendException(Status.DEVICE_LOST, "the CUDA device work of guest '" + guest
                    + "' ended earlier: " + why);
        }
    }

    private void checkNew(long handle) throws BackendException {
        ensureUsable();
        if (objects.contains(handle)) {
            throw new BackendException(Status.HANDLE_IN_USE, "handle " + handle + " already names an object of this session");
        }
    }

    private <T extends CuObject> T get(long handle, Class<T> type) throws BackendException {
        if (closed || lost != null) {
            ensureUsable();
        }
        CuObject o = objects.get(handle);
        if (type.isInstance(o)) {
            return type.cast(o);
        }
        if (o == null) {
            throw new BackendException(Status.UNKNOWN_HANDLE, "handle " + handle + " names no CUDA object of this session");
        }
        throw new BackendException(Status.WRONG_HANDLE_KIND, "handle " + handle + " names a " + o.getClass().getSimpleName()
                .toLowerCase() + ", not a " + type.getSimpleName().toLowerCase());
    }

    /** Makes the session's context current on this thread. */
    private void bind(CuObject.DeviceContext dc) throws BackendException {
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
    private BackendException exception(String function, int rc, String context) {
        String message = CudaErrors.message(function, rc, context);
        if (CudaErrors.isSticky(rc)) {
            String detail = Cuda.errorString(rc);
            return lose(message + (detail == null ? "" : " (" + detail + ")"));
        }
        return new BackendException(CudaErrors.status(rc), message);
    }

    private BackendException lose(String message) {
        String full = message + ": a kernel of guest '" + guest + "' faulted, which leaves its CUDA context unusable; "
                + "this session's device work has ended (other guests are not affected); reconnect to start anew";
        if (lost == null) {
            lost = full;
            LOG.warning(() -> "guest '" + guest + "': " + full);
        }
        return new BackendException(Status.DEVICE_LOST, full);
    }

    private long heapAddress(long heapOffset, long size) throws BackendException {
        if (heapOffset < 0 || size < 0 || heapOffset > heap.byteSize() - size) {
            throw new BackendException(Status.HEAP_RANGE, "heap range [" + heapOffset + ", +" + size + ") is outside the heap of "
                    + heap.byteSize() + " bytes");
        }
        return heap.address() + heapOffset;
    }

    private static void checkRange(CuObject.Buffer b, long offset, long size) throws BackendException {
        if (offset < 0 || size <= 0 || size > b.size - offset) {
            throw new BackendException(Status.OUT_OF_RANGE, "range [offset " + offset + ", size " + size
                    + ") is outside the buffer of " + b.size + " bytes");
        }
    }

    private static CuObject.Buffer sameDevice(CuObject.Queue q, CuObject.Buffer b) throws BackendException {
        if (b.dc != q.dc) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the buffer and the queue belong to different devices");
        }
        return b;
    }
}
