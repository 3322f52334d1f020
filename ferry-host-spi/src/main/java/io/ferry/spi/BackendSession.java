package io.ferry.spi;

import io.ferry.protocol.SourceLanguage;
import java.lang.foreign.MemorySegment;

/**
 * The backend side of one guest session: all device objects of that guest.
 *
 * <p>Objects are named by the guest's own 64-bit handles. The host has already checked that each handle passed
 * here exists in this session and is of the right kind, that new handles are unused, that heap ranges lie inside
 * the heap and that buffer ranges lie inside their buffers. The backend still turns every native error into a
 * {@link BackendException} whose message says what failed; it never throws anything else for a guest's mistake.
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

    /** Heap → buffer. {@code event} is 0 or a new event handle signalled when the copy completes. */
    void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException;

    /** Buffer → heap; the data is valid once the queue is finished or the event completes. */
    void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event)
            throws BackendException;

    void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event)
            throws BackendException;

    void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
            throws BackendException;

    /**
     * Launches {@code kernel} over {@code dims} (1–3) dimensions. {@code local} is null for an implementation-chosen
     * local size; {@code offset} may be null.
     */
    void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event)
            throws BackendException;

    /** Blocks until all work on the queue is done. */
    void finish(long queue) throws BackendException;

    /** Blocks until the event completes; returns its {start, end} device timestamps in ns, or zeros if unknown. */
    long[] waitEvent(long event) throws BackendException;

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

    /** A failure found after the call returned. {@code firstArg} as given to {@link #callContext}. */
    record DeferredFailure(long seq, int op, long firstArg, io.ferry.protocol.Status status, String message) {
    }

    /** Device memory currently allocated by this session, in bytes (for accounting and status). */
    long deviceMemoryBytes();

    /** Releases every object of the session. Never throws. */
    @Override
    void close();
}
