package io.ferry.client;

import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.time.Duration;

/**
 * The scheduling figures the host publishes in the region header (HOST_FIGURES; layout in docs/protocol.md):
 * what this guest can expect, to plan its work (coordinated scheduling, host to guest).
 *
 * @param expectedWait     how long a command submitted now would wait for the device (an estimate)
 * @param budgetLeft       device time left in the current reservation period, or null without a reservation
 * @param deviceTime       device time this guest has used
 * @param deadlineMisses   commands completed after their hinted deadline
 * @param queued           commands waiting for the device
 * @param inFlight         commands on the device
 * @param schedulingClass  0 CRITICAL, 1 HIGH, 2 NORMAL, 3 BEST_EFFORT
 * @param updates          how many times the host has published (0: never)
 */
public record SchedulingFigures(Duration expectedWait, Duration budgetLeft, Duration deviceTime, long deadlineMisses,
                                long queued, long inFlight, int schedulingClass, long updates) {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    static SchedulingFigures read(Region region) {
        var s = region.segment();
        long budget = get(s, RegionDescriptor.FIGURE_BUDGET_LEFT_OFFSET);
        return new SchedulingFigures(Duration.ofNanos(Math.max(0, get(s, RegionDescriptor.FIGURE_EXPECTED_WAIT_OFFSET))),
                budget < 0 ? null : Duration.ofNanos(budget),
                Duration.ofNanos(Math.max(0, get(s, RegionDescriptor.FIGURE_DEVICE_TIME_OFFSET))),
                get(s, RegionDescriptor.FIGURE_DEADLINE_MISSES_OFFSET), get(s, RegionDescriptor.FIGURE_QUEUED_OFFSET),
                get(s, RegionDescriptor.FIGURE_IN_FLIGHT_OFFSET), (int) get(s, RegionDescriptor.FIGURE_CLASS_OFFSET),
                get(s, RegionDescriptor.FIGURE_UPDATES_OFFSET));
    }

    private static long get(java.lang.foreign.MemorySegment s, int offset) {
        return (long) LONG.getAcquire(s, (long) offset);
    }
}
