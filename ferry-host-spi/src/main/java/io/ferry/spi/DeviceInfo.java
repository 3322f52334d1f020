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
        List<SourceLanguage> languages) {
}
