package io.ferry.host;

import io.ferry.host.config.Quotas;
import io.ferry.host.sched.SchedClass;

/** What the host shows of its guests (status, /metrics, the dashboard): point-in-time views, a moment old. */
public final class HostViews {
    private HostViews() {
    }

    /** One guest's queue waits on one device, as a cumulative histogram (HdrHistogram resolution: 2 significant digits). */
    public record QueueWaits(String device, long[] cumulative, long count, double sumNanos) {
    }

    /** One guest's scheduling on one device, for status. */
    public record SchedulingView(String device, String schedClass, int weight, long deviceNanos, long budgetLeftNanos,
                                 long queued, long inFlight, long expectedWaitNanos, long deadlineMisses,
                                 long waitP50Nanos, long waitP99Nanos, long waitMaxNanos, long overruns,
                                 boolean flagged) {
    }

    /**
     * A point-in-time view of one guest, for status.
     *
     * <p>Of a guest with several sessions (one per lane): {@code sessionId} and {@code pid} are the first busy
     * lane's, the figures (calls, objects, memory, commands) the sum over its lanes.
     *
     * @param sessions  sessions served since the host started (reconnects count), over all lanes
     * @param pid       the connected guest's process id (0 when not connected)
     * @param heapBytes the heap of one lane
     * @param lanes     lanes of the guest's region
     * @param lanesBusy lanes with a session now
     */
    public record GuestView(String name, boolean connected, long sessionId, long sessions, long pid, long calls,
                            int objects, long deviceMemoryBytes, int commandsInFlight, Quotas quotas,
                            SchedClass schedClass, int weight, long regionBytes, long heapBytes, int lanes,
                            int lanesBusy) {
    }
}
