package io.ferry.host.admin;

import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The scheduling figures the host publishes to a guest in its region header (coordinated scheduling: the guest
 * may plan with them). Each field is a u64 written with release semantics; fields are independent (a reader may
 * see figures of two successive updates), which is fine for planning.
 *
 * <pre>
 * HOST_FIGURES + 0   expected wait of a new command, ns
 *              + 8   budget left in the current period, ns (-1: no reservation)
 *              + 16  device time used so far, ns
 *              + 24  deadline misses
 *              + 32  commands queued
 *              + 40  commands in flight
 *              + 48  scheduling class (0 CRITICAL, 1 HIGH, 2 NORMAL, 3 BEST_EFFORT)
 *              + 56  update counter (increments on each publication; 0 = never published)
 * </pre>
 */
public final class HostFigures {
    static final int EXPECTED_WAIT = RegionDescriptor.FIGURE_EXPECTED_WAIT_OFFSET;
    static final int BUDGET_LEFT = RegionDescriptor.FIGURE_BUDGET_LEFT_OFFSET;
    static final int DEVICE_TIME = RegionDescriptor.FIGURE_DEVICE_TIME_OFFSET;
    static final int DEADLINE_MISSES = RegionDescriptor.FIGURE_DEADLINE_MISSES_OFFSET;
    static final int QUEUED = RegionDescriptor.FIGURE_QUEUED_OFFSET;
    static final int IN_FLIGHT = RegionDescriptor.FIGURE_IN_FLIGHT_OFFSET;
    static final int CLASS = RegionDescriptor.FIGURE_CLASS_OFFSET;
    static final int UPDATES = RegionDescriptor.FIGURE_UPDATES_OFFSET;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private HostFigures() {
    }

    public static void publish(Region region, io.ferry.host.sched.TenantFigures f) {
        var s = region.segment();
        LONG.setRelease(s, (long) EXPECTED_WAIT, f.expectedWaitNanos());
        LONG.setRelease(s, (long) BUDGET_LEFT, f.budgetLeftNanos());
        LONG.setRelease(s, (long) DEVICE_TIME, f.deviceNanos());
        LONG.setRelease(s, (long) DEADLINE_MISSES, f.deadlineMisses());
        LONG.setRelease(s, (long) QUEUED, f.queued());
        LONG.setRelease(s, (long) IN_FLIGHT, f.inFlight());
        LONG.setRelease(s, (long) CLASS, (long) f.schedClass().ordinal());
        long n = (long) LONG.getAcquire(s, (long) UPDATES);
        LONG.setRelease(s, (long) UPDATES, n + 1);
    }
}
