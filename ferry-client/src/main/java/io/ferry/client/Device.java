package io.ferry.client;

import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import java.util.Set;

/** A device the host offers, as described at connection time. {@code index} names it to the host. */
public record Device(int index, String name, String vendor, String version, String backend, DeviceType type,
                     long globalMemoryBytes, long localMemoryBytes, int computeUnits, long maxWorkGroupSize,
                     Set<SourceLanguage> languages) {

    public boolean accepts(SourceLanguage language) {
        return languages.contains(language);
    }

    @Override
    public String toString() {
        return "#" + index + " " + name + " (" + backend + ", " + type + ", " + computeUnits + " CU, "
                + (globalMemoryBytes >> 20) + " MiB)";
    }
}
