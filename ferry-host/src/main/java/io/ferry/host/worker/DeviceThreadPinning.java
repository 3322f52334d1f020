package io.ferry.host.worker;

import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Map;

/**
 * Whether a guest's device worker asks PoCL to pin its CPU device's threads one per CPU ({@code POCL_AFFINITY=1}:
 * thread i on CPU i). Unpinned, the kernel puts a worker's threads where they wake each other: the worker's own thread
 * and PoCL's threads then take turns on one CPU while the guest's thread, waiting for the answer, holds the other.
 * On the 2-core VM a launch + finish through the OpenCL ICD took 44-48 µs so, and 27-31 µs pinned
 * (docs/benchmarks.md, "icd"). Pinning takes freedom from the kernel, so it is asked only where nothing else places
 * these threads:
 * <ul>
 *   <li>the operator set none of PoCL's thread settings ({@code POCL_AFFINITY}, {@code POCL_MAX_PTHREAD_COUNT},
 *       {@code POCL_PTHREAD_MIN_THREADS}): theirs pass through to the worker unchanged;</li>
 *   <li>the host has no CPU set per class and no real-time scheduling ({@code scheduler.cpus}, {@code realtime});</li>
 *   <li>the guest is NORMAL or HIGH: a CRITICAL guest's threads keep the placement the mixed-criticality suite was
 *       measured with, and a BEST_EFFORT guest's threads run under SCHED_IDLE, where only freedom to move finds
 *       them an idle CPU;</li>
 *   <li>this process may run on every online CPU and they are numbered from 0 without a gap: PoCL starts a thread
 *       per CPU and pins thread i to CPU i, and a newer PoCL aborts when that CPU is not allowed (a container's
 *       cpuset).</li>
 * </ul>
 */
public final class DeviceThreadPinning {
    private static final String[] OPERATOR_KEYS = {"POCL_AFFINITY", "POCL_MAX_PTHREAD_COUNT",
            "POCL_PTHREAD_MIN_THREADS"};

    private DeviceThreadPinning() {
    }

    /** For a worker of a guest of class {@code c} on this host, from this process's environment and CPU lists. */
    public static boolean applies(HostConfig.Scheduling s, SchedClass c) {
        return applies(s, c, System.getenv(), allowedCpus(), onlineCpus());
    }

    /**
     * The rule above. {@code allowed} and {@code online} are Linux CPU lists ({@code 0-1,4}) as
     * {@code /proc/self/status} and {@code /sys/devices/system/cpu/online} give them; null: unknown (no pinning).
     */
    static boolean applies(HostConfig.Scheduling s, SchedClass c, Map<String, String> env, String allowed,
                           String online) {
        for (String k : OPERATOR_KEYS) {
            if (env.containsKey(k)) {
                return false;
            }
        }
        if (s.realtime() || !s.cpus().isEmpty() || (c != SchedClass.NORMAL && c != SchedClass.HIGH)) {
            return false;
        }
        BitSet a = parse(allowed);
        BitSet o = parse(online);
        return a != null && o != null && !o.isEmpty() && o.nextClearBit(0) == o.length() && a.equals(o);
    }

    /** A CPU list, or null where it is missing or not one. */
    private static BitSet parse(String list) {
        if (list == null) {
            return null;
        }
        try {
            return io.ferry.host.config.CpuList.parse(list.strip(), "CPU list");
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring("Cpus_allowed_list:".length());
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: unknown
        }
        return null;
    }

    private static String onlineCpus() {
        try {
            return Files.readString(Path.of("/sys/devices/system/cpu/online"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
