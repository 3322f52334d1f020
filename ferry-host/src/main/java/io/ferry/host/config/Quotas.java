package io.ferry.host.config;

/**
 * Per-guest limits. Going over answers {@code QUOTA_EXCEEDED} (see {@code io.ferry.host.session.QuotaChecks}) with a message that names the quota, the
 * figures and the fix. Together with the ring and heap sizes fixed at provisioning they bound what one guest can
 * make the host hold: device memory, objects (host memory per object is small and bounded), device commands queued,
 * and the bookkeeping of one-way calls not yet known to be done.
 *
 * @param deviceMemoryBytes  device memory the guest's buffers may hold at once
 * @param objects            live objects (contexts, queues, buffers, programs, kernels, events)
 * @param commandsInFlight   device commands the session may hold, over all its queues, between finishes
 * @param oneWayOutstanding  one-way compute and TEE calls the session may send between two synchronous calls
 * @param lanes              1 for a guest's quotas; n for one lane's share of them ({@link #share}), which messages
 *                           name so that a limit below the configured one is explained
 */
public record Quotas(long deviceMemoryBytes, int objects, int commandsInFlight, int oneWayOutstanding, int lanes) {
    /** Default of {@link #oneWayOutstanding}: bounds the host's bookkeeping of one-way calls to about 2 MiB. */
    public static final int DEFAULT_ONE_WAY_OUTSTANDING = 65_536;
    public static final Quotas DEFAULT = new Quotas(1L << 30, 4096, 4096, DEFAULT_ONE_WAY_OUTSTANDING);

    public Quotas {
        if (deviceMemoryBytes <= 0 || objects <= 0 || commandsInFlight <= 0 || oneWayOutstanding <= 0 || lanes <= 0) {
            throw new IllegalArgumentException("quotas must be positive: " + deviceMemoryBytes + ", " + objects + ", "
                    + commandsInFlight + ", " + oneWayOutstanding);
        }
    }

    /**
     * One lane's share of a guest's quotas: device memory, objects and commands in flight divided evenly between
     * {@code lanes} (at least 1 each), so the guest's lanes together hold no more than its quotas; one-way calls
     * stay per session (they bound the host's bookkeeping of one session).
     */
    public Quotas share(int lanes) {
        if (lanes <= 1) {
            return this;
        }
        return new Quotas(Math.max(1, deviceMemoryBytes / lanes), Math.max(1, objects / lanes),
                Math.max(1, commandsInFlight / lanes), oneWayOutstanding, lanes);
    }

    /** For messages: "" for a guest's quotas, else what makes this lane's limit lower than the configured one. */
    public String shareNote() {
        return lanes <= 1 ? "" : " (this lane's share: the guest's quota is split between its " + lanes + " lanes, "
                + "one per connected process; lanes: 1 in the host config gives one process all of it)";
    }

    /** A guest's quotas. */
    public Quotas(long deviceMemoryBytes, int objects, int commandsInFlight, int oneWayOutstanding) {
        this(deviceMemoryBytes, objects, commandsInFlight, oneWayOutstanding, 1);
    }

    /** The first three quotas given, {@link #DEFAULT_ONE_WAY_OUTSTANDING} one-way calls. */
    public Quotas(long deviceMemoryBytes, int objects, int commandsInFlight) {
        this(deviceMemoryBytes, objects, commandsInFlight, DEFAULT_ONE_WAY_OUTSTANDING);
    }
}
