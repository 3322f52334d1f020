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
    static final int EXPECTED_WAIT = RegionDescriptor.HOST_FIGURES_OFFSET;
    static final int BUDGET_LEFT = EXPECTED_WAIT + 8;
    static final int DEVICE_TIME = EXPECTED_WAIT + 16;
    static final int DEADLINE_MISSES = EXPECTED_WAIT + 24;
    static final int QUEUED = EXPECTED_WAIT + 32;
    static final int IN_FLIGHT = EXPECTED_WAIT + 40;
    static final int CLASS = EXPECTED_WAIT + 48;
    static final int UPDATES = EXPECTED_WAIT + 56;
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
