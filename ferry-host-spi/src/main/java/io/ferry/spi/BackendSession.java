package io.ferry.spi;

import io.ferry.protocol.SourceLanguage;
import java.lang.foreign.MemorySegment;

/**
 * The backend side of one guest session: all device objects of that guest.
 *
 * <p>Objects are named by the guest's own 64-bit handles. <b>Arguments arrive validated by the host's compute
 * service</b> ({@code ComputeCalls} in ferry-host), once, and a backend does not check them again:
 * <ul>
 * <li>each handle exists in this session and names an object of the kind the parameter says (context, queue,
 * buffer, program, kernel, event); a new handle (and a non-zero {@code event}) is unused; objects used together
 * belong to this backend;</li>
 * <li>{@code createBuffer}: {@code size > 0}, {@code accessFlags} in 0..3, and {@code heapOffset} is -1 or a range
 * {@code [heapOffset, heapOffset + size)} inside the heap;</li>
 * <li>{@code createProgram}: a known language and a source that is not blank; {@code buildProgram}: options that
 * pass {@link BuildOptions#checked}; {@code createKernel}: a name of at most 4096 bytes;</li>
 * <li>{@code setKernelArg*}: {@code 0 <= index <} the count {@code createKernel} returned; a value of 1..1024 bytes;
 * a local size in {@code 1..Integer.MAX_VALUE}; a buffer of 0 means a NULL buffer;</li>
 * <li>{@code waits} (every enqueue method that takes it): at most 64 handles, each an event of this session (a
 * command's event, a marker's or a user event) made by this backend; a command that waits for a user event not yet
 * set is never finished nor waited for by the host before the user event is set;</li>
 * <li>{@code setUserEventStatus}: a user event of this session, set once, with 0 or a negative status;</li>
 * <li>{@code enqueueWrite/Read/Copy/Fill}: {@code offset >= 0}, {@code size > 0}, each buffer range inside its
 * buffer, each heap range inside the heap (whose size this process was handed);</li>
 * <li>{@code enqueueFill}: a pattern of 1, 2, 4, ... or 128 bytes that divides offset and size;</li>
 * <li>{@link MemoryObjects}: as its Javadoc and {@link Rect} say;</li>
 * <li>{@code enqueueLaunch}: {@code dims} in 1..3; {@code global}, and {@code offset} and {@code local} where not
 * null, hold exactly {@code dims} sizes; global sizes are positive, offsets and local sizes not negative (local
 * sizes positive when given, each dividing its global size); at most 2^32 work-items.</li>
 * </ul>
 * What only the backend can check, it checks: device indices and limits (work-group, block, grid and shared-memory
 * sizes), what a device accepts (languages, options, argument kinds and sizes against the kernel's declaration),
 * whether objects used together belong to the same context or device, whether its own table holds the object (a
 * creation in a device worker may fail after the host recorded the handle) and every native error, which becomes a
 * {@link BackendException} whose message says what failed; it never throws anything else for a guest's mistake.
 * {@link ComputeSession} does the common part.
 *
 * <p>Every argument is a plain value (no object of the host), so the same interface can be served by a worker
 * process that maps the guest's region itself: heap memory is named by offsets into the heap.
 *
 * <p>Calls come from one thread at a time (the guest's endpoint thread).
 */
public interface BackendSession extends AutoCloseable {

    void createContext(long context, int deviceIndex) throws BackendException;

    /** {@code priority}: 0 normal, negative lower, positive higher; a hint the backend maps if it can. */
    void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException;

