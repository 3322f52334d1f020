package io.ferry.host;

import io.ferry.protocol.Status;

/**
 * Per-guest limits. Going over answers {@link Status#QUOTA_EXCEEDED} with a message that names the quota and the
 * figures. Together with the ring and heap sizes fixed at provisioning they bound what one guest can make the host
 * hold: device memory, objects (host memory per object is small and bounded), and device commands queued.
 *
 * @param deviceMemoryBytes device memory the guest's buffers may hold at once
 * @param objects           live objects (contexts, queues, buffers, programs, kernels, events)
 * @param commandsInFlight  device commands a queue may hold between two finishes
 */
public record Quotas(long deviceMemoryBytes, int objects, int commandsInFlight) {
    public static final Quotas DEFAULT = new Quotas(1L << 30, 4096, 4096);

    public Quotas {
        if (deviceMemoryBytes <= 0 || objects <= 0 || commandsInFlight <= 0) {
            throw new IllegalArgumentException("quotas must be positive: " + deviceMemoryBytes + ", " + objects + ", "
                    + commandsInFlight);
        }
    }

    void checkDeviceMemory(long inUse, long more) throws CallException {
        if (more > deviceMemoryBytes - inUse) {
            throw new CallException(Status.QUOTA_EXCEEDED, "device memory quota: " + inUse + " bytes in use + "
                    + more + " requested > limit " + deviceMemoryBytes + " bytes");
        }
    }

    void checkObjects(int inUse) throws CallException {
        if (inUse >= objects) {
            throw new CallException(Status.QUOTA_EXCEEDED, "object quota: the session holds " + inUse
                    + " objects, the limit is " + objects + "; release objects you no longer need");
        }
    }

    void checkCommandsInFlight(int queued, long queue) throws CallException {
        if (queued >= commandsInFlight) {
            throw new CallException(Status.QUOTA_EXCEEDED, "commands-in-flight quota: " + queued
                    + " commands enqueued on queue " + queue + " since its last finish, the limit is "
                    + commandsInFlight + "; call finish() more often");
        }
    }
}
