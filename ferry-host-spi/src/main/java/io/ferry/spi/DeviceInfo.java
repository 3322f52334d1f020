package io.ferry.spi;

import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import java.util.List;

/**
 * What a backend reports about one device. {@code index} is the backend's own index, passed back to
 * {@link BackendSession#createContext}.
 */
public record DeviceInfo(
        int index,
        String name,
        String vendor,
        String version,
        DeviceType type,
        long globalMemoryBytes,
        long localMemoryBytes,
        int computeUnits,
        long maxWorkGroupSize,
        List<SourceLanguage> languages,
        long baseAddressAlignment) {

    /**
     * A device whose sub-buffers may start at any byte ({@code baseAddressAlignment} 1). {@code baseAddressAlignment}
     * is in bytes (OpenCL's {@code CL_DEVICE_MEM_BASE_ADDR_ALIGN} is in bits): a sub-buffer's offset must be a
     * multiple of it.
     */
    public DeviceInfo(int index, String name, String vendor, String version, DeviceType type, long globalMemoryBytes,
                      long localMemoryBytes, int computeUnits, long maxWorkGroupSize, List<SourceLanguage> languages) {
        this(index, name, vendor, version, type, globalMemoryBytes, localMemoryBytes, computeUnits, maxWorkGroupSize,
                languages, 1);
    }
}
