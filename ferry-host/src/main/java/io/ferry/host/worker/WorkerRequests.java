package io.ferry.host.worker;

import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.WaitList;
import io.ferry.protocol.Wire;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * The {@link BackendSession} calls of a device worker's host side, each the guest call of the same name, encoded
 * through its view ({@link Calls}, {@link EventCalls}) and sent by {@link WorkerClient}, which owns the exchange and
 * the host's own accounts (buffers, device memory).
 */
abstract sealed class WorkerRequests implements BackendSession permits WorkerClient {
    /** Longest kernel work-group figure believed from a worker (it runs guest code: its answers are checked). */
    static final long MAX_FIGURE = 1L << 40;

    private final WorkerMemoryObjects memoryObjects = new WorkerMemoryObjects(this);

    /** A worker's answer to a request that waits: its results and text. */
    record Answer(long r0, long r1, long r2, long r3, String message, byte[] bytes) {
    }

    /** Sends {@code call} (arguments written by {@code args}); one-way requests return null. */
    abstract <V extends CallRecord> Answer call(V call, boolean oneWay, byte[] blob, MemorySegment blobSegment,
                                                Consumer<? super V> args) throws BackendException;

    /** Ends this worker's work for a broken answer, returning the exception that says so. */
    abstract BackendException lose(String name, String what);

    /**
     * Counts {@code bytes} of device memory held by object {@code handle} (an image the worker made), until it is
     * released: the host's own account, which its device-memory quota reads, never the worker's word.
     */
    abstract void holdsDeviceMemory(long handle, long bytes);

    @Override
    public io.ferry.spi.MemoryObjects memoryObjects() {
        return memoryObjects;
    }

    @Override
    public void createContext(long context, int deviceIndex) throws BackendException {
        call(new Calls.ContextCreate(), true, null, null, c -> c.context(context).device(deviceIndex));
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
        createQueue(queue, context, profiling, priority, false);
    }

    @Override
    public void createQueue(long queue, long context, boolean profiling, int priority, boolean outOfOrder)
            throws BackendException {
        call(new Calls.QueueCreate(), true, null, null, c -> c.queue(queue).context(context)
                .queueFlags((profiling ? Wire.QUEUE_PROFILING : 0) | (outOfOrder ? Wire.QUEUE_OUT_OF_ORDER : 0))
                .priority(priority));
    }

    @Override
    public void createProgram(long program, long context, SourceLanguage language, String source)
            throws BackendException {
        call(new Calls.ProgramCreate(), true, Wire.utf8(source), null,
                c -> c.program(program).context(context).language(language.code()));
    }

    /**
     * The worker reads the source from the guest's heap, which it maps: no request record carries one that large.
     * Waits for the worker, as for a binary: a source it refuses (blank) is the guest's to learn at the call.
     */
    @Override
    public void createProgramInHeap(long program, long context, SourceLanguage language, long heapOffset, long size)
            throws BackendException {
        call(new ProgramCalls.ProgramCreateHeap(), false, null, null, c -> c.program(program)
                .context(context).language(language.code()).heapOffset(heapOffset).size(size));
    }

    @Override
    public String buildProgram(long program, String options) throws BackendException {
        return call(new Calls.ProgramBuild(), false, Wire.utf8(options), null, c -> c.program(program)).message();
    }

    @Override
    public int createKernel(long kernel, long program, String name) throws BackendException {
        long argc = call(new Calls.KernelCreate(), false, Wire.utf8(name), null,
                c -> c.kernel(kernel).program(program)).r0();
        if (argc < 0 || argc > WorkerClient.MAX_KERNEL_ARGS) {
            throw lose(Op.KERNEL_CREATE.name(), "reported " + argc + " kernel arguments");
        }
        return (int) argc;
    }

