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

    /**
     * The raw value of OpenCL's {@code clGetDeviceInfo(param)} for this backend's device {@code deviceIndex}: what an
     * INFO query of kind DEVICE answers, before or without any session of the guest (clinfo asks first). The host
     * checked {@code param} ({@link io.ferry.protocol.InfoKind#refusal}) and the index; a param the device does not
     * know fails with {@link io.ferry.protocol.Status#INVALID_ARGUMENT}. Called from any session's thread.
     */
    default byte[] deviceInfo(int deviceIndex, int param) throws BackendException {
        throw new BackendException(io.ferry.protocol.Status.UNSUPPORTED, "the " + name() + " backend does not answer "
                + "OpenCL device info queries (INFO of kind DEVICE); use DEVICE_INFO, or a device of the OpenCL backend");
    }

    /**
     * The PCI address of this backend's device {@code deviceIndex} ({@code DDDD:BB:SS.F} as {@code lspci -D} prints
     * it, or CUDA's form with an 8-digit domain: the host normalizes it), or null when the device
     * reports none (a CPU device) or the backend cannot tell. The host compares it with the VFIO assignments and
     * never offers a device assigned to a VM.
     */
    default String pciBusId(int deviceIndex) {
        return null;
    }

    @Override
    default void close() {
    }
}
