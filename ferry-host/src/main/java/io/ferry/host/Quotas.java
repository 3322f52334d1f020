package io.ferry.host;

import io.ferry.protocol.Status;

/**
 * Per-guest limits. Going over answers {@link Status#QUOTA_EXCEEDED} with a message that names the quota, the
 * figures and the fix. Together with the ring and heap sizes fixed at provisioning they bound what one guest can
 * make the host hold: device memory, objects (host memory per object is small and bounded), device commands queued,
 * and the bookkeeping of one-way calls not yet known to be done.
 *
 * @param deviceMemoryBytes  device memory the guest's buffers may hold at once
 * @param objects            live objects (contexts, queues, buffers, programs, kernels, events)
 * @param commandsInFlight   device commands the session may hold, over all its queues, between finishes
 * @param oneWayOutstanding  one-way compute and TEE calls the session may send between two synchronous calls
 */
public record Quotas(long deviceMemoryBytes, int objects, int commandsInFlight, int oneWayOutstanding) {
    /** Default of {@link #oneWayOutstanding}: bounds the host's bookkeeping of one-way calls to about 2 MiB. */
    public static final int DEFAULT_ONE_WAY_OUTSTANDING = 65_536;
    public static final Quotas DEFAULT = new Quotas(1L << 30, 4096, 4096, DEFAULT_ONE_WAY_OUTSTANDING);

    public Quotas {
        if (deviceMemoryBytes <= 0 || objects <= 0 || commandsInFlight <= 0 || oneWayOutstanding <= 0) {
            throw new IllegalArgumentException("quotas must be positive: " + deviceMemoryBytes + ", " + objects + ", "
                    + commandsInFlight + ", " + oneWayOutstanding);
        }
    }

    /** The first three quotas given, {@link #DEFAULT_ONE_WAY_OUTSTANDING} one-way calls. */
    public Quotas(long deviceMemoryBytes, int objects, int commandsInFlight) {
        this(deviceMemoryBytes, objects, commandsInFlight, DEFAULT_ONE_WAY_OUTSTANDING);
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

    /**
     * @param inFlight device commands the session holds now, over all its queues
     * @param onQueue  of which on {@code queue}
     */
    void checkCommandsInFlight(int inFlight, int onQueue, long queue) throws CallException {
        if (inFlight >= commandsInFlight) {
            throw new CallException(Status.QUOTA_EXCEEDED, "commands-in-flight quota: the session holds " + inFlight
                    + " device commands enqueued since their queues' last finish (" + onQueue + " on queue " + queue
                    + "), the limit is " + commandsInFlight + " per session; call finish() more often, or raise "
                    + "quotas.commandsInFlight");
        }
    }

    /** The refusal of the one-way call that went over {@link #oneWayOutstanding}. */
    CallException oneWayExceeded(long sent) {
        return new CallException(Status.QUOTA_EXCEEDED, "one-way calls outstanding: " + sent
                + " since the last synchronous call, over the session quota of " + oneWayOutstanding
                + "; this call and every later one-way call were refused until the next synchronous call; make a "
                + "synchronous call (finish) to drain them, or raise quotas.oneWayOutstanding");
    }
}
