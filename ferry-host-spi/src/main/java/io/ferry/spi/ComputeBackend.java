package io.ferry.spi;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A compute backend (OpenCL, CUDA). The host finds backends with {@link java.util.ServiceLoader}; the CLI puts them
 * on the class path. A backend never sees guest memory it has not been handed: the host validates every handle,
 * range and size before calling it.
 */
public interface ComputeBackend extends AutoCloseable {

    /** Short name, e.g. {@code "opencl"}. */
    String name();

    /**
     * Discovers devices. Called once by the host. Returns an empty list (never throws) when the backend's native
     * library or devices are missing; {@link #unavailableReason()} then says why.
     */
    List<DeviceInfo> devices();

    /** Why {@link #devices()} is empty, for the operator; null when devices were found. */
    String unavailableReason();

    /**
     * Opens the backend side of one guest session.
     *
     * @param guest name of the guest, for logs
     * @param heap  the guest's heap as mapped in this process; heap offsets handed to the session index into it
     */
    BackendSession openSession(String guest, MemorySegment heap) throws BackendException;

    @Override
    default void close() {
    }
}
