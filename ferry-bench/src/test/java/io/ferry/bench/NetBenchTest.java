package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class NetBenchTest {

    /** Figures of both modes, TLS slower by {@code tls}; the floors are 20 µs, 2 GB/s write and 1 GB/s read. */
    private static Report figures(double tls) {
        Report r = new Report("net");
        for (String m : NetBench.MODES) {
            double f = m.isEmpty() ? 1 : tls;
            r.put("tcp_floor_rtt_us_p50" + m, 20.0 * f).put("tcp_stream_write_gbs" + m, 2.0 / f)
                    .put("tcp_stream_read_gbs" + m, 1.0 / f)
                    .put("null_call_us_p50" + m, 30.0 * f).put("write4_blocking_us_p50" + m, 20.0 * f)
                    .put("launch_finish_us" + m, 50.0 * f)
                    .put("write_gbs" + m, 1.8 / f).put("read_gbs" + m, 0.5 / f)
                    .put("null_call_us_p50_64_clients" + m, 36.0 * f)
                    .put("null_call_us_p50_64_calling" + m, 960.0 * f);
        }
        return r.put("launch_finish_us_native", 40.0);
    }

    @Test
    void eachModeIsMeasuredAgainstItsOwnFloorAndLaunchAgainstNative() {
        Report r = figures(2);

        NetBench.derive(r);

        assertEquals(1.5, (Double) r.get("null_call_floor_ratio"), 1e-9);
        assertEquals(1.5, (Double) r.get("null_call_floor_ratio_tls"), 1e-9);
        assertEquals(10.0, (Double) r.get("launch_finish_over_native_us"), 1e-9);
        assertEquals(60.0, (Double) r.get("launch_finish_over_native_us_tls"), 1e-9);
        assertEquals(0.9, (Double) r.get("write_floor_ratio"), 1e-9);
        assertEquals(0.9, (Double) r.get("write_floor_ratio_tls"), 1e-9);
        assertEquals(0.5, (Double) r.get("read_floor_ratio"), 1e-9);
        assertEquals(1.2, (Double) r.get("clients_64_null_call_ratio"), 1e-9);
        assertEquals(1.2, (Double) r.get("clients_64_null_call_ratio_tls"), 1e-9);
        assertEquals(32.0, (Double) r.get("clients_64_calling_null_call_ratio"), 1e-9);
    }

    @Test
    void goalsAreCountedPerModeWithTheBandwidthGoalOfThatMode() {
        Report r = figures(2);

        NetBench.derive(r);

        // plain: null ✓, write4 ✓, launch ✓, write ✓, read ✗ (0.5 < 0.8), 64 clients ✓ → 5;
        // TLS: null ✓, write4 ✗ (40 µs), launch ✗ (+60 µs), write ✓, read ✗ (0.5 < 0.6), 64 clients ✓ → 3.
        assertEquals(8, r.get("goals_met"));
        assertEquals(12, r.get("goals_total"));

        Report tlsReadAtGoal = figures(2).put("read_gbs_tls", 0.31);
        NetBench.derive(tlsReadAtGoal);
        assertEquals(9, tlsReadAtGoal.get("goals_met")); // 0.62 of the TLS floor meets the TLS goal, not plain's 0.8
    }
}
