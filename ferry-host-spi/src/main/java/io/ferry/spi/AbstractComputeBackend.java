package io.ferry.spi;

import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * What every compute backend does the same way: discover devices once (lazily, so construction by the
 * {@link java.util.ServiceLoader} is cheap), say why there are none, open sessions over a guest's heap and close
 * the ones still open. A backend supplies {@link #discover()} and {@link #newSession}.
 *
 * @param <D> the backend's device type
 * @param <S> the backend's session type
 */
public abstract class AbstractComputeBackend<D, S extends BackendSession> implements ComputeBackend {
    private final String api;
    private final Set<S> sessions = ConcurrentHashMap.newKeySet();
    private List<D> devices;
    private String unavailableReason;

    /** @param api the native API's name for messages, e.g. {@code "OpenCL"} */
    protected AbstractComputeBackend(String api) {
        this.api = api;
    }

    /**
     * Finds the devices, in index order. When there are none it says why with {@link #unavailable}; a runtime
     * exception is reported as a failed discovery.
     */
    protected abstract List<D> discover();

    /** What the host is told about {@code device}. */
    protected abstract DeviceInfo info(D device);

    /** A session over {@code heap} (native) on the discovered {@code devices}; {@code onClose} forgets it. */
    protected abstract S newSession(String guest, MemorySegment heap, List<D> devices, Consumer<Object> onClose);

    /** Records why no device can be offered (called from {@link #discover()}). */
    protected final void unavailable(String reason) {
        unavailableReason = reason;
    }

    /** The discovered devices (discovering them on the first call). */
    protected final synchronized List<D> deviceList() {
        if (devices == null) {
            try {
                devices = List.copyOf(discover());
                if (!devices.isEmpty()) {
                    unavailableReason = null;
                } else if (unavailableReason == null) {
                    unavailableReason = api + " reports no device";
                }
            } catch (RuntimeException e) {
                devices = List.of();
                unavailableReason = api + " device discovery failed: " + e;
            }
        }
        return devices;
    }

    @Override
    public final List<DeviceInfo> devices() {
        List<D> found = deviceList();
        List<DeviceInfo> out = new ArrayList<>(found.size());
        for (D d : found) {
            out.add(info(d));
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public final synchronized String unavailableReason() {
        deviceList();
        return unavailableReason;
    }

    /**
     * Opens a session over {@code heap}, which must be native memory (devices get its addresses). Fails with
     * {@link Status#NO_DEVICE} when no device was found.
     */
    @Override
    public final S openSession(String guest, MemorySegment heap) throws BackendException {
        List<D> found = deviceList();
        if (found.isEmpty()) {
            throw new BackendException(Status.NO_DEVICE, api + " backend has no device: " + unavailableReason());
        }
        if (heap == null || !heap.isNative()) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the heap of guest '" + guest + "' must be native memory");
        }
        S session = newSession(guest, heap, found, sessions::remove);
        sessions.add(session);
        return session;
    }

    /** Closes sessions still open. */
    @Override
    public void close() {
        for (BackendSession s : List.copyOf(sessions)) {
            s.close();
        }
    }
}
