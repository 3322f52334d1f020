package io.ferry.bench.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bounded fuzzing run of {@code ./ferry test}: the combined Jazzer target (ring frame, calls, TEE parameters,
 * HELLO, region header, picked by the first input byte) fuzzes for 15 s, coverage-guided from the seed corpus, in a child JVM. No
 * finding may come up, and it must really have run. Longer: {@code -Dferry.jazzer.seconds=600}.
 */
class FuzzProbesTest {

    @Test
    void everyDecoderSurvivesABoundedJazzerRun() {
        long seconds = Long.getLong("ferry.jazzer.seconds", 15L);
        long start = System.nanoTime();
        FuzzProbes.Result r = FuzzProbes.run(Duration.ofSeconds(seconds), List.of("all"));
        for (FuzzProbes.Run run : r.runs()) {
            System.err.println("jazzer " + run.target() + ": " + run.execs() + " executions, " + run.failures()
                    + " findings " + run.findings() + " in " + (System.nanoTime() - start) / 1_000_000 + " ms in all");
        }
        for (FuzzProbes.Run run : r.runs()) {
            assertEquals(0, run.failures(), () -> run.target() + ": " + run.findings() + "\n" + run.logTail());
            assertTrue(run.execs() > 100, () -> run.target() + " hardly ran:\n" + run.logTail());
        }
        assertTrue((Long) r.keys().get("fuzz_jazzer_execs") > 0);
    }

    /**
     * Ferry's jars carry no Jazzer driver: the probe finds the one the build fetched, in the local Maven repository.
     * This test's class path has the driver (a provided dependency); the repository it came from must be found.
     */
    @Test
    void theDriverIsFoundInTheLocalRepository() throws Exception {
        java.nio.file.Path onClassPath = java.nio.file.Path.of(Class.forName("com.code_intelligence.jazzer.Jazzer")
                .getProtectionDomain().getCodeSource().getLocation().toURI());
        String version = onClassPath.getParent().getFileName().toString(); // .../jazzer/VERSION/jazzer-VERSION.jar
        java.nio.file.Path repo = onClassPath.getParent().getParent().getParent().getParent().getParent();
        java.nio.file.Path elsewhere = java.nio.file.Files.createTempDirectory("no-repo");
        assertEquals(onClassPath, FuzzProbes.driverJar(List.of(elsewhere, repo), version));
        IllegalStateException none = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> FuzzProbes.driverJar(List.of(elsewhere), version));
        assertTrue(none.getMessage().contains("mvn dependency:get"), none.getMessage());
        assertTrue(FuzzProbes.localRepositories().getLast().endsWith(java.nio.file.Path.of(".m2", "repository")));
    }

    /** A finding is counted, with its exception: the zero above is not the probe failing to see them. */
    @Test
    void aFindingIsCounted() {
        FuzzProbes.Result r = FuzzProbes.run(Duration.ofSeconds(2), List.of(CanaryTarget.class.getName()));
        assertTrue(r.failures() >= 1, () -> r.runs().get(0).logTail());
        assertTrue(r.runs().get(0).findings().get(0).contains("canary finding"), r.runs().get(0).findings()::toString);
    }
}
