package io.ferry.spi;

import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * What every compute backend's session does the same way, so that a backend keeps only its device calls: the table
 * of native objects by the guest's handles (with their kinds), views of the guest's heap, the device-memory count,
 * the session's life (closed, or its device work ended by a fault) and per-session scratch memory for
 * out-parameters.
 *
 * <p>Arguments arrive validated as {@link BackendSession} says; this class adds what only the backend's own table
 * can say: whether a handle names an object of the kind the call needs here (a creation in a device worker may have
 * failed after the host recorded the handle), and whether the session is still usable.
 *
 * <p>Calls come from one thread at a time; {@link #close()} may come from another thread once calls have stopped.
 *
 * @param <O> the backend's object type
 */
public abstract class ComputeSession<O extends DeviceObject> implements BackendSession {
    private final String api;
    private final String guest;
    private final MemorySegment heap;
    private final Consumer<? super ComputeSession<O>> onClose;
    private final HandleMap<O> objects = new HandleMap<>();
    private final Arena scratchArena = Arena.ofShared();
    private final MemorySegment scratch;
    private long deviceBytes;
    private volatile boolean closed;
    /** Why this session's device work ended (a fault that leaves the device context unusable); null while usable. */
    private volatile String ended;

    /**
     * @param api          the native API's name for messages, e.g. {@code "OpenCL"}
     * @param heap         the guest's heap as mapped in this process (native memory)
     * @param scratchBytes size of the scratch segment ({@link #scratch()}), 64-byte aligned
     * @param onClose      told once when the session has closed (the backend forgets it)
     */
    protected ComputeSession(String api, String guest, MemorySegment heap, long scratchBytes,
            Consumer<? super ComputeSession<O>> onClose) {
        this.api = api;
        this.guest = guest;
        this.heap = heap;
        this.onClose = onClose;
        this.scratch = scratchArena.allocate(scratchBytes, 64);
    }

    /** The guest this session serves. */
    public final String guest() {
        return guest;
    }

    /** Scratch memory for out-parameters and small values, allocated once (calls come one at a time). */
    protected final MemorySegment scratch() {
        return scratch;
    }

    /** The guest's heap as mapped in this process. */
    protected final MemorySegment heap() {
        return heap;
    }

    /**
     * The heap range {@code [offset, offset + size)} as a segment. The host has checked the range against the heap
     * (whose size it handed this process); the slice is bounds-checked again by the FFM API at no extra cost, so a
     * native call never gets an address outside the heap even if that contract were broken.
     */
    protected final MemorySegment heapSlice(long offset, long size) throws BackendException {
        try {
            return heap.asSlice(offset, size);
        } catch (IndexOutOfBoundsException e) {
            throw new BackendException(Status.HEAP_RANGE, "heap range [" + offset + ", +" + size + ") is outside the heap "
                    + "of " + heap.byteSize() + " bytes (the host should have refused it)");
        }
    }

    @Override
    public void createProgramInHeap(long program, long context, SourceLanguage language, long heapOffset, long size)
            throws BackendException {
        String source = new String(heapSlice(heapOffset, size).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        if (source.isBlank()) {
            throw new BackendException(Status.INVALID_ARGUMENT, "program source is empty");
        }
        createProgram(program, context, language, source);
    }

    /** The device with the backend's {@code index}: the host names devices it learnt from this backend. */
    protected final <D> D device(List<D> devices, int index) throws BackendException {
        if (index < 0 || index >= devices.size()) {
            throw new BackendException(Status.NO_DEVICE, api + " device index " + index + " does not exist; the backend "
                    + "has " + devices.size() + " device(s)");
        }
        return devices.get(index);
    }

    // ---- the object table ----

    /**
     * The object {@code handle} names, of kind {@code type}. The host checked the handle and its kind against its
     * own table; this one can still lack it when its creation failed after the host recorded it (a device worker
     * reports such failures later), which answers {@link Status#UNKNOWN_HANDLE}.
     */
    protected final <T extends O> T get(long handle, Class<T> type) throws BackendException {
        if (closed || ended != null) {
            ensureUsable();
        }
        O o = objects.get(handle);
        if (type.isInstance(o)) {
            return type.cast(o);
        }
        if (o == null) {
            throw new BackendException(Status.UNKNOWN_HANDLE, "handle " + handle + " names no " + api
                    + " object of this session");
        }
        throw new BackendException(Status.WRONG_HANDLE_KIND, "handle " + handle + " names a " + o.kindName()
                + ", not a " + type.getSimpleName().toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Records a new object. The host saw {@code handle} unused; should this table still hold a stale object under it
     * (one whose creation the host never recorded, e.g. an event of a command the scheduler reported failed), that
     * object is destroyed first, so nothing native is lost.
     */
    protected final void put(long handle, O object) {
        O stale = objects.remove(handle);
        if (stale != null) {
            stale.markReleased();
            try {
                destroy(handle, stale);
            } catch (BackendException | RuntimeException ignored) {
                // the stale object is gone from the table either way
            }
        }
        objects.put(handle, object);
    }

    /** Device memory was allocated for this session. */
    protected final void allocated(long bytes) {
        deviceBytes += bytes;
    }

    /** Device memory of this session was freed. */
    protected final void freed(long bytes) {
        deviceBytes -= bytes;
    }

    @Override
    public final long deviceMemoryBytes() {
        return deviceBytes;
    }

    // ---- life ----

    /** Throws {@link Status#SESSION_CLOSED} or {@link Status#DEVICE_LOST} when the session can take no more calls. */
    protected final void ensureUsable() throws BackendException {
        if (closed) {
            throw new BackendException(Status.SESSION_CLOSED, "the " + api + " session of guest '" + guest + "' is closed");
        }
        String why = ended;
        if (why != null) {
            throw new BackendException(Status.DEVICE_LOST, "the " + api + " device work of guest '" + guest
                    + "' ended earlier: " + why);
        }
    }

    /**
     * Ends this session's device work: every later call answers {@link Status#DEVICE_LOST} with {@code message}
     * (the first one, if ended twice). Returns the exception for the call that found the fault.
     */
    protected final BackendException endDeviceWork(String message) {
        if (ended == null) {
            ended = message;
        }
        return new BackendException(Status.DEVICE_LOST, message);
    }

    /** Whether a fault ended this session's device work. */
    protected final boolean deviceWorkEnded() {
        return ended != null;
    }

    @Override
    public final void release(long handle) throws BackendException {
        ensureUsable();
        O o = objects.remove(handle);
        if (o == null) {
            throw new BackendException(Status.UNKNOWN_HANDLE, "handle " + handle + " names no " + api
                    + " object of this session");
        }
        o.markReleased();
        destroy(handle, o);
    }

    /** None here: a backend that has them overrides this. */
    @Override
    public MemoryObjects memoryObjects() {
        return MemoryObjects.unsupported("the " + api + " backend");
    }

    /** Frees one object's native resources ({@code freed} for a buffer); it is already out of the table. */
    protected abstract void destroy(long handle, O object) throws BackendException;

    /**
     * Frees the native resources of all {@code live} objects as the session closes (after a fault the backend may
     * free just the contexts). A runtime exception stops it; it must not throw anything else.
     */
    protected abstract void closeAll(List<O> live);

    /** Releases everything of the session. Never throws. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            List<O> live = objects.values();
            for (O o : live) {
                o.markReleased();
            }
            closeAll(live);
        } catch (RuntimeException ignored) {
            // never throws
        } finally {
            objects.clear();
            deviceBytes = 0;
            try {
                scratchArena.close();
            } catch (IllegalStateException ignored) {
                // a call on another thread still holds it (not expected: one thread at a time); freed with the arena later
            }
            onClose.accept(this);
        }
    }
}
