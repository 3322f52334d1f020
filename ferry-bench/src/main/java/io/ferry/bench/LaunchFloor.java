package io.ferry.bench;

import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.worker.DeviceThreadPinning;
import io.ferry.protocol.DeviceType;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * {@code ./ferry bench transport}'s floor under launch + finish ({@code ferry-icd/bench/launch_floor.c}, no Ferry in
 * it): the suite's kernel launched and finished through PoCL by a C program in its own process
 * ({@code launch_finish_us_floor_native}), and by a second process at the first one's request through a mailbox in
 * shared memory, the caller yielding and the device's process spinning 20 µs and then yielding, as Ferry's guest and
 * device worker wait, its PoCL threads pinned where a worker's would be ({@link DeviceThreadPinning})
 * ({@code launch_finish_us_floor_2_processes}). Their difference is what the crossing from a caller's process to the
 * device's costs on this machine by itself; remoting puts the device in another process than the guest, so
 * {@code launch_finish_us_remoted − launch_finish_us_native} cannot go below it.
 */
final class LaunchFloor {
    private static final String TOOL = "build/launch_floor";

    private LaunchFloor() {
    }

    /**
     * Both figures into {@code r}, each the median of {@code runs} runs' p50s, run alternately; nothing (with the reason
     * on stderr) for a device that is not a CPU device or where the tool cannot run.
     */
    static void measure(Report r, DeviceChoice.Native chosen, HostConfig.Scheduling scheduling, int runs, int rounds)
            throws IOException, InterruptedException {
        if (chosen.device().type() != DeviceType.CPU || !chosen.backend().name().equals("opencl")) {
            System.err.println("ferry bench transport: no launch + finish floor for " + chosen.device().name()
                    + " (launch_floor drives PoCL's CPU device only)");
            return;
        }
        if (!BenchPrograms.make("transport", List.of(TOOL))) {
            return;
        }
        String tool = IcdBench.ferryHome().resolve("ferry-icd").resolve(TOOL).toString();
        Map<String, String> workerEnv = DeviceThreadPinning.applies(scheduling, SchedClass.NORMAL)
                ? Map.of("POCL_AFFINITY", "1") : Map.of();
        double[] nat = new double[runs];
        double[] relay = new double[runs];
        for (int i = 0; i < runs; i++) {
            Double n = BenchPrograms.p50(BenchPrograms.run("transport", List.of(tool, "native",
                    Integer.toString(rounds)), Map.of(), 300));
            Double two = BenchPrograms.p50(BenchPrograms.run("transport", List.of(tool, "relay", "yb",
                    Integer.toString(rounds)), workerEnv, 300));
            if (n == null || two == null) {
                System.err.println("ferry bench transport: " + tool + " failed; no launch + finish floor");
                return;
            }
            nat[i] = n;
            relay[i] = two;
        }
        r.put("launch_finish_us_floor_native", TransportBench.median(nat));
        r.put("launch_finish_us_floor_2_processes", TransportBench.median(relay));
    }
}
