package io.ferry.cuda;

import io.ferry.spi.DeviceInfo;

/**
 * One CUDA device as discovered: its ordinal ({@code CUdevice}), what the host reports, and what the backend needs
 * to launch and build for it.
 *
 * @param pageableMemoryAccess {@code CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS}: the GPU can read ordinary
 *     (unregistered) host memory of the process, e.g. through HMM. Then a guest kernel handed a host address of the
 *     daemon can read it whatever context it runs in (see docs/cuda.md, "Isolation").
 * @param maxSharedPerBlock the most shared memory (static and dynamic) a block may use once its kernel opts in
 *     ({@code CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN}; 48 KiB where the driver does not say)
 */
record CudaDevice(int ordinal, DeviceInfo info, int ccMajor, int ccMinor, LaunchGeometry.Limits limits,
        int maxSharedPerBlock, boolean pageableMemoryAccess, boolean hostPointerForRegisteredMem) {

    /** The NVRTC option that targets this device's virtual architecture, e.g. {@code --gpu-architecture=compute_90}. */
    String archOption() {
        return "--gpu-architecture=compute_" + ccMajor + ccMinor;
    }
}