    @Override
    public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
        call(new Calls.KernelArgBuffer(), true, null, null, c -> c.kernel(kernel).index(index).buffer(buffer));
    }

    @Override
    public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
        call(new Calls.KernelArgValue(), true, null, value, c -> c.kernel(kernel).index(index));
    }

    @Override
    public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
        call(new Calls.KernelArgLocal(), true, null, null, c -> c.kernel(kernel).index(index).bytes(bytes));
    }

    @Override
    public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event,
                             long[] waits) throws BackendException {
        call(new Calls.BufferWrite(), true, WaitList.encode(waits, null), null, c -> c.queue(queue).buffer(buffer)
                .offset(offset).size(size).heapOffset(heapOffset).event(event).waits(waits.length));
    }

    @Override
    public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event,
                            long[] waits) throws BackendException {
        call(new Calls.BufferRead(), true, WaitList.encode(waits, null), null, c -> c.queue(queue).buffer(buffer)
                .offset(offset).size(size).heapOffset(heapOffset).event(event).waits(waits.length));
    }

    @Override
    public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event,
                            long[] waits) throws BackendException {
        call(new Calls.BufferCopy(), true, WaitList.encode(waits, null), null, c -> c.queue(queue).source(src)
                .destination(dst).sourceOffset(srcOffset).destinationOffset(dstOffset).size(size).event(event)
                .waits(waits.length));
    }

    @Override
    public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event,
                            long[] waits) throws BackendException {
        call(new Calls.BufferFill(), true, WaitList.encode(waits, pattern), null, c -> c.queue(queue).buffer(buffer)
                .offset(offset).size(size).event(event).waits(waits.length));
    }

    @Override
    public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local,
                              long event, long[] waits) throws BackendException {
        // the guest's LAUNCH layout: a null offset or local size goes as zeros, which the worker reads back as null
        call(new Calls.Launch(), true, WaitList.encode(waits, null), null, c -> c.queue(queue).kernel(kernel)
                .range(dims, offset, global, local).event(event).waits(waits.length));
    }

    @Override
    public void enqueueMarker(long queue, long event, long[] waits, boolean barrier) throws BackendException {
        EventCalls.Sync<?> view = barrier ? new EventCalls.Barrier() : new EventCalls.Marker();
        call(view, true, WaitList.encode(waits, null), null, c -> c.queue(queue).event(event).waits(waits.length));
    }

    @Override
    public void createUserEvent(long event, long context) throws BackendException {
        call(new EventCalls.UserEventCreate(), true, null, null, c -> c.event(event).context(context));
    }

    @Override
    public void setUserEventStatus(long event, int status) throws BackendException {
        call(new EventCalls.UserEventSet(), false, null, null, c -> c.event(event).executionStatus(status));
    }

    @Override
    public int eventStatus(long event) throws BackendException {
        long status = call(new EventCalls.EventStatus(), false, null, null, c -> c.event(event)).r0();
        if (status > 3 || status < Integer.MIN_VALUE) {
            throw lose(Op.EVENT_STATUS.name(), "reported execution status " + status);
        }
        return (int) status;
    }

    @Override
    public long[] kernelWorkGroupInfo(long kernel) throws BackendException {
        Answer a = call(new EventCalls.KernelWorkGroupInfo(), false, null, null, c -> c.kernel(kernel));
        long[] info = {a.r0(), a.r1(), a.r2(), a.r3()};
        for (long v : info) {
            if (v < 0 || v > MAX_FIGURE) {
                throw lose(Op.KERNEL_WORK_GROUP_INFO.name(), "reported a kernel figure of " + v);
            }
        }
        return info;
    }

    @Override
    public io.ferry.spi.InfoValue info(io.ferry.protocol.InfoKind kind, long handle, int param, long index,
                                       long heapOffset, long heapSize) throws BackendException {
        Answer a = call(new ProgramCalls.Info(), false, null, null, c -> c.kind(kind.code()).handle(handle)
                .param(param).index(index).heapOffset(heapOffset).heapSize(heapSize));
        long size = a.r0();
        boolean written = a.r1() == 1;
        byte[] bytes = a.bytes() == null ? new byte[0] : a.bytes();
        boolean ok = size >= 0 && size <= MAX_FIGURE && (a.r1() == 0 || a.r1() == 1) && (heapSize == 0
                ? !written && bytes.length == size
                : bytes.length == 0 && (!written || size <= heapSize));
        if (!ok) {
            throw lose(Op.INFO.name(), "answered a value of " + size + " bytes (written " + a.r1() + ", blob of "
                    + bytes.length + ") to a query " + (heapSize == 0 ? "for the blob" : "for a heap range of "
                    + heapSize + " bytes"));
        }
        return new io.ferry.spi.InfoValue(size, written, heapSize == 0 ? bytes : null);
    }

    @Override
    public void createProgramWithBinary(long program, long context, long heapOffset, long size)
            throws BackendException {
        // waits for the worker: a binary the device refuses is the guest's to learn at the call (it is rare)
        call(new ProgramCalls.ProgramCreateBinary(), false, null, null,
                c -> c.program(program).context(context).heapOffset(heapOffset).size(size));
    }

    @Override
    public String compileProgram(long program, long[] headers, String[] includeNames, String options)
            throws BackendException {
        java.io.ByteArrayOutputStream blob = new java.io.ByteArrayOutputStream();
        blob.writeBytes(handles(headers));
        for (String name : includeNames) {
            blob.writeBytes(Wire.utf8(name));
            blob.write(0);
        }
        blob.writeBytes(Wire.utf8(options));
        return call(new ProgramCalls.ProgramCompile(), false, blob.toByteArray(), null,
                c -> c.program(program).headers(headers.length)).message();
    }

    @Override
    public String linkProgram(long program, long context, long[] inputs, String options) throws BackendException {
        byte[] ids = handles(inputs);
        byte[] opts = Wire.utf8(options);
        byte[] blob = java.util.Arrays.copyOf(ids, ids.length + opts.length);
        System.arraycopy(opts, 0, blob, ids.length, opts.length);
        return call(new ProgramCalls.ProgramLink(), false, blob, null,
                c -> c.program(program).context(context).inputs(inputs.length)).message();
    }

    /** Handles as u64 little endian, as the wire lists them. */
    private static byte[] handles(long[] handles) {
        MemorySegment s = MemorySegment.ofArray(new byte[8 * handles.length]);
        for (int i = 0; i < handles.length; i++) {
            s.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, handles[i]);
        }
        return s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    @Override
    public void finish(long queue) throws BackendException {
        call(new Calls.Finish(), false, null, null, c -> c.queue(queue));
    }

    @Override
    public long[] waitEvent(long event) throws BackendException {
        Answer r = call(new Calls.EventWait(), false, null, null, c -> c.event(event));
        return new long[] {r.r0(), r.r1(), r.r2(), r.r3()};
    }
}
