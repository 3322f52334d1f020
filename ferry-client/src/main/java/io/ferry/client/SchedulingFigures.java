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
        long base = RegionDescriptor.HOST_FIGURES_OFFSET;
        long budget = (long) LONG.getAcquire(s, base + 8);
        return new SchedulingFigures(Duration.ofNanos(Math.max(0, (long) LONG.getAcquire(s, base))),
                budget < 0 ? null : Duration.ofNanos(budget),
                Duration.ofNanos(Math.max(0, (long) LONG.getAcquire(s, base + 16))),
                (long) LONG.getAcquire(s, base + 24), (long) LONG.getAcquire(s, base + 32),
                (long) LONG.getAcquire(s, base + 40), (int) (long) LONG.getAcquire(s, base + 48),
                (long) LONG.getAcquire(s, base + 56));
    }
}
