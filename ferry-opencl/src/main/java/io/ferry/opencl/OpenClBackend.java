package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.AbstractComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The OpenCL compute backend: every device of every platform behind the ICD loader ({@code libOpenCL.so.1}), in
 * the order platforms × devices ({@code CL_DEVICE_TYPE_ALL}); a device's index is its position in that list.
 *
 * <p>Found by {@link java.util.ServiceLoader}; construction is cheap, discovery happens on the first
 * {@link #devices()} or {@link #openSession}. Can also be used in-process directly (benchmark baselines).
 */
public final class OpenClBackend extends AbstractComputeBackend<ClDevice, OpenClSession> {
    /** The reason reported when the ICD loader library is missing. */
    public static final String NO_LOADER =
            "no OpenCL ICD loader found, install with apt-get install pocl-opencl-icd ocl-icd-libopencl1";

    public OpenClBackend() {
        super("OpenCL");
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    protected DeviceInfo info(ClDevice device) {
        return device.info();
    }

    @Override
    protected OpenClSession newSession(String guest, MemorySegment heap, List<ClDevice> devices,
            Consumer<Object> onClose) {
        return new OpenClSession(guest, heap, devices, onClose);
    }

    @Override
    public byte[] deviceInfo(int deviceIndex, int param) throws io.ferry.spi.BackendException {
        List<ClDevice> found = deviceList();
        if (deviceIndex < 0 || deviceIndex >= found.size()) {
            throw new io.ferry.spi.BackendException(io.ferry.protocol.Status.NO_DEVICE, "OpenCL device index "
                    + deviceIndex + " does not exist; the backend has " + found.size() + " device(s)");
        }
        return ClInfo.device(found.get(deviceIndex), param);
    }

    @Override
    public String pciBusId(int deviceIndex) {
        List<ClDevice> found = deviceList();
        return deviceIndex < 0 || deviceIndex >= found.size() ? null : ClPciBus.of(found.get(deviceIndex).id());
    }

    /**
     * Whether a platform is Ferry's own ICD (installed on this machine too): the host must never offer a device that
     * remotes to a host, itself perhaps.
     */
    static boolean isFerry(String platformName) {
        return platformName != null && platformName.strip().toLowerCase(java.util.Locale.ROOT).startsWith("ferry");
    }

    @Override
    protected List<ClDevice> discover() {
        if (!OpenCL.AVAILABLE) {
            unavailable(NO_LOADER);
            return List.of();
        }
        return enumerate();
    }

    private List<ClDevice> enumerate() {
        List<ClDevice> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int rc = OpenCL.getPlatformIDs(0, MemorySegment.NULL, count);
            int numPlatforms = rc == OpenCL.CL_SUCCESS ? count.get(JAVA_INT, 0) : 0;
            if (numPlatforms == 0) {
                unavailable("the OpenCL ICD loader found no platform"
                        + (rc == OpenCL.CL_SUCCESS ? "" : " (" + ClErrors.message("clGetPlatformIDs", rc, null) + ")")
                        + "; install a platform driver, e.g. apt-get install pocl-opencl-icd");
                return out;
            }
            MemorySegment platforms = arena.allocate(JAVA_LONG, numPlatforms);
            rc = OpenCL.getPlatformIDs(numPlatforms, platforms, count);
            if (rc != OpenCL.CL_SUCCESS) {
                unavailable("the OpenCL ICD loader found no platform (" + ClErrors.message("clGetPlatformIDs", rc, null) + ")");
                return out;
            }
            numPlatforms = Math.min(numPlatforms, count.get(JAVA_INT, 0));
            List<String> platformNames = new ArrayList<>();
            int[] status = new int[1];
            for (int p = 0; p < numPlatforms; p++) {
                long platform = platforms.getAtIndex(JAVA_LONG, p);
                String platformName = OpenCL.infoString(OpenCL.Info.PLATFORM, platform, OpenCL.CL_PLATFORM_NAME, status);
                if (isFerry(platformName)) {
                    continue; // Ferry's own ICD: a guest's device, never one to offer
                }
                platformNames.add(String.valueOf(platformName));
                int platformMajor = ClDevice.majorVersion(
                        OpenCL.infoString(OpenCL.Info.PLATFORM, platform, OpenCL.CL_PLATFORM_VERSION, status));
                rc = OpenCL.getDeviceIDs(platform, OpenCL.CL_DEVICE_TYPE_ALL, 0, MemorySegment.NULL, count);
                int numDevices = rc == OpenCL.CL_SUCCESS ? count.get(JAVA_INT, 0) : 0;
                if (numDevices == 0) {
                    continue;
                }
                MemorySegment ids = arena.allocate(JAVA_LONG, numDevices);
                if (OpenCL.getDeviceIDs(platform, OpenCL.CL_DEVICE_TYPE_ALL, numDevices, ids, count) != OpenCL.CL_SUCCESS) {
                    continue;
                }
                numDevices = Math.min(numDevices, count.get(JAVA_INT, 0));
                for (int d = 0; d < numDevices; d++) {
                    out.add(describe(out.size(), platform, platformMajor, ids.getAtIndex(JAVA_LONG, d)));
                }
            }
            if (out.isEmpty()) {
                unavailable("OpenCL platform(s) " + platformNames + " found but they report no device");
            }
        }
        return out;
    }

    private static ClDevice describe(int index, long platform, int platformMajor, long device) {
        int[] status = new int[1];
        OpenCL.Info dev = OpenCL.Info.DEVICE;
        String name = OpenCL.infoString(dev, device, OpenCL.CL_DEVICE_NAME, status);
        String vendor = OpenCL.infoString(dev, device, OpenCL.CL_DEVICE_VENDOR, status);
        String version = OpenCL.infoString(dev, device, OpenCL.CL_DEVICE_VERSION, status);
        String extensions = OpenCL.infoString(dev, device, OpenCL.CL_DEVICE_EXTENSIONS, status);
        long type = OpenCL.infoNumber(dev, device, OpenCL.CL_DEVICE_TYPE, 8, 0);
        DeviceType deviceType = (type & OpenCL.CL_DEVICE_TYPE_GPU) != 0 ? DeviceType.GPU
                : (type & OpenCL.CL_DEVICE_TYPE_CPU) != 0 ? DeviceType.CPU
                : (type & OpenCL.CL_DEVICE_TYPE_ACCELERATOR) != 0 ? DeviceType.ACCELERATOR : DeviceType.OTHER;
        DeviceInfo info = new DeviceInfo(index,
                name == null ? "unknown" : name,
                vendor == null ? "unknown" : vendor,
                version == null ? "unknown" : version,
                deviceType,
                OpenCL.infoNumber(dev, device, OpenCL.CL_DEVICE_GLOBAL_MEM_SIZE, 8, 0),
                OpenCL.infoNumber(dev, device, OpenCL.CL_DEVICE_LOCAL_MEM_SIZE, 8, 0),
                (int) OpenCL.infoNumber(dev, device, OpenCL.CL_DEVICE_MAX_COMPUTE_UNITS, 4, 0),
                OpenCL.infoNumber(dev, device, OpenCL.CL_DEVICE_MAX_WORK_GROUP_SIZE, 8, 0),
                List.of(SourceLanguage.OPENCL_C),
                // in bits; the least any OpenCL device may report is 128 (a long16), so 0 (no answer) becomes that
                Math.max(16, OpenCL.infoNumber(dev, device, ClMemory.CL_DEVICE_MEM_BASE_ADDR_ALIGN, 4, 0) / 8));
        int major = Math.min(platformMajor, ClDevice.majorVersion(version));
        boolean hints = extensions != null && (" " + extensions + " ").contains(" cl_khr_priority_hints ");
        return new ClDevice(platform, device, major, hints, info);
    }
}