    /**
     * Creates a buffer. When {@code heapOffset >= 0} the buffer is backed by the heap range
     * {@code [heapOffset, heapOffset + size)} (use it in place where the device allows, e.g. CL_MEM_USE_HOST_PTR).
     */
    void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset) throws BackendException;

    void createProgram(long program, long context, SourceLanguage language, String source) throws BackendException;

    /** Builds; on failure throws {@link io.ferry.protocol.Status#BUILD_FAILED} with the build log in the message. */
    String buildProgram(long program, String options) throws BackendException;

    /** Creates a kernel and returns its argument count. */
    int createKernel(long kernel, long program, String name) throws BackendException;

    void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException;

    /** A by-value argument (scalar or small struct): the bytes as the kernel expects them. */
    void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException;

    void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException;

    /**
     * Heap → buffer, after the events of {@code waits} ({@link #NO_WAITS}: none; a backend without wait lists
     * refuses others with {@link #requireNoWaits}). {@code event} is 0 or a new event handle signalled when the copy
     * completes.
     */
    void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event, long[] waits)
            throws BackendException;

    /** Buffer → heap, after {@code waits}; the data is valid once the queue is finished or the event completes. */
    void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event, long[] waits)
            throws BackendException;

    /** Buffer → buffer, after {@code waits}. */
    void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event,
                     long[] waits) throws BackendException;

    /** Fills with a repeated pattern, after {@code waits}. */
    void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event,
                     long[] waits) throws BackendException;

    /**
     * Launches {@code kernel} over {@code dims} (1–3) dimensions, after {@code waits}. {@code local} is null for an
     * implementation-chosen local size; {@code offset} may be null.
     */
    void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event,
                       long[] waits) throws BackendException;

    /**
     * The session's memory objects beyond plain buffers (sub-buffers, rectangular transfers); by default every call
     * of it answers {@link io.ferry.protocol.Status#UNSUPPORTED}. Arguments arrive validated as
     * {@link MemoryObjects} says.
     */
    default MemoryObjects memoryObjects() {
        return MemoryObjects.unsupported("this backend");
    }

    /** Blocks until all work on the queue is done. */
    void finish(long queue) throws BackendException;

    /**
     * Blocks until the event completes; returns its {start, end} device timestamps in ns, or zeros if unknown, and
     * where the backend knows them its {queued, submit} times as elements 2 and 3.
     */
    long[] waitEvent(long event) throws BackendException;

    // ---- events, wait lists and queues (a backend without them answers UNSUPPORTED) ----

    /** An empty wait list. */
    long[] NO_WAITS = new long[0];

    /** As {@link #createQueue(long, long, boolean, int)}; {@code outOfOrder} asks for out-of-order execution. */
    default void createQueue(long queue, long context, boolean profiling, int priority, boolean outOfOrder)
            throws BackendException {
        if (outOfOrder) {
            throw unsupported("out-of-order queues");
        }
        createQueue(queue, context, profiling, priority);
    }

    /** As the wait-list form, waiting for nothing. */
    default void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        enqueueWrite(queue, buffer, offset, size, heapOffset, event, NO_WAITS);
    }

    /** As the wait-list form, waiting for nothing. */
    default void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException {
        enqueueRead(queue, buffer, offset, size, heapOffset, event, NO_WAITS);
    }

    /** As the wait-list form, waiting for nothing. */
    default void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event)
            throws BackendException {
        enqueueCopy(queue, src, dst, srcOffset, dstOffset, size, event, NO_WAITS);
    }

    /** As the wait-list form, waiting for nothing. */
    default void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
            throws BackendException {
        enqueueFill(queue, buffer, pattern, offset, size, event, NO_WAITS);
    }

    /** As the wait-list form, waiting for nothing. */
    default void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local,
                               long event) throws BackendException {
        enqueueLaunch(queue, kernel, dims, offset, global, local, event, NO_WAITS);
    }

    /**
     * A marker ({@code barrier} false) or barrier: {@code event} (0 or a new handle) completes when {@code waits}
     * have (an empty list: every earlier command of the queue); a barrier also holds back later commands.
     */
    default void enqueueMarker(long queue, long event, long[] waits, boolean barrier) throws BackendException {
        throw unsupported(barrier ? "barriers" : "markers");
    }

    /** Creates a user event (a new handle) in {@code context}: the guest sets its status. */
    default void createUserEvent(long event, long context) throws BackendException {
        throw unsupported("user events");
    }

    /** Sets a user event's status once: 0 complete, negative failed. */
    default void setUserEventStatus(long event, int status) throws BackendException {
        throw unsupported("user events");
    }

    /** The event's execution status, without waiting: 0 complete, 1 running, 2 submitted, 3 queued, negative failed. */
    default int eventStatus(long event) throws BackendException {
        throw unsupported("event status queries");
    }

    /**
     * The kernel's limits on its device: {work-group size, preferred work-group size multiple, local memory bytes,
     * private memory bytes}.
     */
    default long[] kernelWorkGroupInfo(long kernel) throws BackendException {
        throw unsupported("kernel work-group queries");
    }

    // ---- what a native OpenCL ICD asks beyond the above (a backend without it answers UNSUPPORTED) ----

    /**
     * An OpenCL {@code clGet*Info} value of an object of this session, delivered as {@link InfoValue#deliver} says.
     * The host checked: {@code kind} is not {@link io.ferry.protocol.InfoKind#DEVICE} (the host asks the
     * {@link ComputeBackend} for those); {@code handle} is a program (PROGRAM, PROGRAM_BUILD), a kernel (KERNEL,
     * KERNEL_ARG, KERNEL_WORK_GROUP) or a context (IMAGE_FORMATS) of this backend; {@code param} (and for
     * IMAGE_FORMATS {@code index}) passes {@link io.ferry.protocol.InfoKind#refusal}; for KERNEL_ARG {@code index} is
     * below the kernel's argument count; the heap range is 0 bytes or inside the heap.
     */
    default InfoValue info(io.ferry.protocol.InfoKind kind, long handle, int param, long index, long heapOffset,
                           long heapSize) throws BackendException {
        throw unsupported("OpenCL info queries (INFO)");
    }

    /**
     * A program (new handle) in {@code context} from a device binary of {@code size} bytes (1 to 256 MiB, checked by
     * the host) at {@code heapOffset} of the heap, read once. A binary the device refuses fails with
     * {@link io.ferry.protocol.Status#BUILD_FAILED}.
     */
    default void createProgramWithBinary(long program, long context, long heapOffset, long size)
            throws BackendException {
        throw unsupported("programs from binaries");
    }

    /**
     * Compiles a program made from source, with {@code headers} (programs of this backend made from source) as the
     * embedded headers named {@code includeNames}; returns the log, or throws BUILD_FAILED with it. The host checked
     * the counts (0..64, equal), the handles' kinds and the options ({@link BuildOptions#checked}).
     */
    default String compileProgram(long program, long[] headers, String[] includeNames, String options)
            throws BackendException {
        throw unsupported("separate compilation (PROGRAM_COMPILE)");
    }

    /**
     * Links compiled programs {@code inputs} (1..64, programs of this backend) into the new program {@code program}
     * in {@code context}; returns the log, or throws BUILD_FAILED with it (no program is made then).
     */
    default String linkProgram(long program, long context, long[] inputs, String options) throws BackendException {
        throw unsupported("linking (PROGRAM_LINK)");
    }

    /**
     * {@link #createProgram} with the source at {@code [heapOffset, heapOffset + size)} of the session's heap
     * (PROGRAM_CREATE_HEAP; the host checked the range and the size, 1 byte to 16 MiB). The backend reads the source
     * once, where the heap is mapped (a device worker behind the host reads its own mapping: no request record
     * carries a source that large), and refuses a blank one with INVALID_ARGUMENT.
     */
    default void createProgramInHeap(long program, long context, SourceLanguage language, long heapOffset, long size)
            throws BackendException {
        throw unsupported("program sources in the heap");
    }

    /**
     * Whether the device compiles a kernel's code when it is first launched at a work-group shape (PoCL builds its
     * work-group functions then, for seconds with a large kernel), rather than when its program is built. The host's
     * watchdog then allows such a launch the compile time limit rather than the overrun limit.
     */
    default boolean compilesAtFirstLaunch() {
        return false;
    }

    /** For a backend without wait lists: refuses a non-empty {@code waits} with UNSUPPORTED. */
    default void requireNoWaits(long[] waits) throws BackendException {
        if (waits.length != 0) {
            throw unsupported("wait lists");
        }
    }

    private BackendException unsupported(String what) {
        return new BackendException(io.ferry.protocol.Status.UNSUPPORTED, getClass().getSimpleName() + " does not "
                + "support " + what + "; use a device of a backend that does (OpenCL)");
    }

    /** Releases one object of any kind. Releasing a context or program does not invalidate objects made from it. */
    void release(long handle) throws BackendException;

    // ---- pipelining: a backend may finish one-way work later (a device worker does) ----

    /**
     * The guest call the next method call serves: its sequence number, opcode and first argument (a queue or the new
     * object's handle). A backend that completes work after returning uses it to attribute late failures.
     */
    default void callContext(long seq, int op, long firstArg) {
    }

    /**
     * Waits until every call made so far has been carried out, so that {@link #drainFailures()} then holds every
     * failure of earlier calls.
     */
    default void sync() throws BackendException {
    }

    /** Failures of earlier calls that returned normally but failed later, oldest first; cleared by the call. */
    default java.util.List<DeferredFailure> drainFailures() {
        return java.util.List.of();
    }

    /**
     * A failure found after the call returned. {@code firstArg} as given to {@link #callContext}; {@code nativeError}
     * the device API's own code ({@link io.ferry.protocol.NativeError}) or 0.
     */
    record DeferredFailure(long seq, int op, long firstArg, io.ferry.protocol.Status status, String message,
                           long nativeError) {
    }

    /** Device memory currently allocated by this session, in bytes (for accounting and status). */
    long deviceMemoryBytes();

    /** Releases every object of the session. Never throws. */
    @Override
    void close();
}
