package io.ferry.host.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The sandbox's limits in the host's config: defaults, units, "0 = off", refusals that name the figure. */
class WorkerLimitsConfigTest {

    @Test
    void defaultsBoundEveryWorkerAndEveryGuestsCommands() {
        HostConfig c = HostConfig.parse("guests: [{name: a}]", "t");
        assertEquals(HostConfig.WorkerLimits.DEFAULT, c.workerLimits());
        assertEquals(2L << 30, c.workerLimits().memoryBytes());
        assertEquals(60_000_000_000L, c.workerLimits().compileTimeNanos());
        assertEquals(HostConfig.DEFAULT_OVERRUN_NANOS, c.guest("a").overrunLimitNanos());
        assertEquals(2_000_000_000L, new HostConfig.GuestConfig("b", 16L << 20).overrunLimitNanos());
    }

    @Test
    void limitsAreReadAndWrittenBack() {
        HostConfig c = HostConfig.parse("""
                workerMemory: 3GiB
                compileTimeLimit: 5s
                workerCpuTime: 600s
                guests: [{name: a, overrunLimit: 0}, {name: b, overrunLimit: 250ms}]
                """, "t");
        assertEquals(new HostConfig.WorkerLimits(3L << 30, 5_000_000_000L, 600_000_000_000L), c.workerLimits());
        assertEquals(0, c.guest("a").overrunLimitNanos());
        assertEquals(250_000_000L, c.guest("b").overrunLimitNanos());
        HostConfig again = HostConfig.parse(c.toYaml(), "again");
        assertEquals(c.workerLimits(), again.workerLimits());
        assertEquals(0, again.guest("a").overrunLimitNanos());
        assertEquals(250_000_000L, again.guest("b").overrunLimitNanos());
    }

    @Test
    void tooLittleMemoryOrCompileTimeIsRefusedWithTheFigure() {
        HostConfig.ConfigException m = assertThrows(HostConfig.ConfigException.class, () -> HostConfig.parse("workerMemory: 64MiB", "t"));
        assertTrue(m.getMessage().contains("64MiB") && m.getMessage().contains("1536MiB"), m.getMessage());
        HostConfig.ConfigException t = assertThrows(HostConfig.ConfigException.class, () -> HostConfig.parse("compileTimeLimit: 10ms", "t"));
        assertTrue(t.getMessage().contains("10ms") && t.getMessage().contains("1s"), t.getMessage());
    }
}
