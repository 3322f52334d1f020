package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.workload.WorkloadResult;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class VmGuestTest {

    @Test
    void resultLinesAreWhatTheSerialLogCounts() {
        SerialLog log = new SerialLog();
        log.accept(VmGuest.resultLine(new WorkloadResult("vadd", "64K floats", "cpu", 1.5, 20, 0, true, "ok")), 1);
        log.accept(VmGuest.resultLine(WorkloadResult.failed("matmul", "64×64×64", "cpu", Double.NaN, 3, "boom")), 2);

        assertEquals(1, log.verified());
        assertEquals(1, log.failed());
        assertTrue(log.failures().getFirst().endsWith(": boom"), log.failures().toString());
    }

    @Test
    void smallSizesKeepAnEmulatedGuestQuick() {
        assertEquals("64K floats", VmGuest.workload("vadd", true).size());
        assertEquals("64×64×64", VmGuest.workload("matmul", true).size());
        assertEquals("1M floats", VmGuest.workload("vadd", false).size());
    }

    @Test
    void unknownArgumentsAreRefused() {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThrows(IllegalArgumentException.class, () -> VmGuest.run(new String[] {"--bogus"}, out));
    }

    @Test
    void theGuestEnvNamesTheRegionAndTheWorkloads() {
        VmRun.Options o = new VmRun.Options(GuestImage.defaultCacheDir(), List.of("vadd", "matmul"), true, "tcg",
                Duration.ofMinutes(1), Duration.ofSeconds(5), 1, 512, false);

        assertEquals("GUEST_ARGS=\"--pci vm1 --probe --workloads vadd,matmul --small --bench 200\"\n",
                VmRun.guestEnv(o));
        VmRun.Options noBench = new VmRun.Options(o.cacheDir(), o.workloads(), true, "tcg", o.timeout(),
                o.kvmStall(), 1, 512, false, 0);
        assertEquals("GUEST_ARGS=\"--pci vm1 --probe --workloads vadd,matmul --small\"\n", VmRun.guestEnv(noBench));
    }

    @Test
    void theGuestClassPathHoldsTheClientAndTheWorkloads() {
        List<java.nio.file.Path> cp = GuestImage.guestClassPath();
        assertTrue(!cp.isEmpty() && cp.size() <= 5, cp.toString());
    }
}
