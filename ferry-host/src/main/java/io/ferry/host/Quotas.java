package io.ferry.host;

import io.ferry.protocol.Status;

/** Per-guest limits. Going over names the quota and the figures. */
record Quotas(long deviceMemoryBytes, int objects) {
    static final Quotas DEFAULT = new Quotas(Long.MAX_VALUE, 65_536);

    void checkDeviceMemory(long inUse, long more) throws CallException {
        if (more > deviceMemoryBytes - inUse) {
            throw new CallException(Status.QUOTA_EXCEEDED, "device memory quota: " + inUse + " bytes in use + "
                    + more + " requested > limit " + deviceMemoryBytes + " bytes");
        }
    }
}
