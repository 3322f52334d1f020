package io.ferry.cuda;

import io.ferry.spi.DeviceInfo;

/**
 * {@code java -cp … io.ferry.cuda.Probe}: lists the CUDA devices and NVRTC, or says why there are none and exits
 * with 2. The GPU check script runs it first so that it fails fast and plainly on a machine without a GPU.
 */
public final class Probe {
    private Probe() {
    }

    public static void main(String[] args) {
        try (CudaBackend backend = new CudaBackend()) {
            if (backend.devices().isEmpty()) {
                System.out.println("no CUDA device: " + backend.unavailableReason());
                System.exit(2);
            }
            System.out.println("CUDA driver " + backend.driverVersion() + " (" + Cuda.LOADED_FROM + ")");
            for (DeviceInfo d : backend.devices()) {
                System.out.println("device " + d.index() + ": " + d.name() + ", " + d.version() + ", " + d.computeUnits()
                        + " SMs, " + (d.globalMemoryBytes() >> 20) + " MiB");
            }
            for (CudaDevice d : backend.cudaDevices()) {
                if (d.pageableMemoryAccess()) {
                    System.out.println("note: device " + d.info().index() + " can access pageable host memory "
                            + "(CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS = 1)");
                }
            }
            try {
                Nvrtc n = Nvrtc.get();
                System.out.println("NVRTC " + n.version() + " (" + n.loadedFrom + ")");
            } catch (Exception e) {
                System.out.println("NVRTC: " + e.getMessage());
            }
        }
    }
}
