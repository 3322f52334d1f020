package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.AbstractComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The CUDA compute backend: every device the NVIDIA driver ({@code libcuda.so.1}) reports, in ordinal order, through
 * the driver API; CUDA C is compiled with NVRTC. Each guest session gets its own {@code CUcontext} per device, so
 * the GPU's MMU keeps guests' memory apart (see {@link CudaSession}).
 *
 * <p>Found by {@link java.util.ServiceLoader}; construction is cheap, discovery ({@code cuInit}) happens on the first
 * {@link #devices()} or {@link #openSession}. Without a driver it offers no device and says why.
 */
public final class CudaBackend extends AbstractComputeBackend<CudaDevice, CudaSession> {
    /** The reason reported when the driver library is missing. */
    public static final String NO_DRIVER = "no NVIDIA driver (libcuda.so.1) found";
    private static final Logger LOG = Logger.getLogger("ferry.cuda");

    private volatile int driverVersion;

    public CudaBackend() {
        super("CUDA");
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** The driver's CUDA version, e.g. 13000 for 13.0; 0 when unknown. */
    public int driverVersion() {
        deviceList();
        return driverVersion;
    }

    /** The devices found (for the probe and the baseline benchmark). */
    List<CudaDevice> cudaDevices() {
        return deviceList();
    }

    /** {@code cuDeviceGetPCIBusId}: the form CUDA prints ({@code 00000000:01:00.0}); the host normalizes it. */
    @Override
    public String pciBusId(int deviceIndex) {
        List<CudaDevice> found = deviceList();
        return deviceIndex < 0 || deviceIndex >= found.size() ? null : Cuda.pciBusId(found.get(deviceIndex).ordinal());
    }

    @Override
    protected DeviceInfo info(CudaDevice device) {
        return device.info();
    }

    @Override
    protected CudaSession newSession(String guest, MemorySegment heap, List<CudaDevice> devices,
            Consumer<Object> onClose) {
        return new CudaSession(guest, heap, devices, onClose);
    }

    @Override
    protected List<CudaDevice> discover() {
        if (!Cuda.AVAILABLE) {
            unavailable(NO_DRIVER);
            return List.of();
        }
        List<String> missing = Cuda.missingSymbols();
        if (!missing.isEmpty()) {
            unavailable("the NVIDIA driver (" + Cuda.LOADED_FROM + ") lacks " + missing
                    + "; Ferry needs a driver for CUDA 12.0 or newer");
            return List.of();
        }
        return enumerate();
    }

    private List<CudaDevice> enumerate() {
        List<CudaDevice> out = new ArrayList<>();
        int rc = Cuda.init(0);
        if (rc != 0) {
            String detail = Cuda.errorString(rc);
            unavailable(CudaErrors.message("cuInit", rc, detail) + (rc == CudaErrors.CUDA_ERROR_NO_DEVICE
                    ? " (the driver is installed but reports no CUDA-capable device)" : ""));
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_LONG);
            driverVersion = Cuda.driverVersion();
            rc = Cuda.deviceGetCount(v);
            int count = rc == 0 ? v.get(JAVA_INT, 0) : 0;
            if (count == 0) {
                unavailable(rc != 0 ? CudaErrors.message("cuDeviceGetCount", rc, null)
                        : "the NVIDIA driver reports no CUDA device");
                return out;
            }
            MemorySegment name = arena.allocate(256);
            for (int i = 0; i < count; i++) {
                if (Cuda.deviceGet(v, i) != 0) {
                    continue;
                }
                int dev = v.get(JAVA_INT, 0);
                String devName = Cuda.deviceGetName(name, 256, dev) == 0
                        ? name.getString(0, StandardCharsets.UTF_8).strip() : "CUDA device " + i;
                long total = Cuda.deviceTotalMem(v, dev) == 0 ? v.get(JAVA_LONG, 0) : 0;
                out.add(describe(out.size(), dev, devName, total));
            }
            if (out.isEmpty()) {
                unavailable("cuDeviceGet failed for all " + count + " device(s)");
            }
        }
        return out;
    }

    private CudaDevice describe(int index, int dev, String name, long totalMem) {
        int major = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0);
        int minor = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0);
        int maxThreads = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024);
        // The most shared memory a block may have once the kernel opts in (CuCommands.launch does), e.g. 227 KiB on
        // an H100/H200 against the 48 KiB default.
        int shared = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, 48 * 1024));
        int sms = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0);
        LaunchGeometry.Limits limits = new LaunchGeometry.Limits(
                new int[] {
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 1024),
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, 1024),
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64)},
                new int[] {
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, Integer.MAX_VALUE),
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 65535),
                    Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, 65535)},
                maxThreads);
        boolean pageable = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS, 0) != 0;
        boolean hostPtr = Cuda.attribute(dev, Cuda.CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM, 0) != 0;
        String version = "CUDA " + Cuda.versionText(driverVersion) + ", compute capability "
                + major + "." + minor;
        DeviceInfo info = new DeviceInfo(index, name, "NVIDIA Corporation", version, DeviceType.GPU, totalMem, shared,
                sms, maxThreads, List.of(SourceLanguage.CUDA_C, SourceLanguage.PTX));
        if (pageable) {
            LOG.warning(() -> "CUDA device " + index + " (" + name + ") can access pageable host memory "
                    + "(CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS): a guest kernel handed a host address of this "
                    + "process can read it from any context; see docs/cuda.md, Isolation");
        }
        return new CudaDevice(dev, info, major, minor, limits, shared, pageable, hostPtr);
    }
}
