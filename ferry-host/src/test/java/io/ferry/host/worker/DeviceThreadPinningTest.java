package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import java.util.BitSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a worker asks PoCL to pin its threads one per CPU: only where nothing else places them. */
class DeviceThreadPinningTest {
    private static final HostConfig.Scheduling PLAIN = HostConfig.Scheduling.DEFAULT;

    @Test
    void aNormalOrHighGuestOnAnUnrestrictedHostPins() {
        assertTrue(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), "0-1", "0-1\n"));
        assertTrue(DeviceThreadPinning.applies(PLAIN, SchedClass.HIGH, Map.of("PATH", "/bin"), "0-7", "0-7"));
    }

    @Test
    void criticalAndBestEffortGuestsKeepTheKernelsPlacement() {
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.CRITICAL, Map.of(), "0-1", "0-1"));
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.BEST_EFFORT, Map.of(), "0-1", "0-1"));
    }

    @Test
    void theOperatorsPoclThreadSettingsWin() {
        for (String k : new String[] {"POCL_AFFINITY", "POCL_MAX_PTHREAD_COUNT", "POCL_PTHREAD_MIN_THREADS"}) {
            assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(k, "1"), "0-1", "0-1"), k);
        }
    }

    @Test
    void cpuSetsOrRealTimeInTheConfigTurnItOff() {
        BitSet one = new BitSet();
        one.set(1);
        var cpus = new HostConfig.Scheduling(HostConfig.Policy.FERRY, 4_000_000, false,
                Map.of(SchedClass.CRITICAL, one));
        var rt = new HostConfig.Scheduling(HostConfig.Policy.FERRY, 4_000_000, true, Map.of());
        assertFalse(DeviceThreadPinning.applies(cpus, SchedClass.NORMAL, Map.of(), "0-1", "0-1"));
        assertFalse(DeviceThreadPinning.applies(rt, SchedClass.NORMAL, Map.of(), "0-1", "0-1"));
    }

    /** PoCL pins thread i to CPU i: every CPU from 0 up must be there and allowed, or a newer PoCL aborts. */
    @Test
    void aRestrictedOrGappedCpuSetTurnsItOff() {
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), "2-3", "0-3"), "a cpuset");
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), "0,2-3", "0,2-3"), "offline 1");
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), "1-2", "1-2"), "no CPU 0");
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), null, "0-1"), "unknown");
        assertFalse(DeviceThreadPinning.applies(PLAIN, SchedClass.NORMAL, Map.of(), "0-1", "garbage"), "unreadable");
    }
}
