package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IcdBenchTest {

    @Test
    void theHarnessJsonParsesIntoFigures() {
        Map<String, Object> m = IcdBench.parseFlatJson("""
                {
                  "icd_platform": "Ferry",
                  "native_device": "pthread-\\"x\\"",
                  "icd_write4_us_p50": 12.5000,
                  "rounds": 7,
                  "verified": true
                }
                """);

        assertEquals("Ferry", m.get("icd_platform"));
        assertEquals("pthread-\"x\"", m.get("native_device"));
        assertEquals(12.5, m.get("icd_write4_us_p50"));
        assertEquals(7L, m.get("rounds"));
        assertEquals(true, m.get("verified"));
    }

    @Test
    void ratiosAreToNativeAndDifferencesToJava() {
        Report r = new Report("icd");
        for (String side : new String[] {"icd", "native"}) {
            double f = side.equals("icd") ? 2 : 1;
            r.put(side + "_write4_us_p50", 10.0 * f).put(side + "_launch_finish_us_p50", 20.0 * f)
                    .put(side + "_write_gbs", 4.0 * f).put(side + "_read_gbs", 5.0 * f)
                    .put(side + "_map_gbs", 8.0 * f).put(side + "_enqueues_per_s", 1000.0 * f);
        }
        r.put("java_write4_us_p50", 19.5).put("java_launch_finish_us_p50", 41.0);

        IcdBench.derive(r);

        assertEquals(2.0, r.get("write4_ratio"));
        assertEquals(2.0, r.get("launch_finish_ratio"));
        assertEquals(2.0, r.get("write_ratio"));
        assertEquals(2.0, r.get("read_ratio"));
        assertEquals(2.0, r.get("map_ratio"));
        assertEquals(0.5, (Double) r.get("icd_minus_java_write4_us"), 1e-9);
        assertEquals(-1.0, (Double) r.get("icd_minus_java_launch_finish_us"), 1e-9);
    }

    @Test
    void theVendorsDirectoryHoldsFerryAndTheSystemsOtherIcds(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/etc/OpenCL/vendors")), "no system OpenCL vendors here");
        Path lib = dir.resolve("libferry-opencl.so");
        Path vendors = IcdBench.vendors(dir.resolve("vendors"), lib);

        assertEquals(lib.toAbsolutePath() + "\n", Files.readString(vendors.resolve("ferry.icd")));
        try (var s = Files.list(vendors)) {
            assertTrue(s.count() >= 2, "ferry.icd and the host's own (PoCL here)");
        }
        try (var s = Files.list(vendors)) {
            assertFalse(s.filter(f -> !f.getFileName().toString().equals("ferry.icd"))
                    .anyMatch(f -> read(f).toLowerCase(java.util.Locale.ROOT).contains("ferry")));
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
