package io.ferry.host.config;

import io.ferry.host.sched.SchedClass;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HostConfigTest {

    @Test
    void aConfigOfManyGuestsSurvivesARoundTripWithoutAliases() {
        java.util.List<HostConfig.GuestConfig> gs = new java.util.ArrayList<>();
        for (int i = 0; i < 100; i++) {
            gs.add(new HostConfig.GuestConfig("g" + i, 1L << 20));
        }
        HostConfig c = new HostConfig(java.nio.file.Path.of("/tmp/r"), false, java.util.List.of(), gs);
        String yaml = c.toYaml();
        org.junit.jupiter.api.Assertions.assertFalse(yaml.contains("*id"), "no aliases in a file people edit");
        org.junit.jupiter.api.Assertions.assertEquals(100, HostConfig.parse(yaml, "many.yaml").guests().size());
    }

    @Test
    void everyFieldSurvivesARoundTripThroughYaml() {
        var g = new HostConfig.GuestConfig("alice", 32L << 20, HostConfig.newSecret(), SchedClass.CRITICAL,
                3, Set.of("compute"), new Quotas(1L << 28, 100, 50),
                new HostConfig.Reservation(3_000_000, 16_667_000), 2_000_000_000L);
        var cfg = new HostConfig(java.nio.file.Path.of("/tmp/x"), true, List.of("pthread"), List.of(g))
                .withScheduling(new HostConfig.Scheduling(HostConfig.Policy.FIFO, 2_500_000));
        var back = HostConfig.parse(cfg.toYaml(), "test");
        var h = back.guest("alice");
        assertEquals(32L << 20, h.regionSize());
        assertArrayEquals(g.secret(), h.secret());
        assertEquals(SchedClass.CRITICAL, h.schedClass());
        assertEquals(3, h.weight());
        assertEquals(Set.of("compute"), h.services());
        assertEquals(new Quotas(1L << 28, 100, 50), h.quotas());
        assertEquals(new HostConfig.Reservation(3_000_000, 16_667_000), h.reservation());
        assertEquals(2_000_000_000L, h.overrunLimitNanos());
        assertEquals(HostConfig.Policy.FIFO, back.scheduling().policy());
        assertEquals(2_500_000, back.scheduling().bestEffortCapNanos());
        assertEquals(List.of("pthread"), back.deviceFilter());
        assertFalse(back.discardRegions(), "discardRegions is a run option (ferry host --discard-regions), "
                + "not written to the file");
    }

    @Test
    void unknownKeysAreNamedWithTheKnownOnes() {
        var e = assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: a\n    regionSise: 1MiB\n", "f.yaml"));
        assertTrue(e.getMessage().contains("regionSise"), e.getMessage());
        assertTrue(e.getMessage().contains("regionSize"), e.getMessage());
    }

    @Test
    void badValuesSayWhatIsExpected() {
        assertTrue(assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: ../etc\n", "f")).getMessage().contains("not valid"));
        assertTrue(assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: a\n    regionSize: lots\n", "f")).getMessage()
                .contains("not a size"));
        assertTrue(assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: a\n    class: urgent\n", "f")).getMessage()
                .contains("critical"));
        assertTrue(assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: a\n    reservation: {budget: 20ms, period: 10ms}\n", "f"))
                .getMessage().contains("exceeds its period"));
        assertTrue(assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("guests:\n  - name: a\n  - name: a\n", "f")).getMessage().contains("twice"));
    }

    @Test
    void durationsAndSizesParse() {
        assertEquals(16_667_000, ConfigUnits.parseDuration("16.667ms", "t"));
        assertEquals(500_000, ConfigUnits.parseDuration("500us", "t"));
        assertEquals(2_000_000_000L, ConfigUnits.parseDuration("2s", "t"));
        assertEquals(64L << 20, ConfigUnits.parseSize("64MiB", "t"));
        assertEquals(1L << 30, ConfigUnits.parseSize("1g", "t"));
        assertEquals("16.667ms", ConfigUnits.formatDuration(16_667_000));
    }

    @Test
    void theRegionDirectoryOfADefaultGuestSocketIsTheOneItCameFrom() {
        for (String dir : List.of("/dev/shm/ferry", "/tmp/ferry-it-123", "/srv/regions")) {
            java.nio.file.Path d = java.nio.file.Path.of(dir);
            assertEquals(d, HostConfig.regionDirOfGuestSocket(HostConfig.defaultGuestSocket(d)), dir);
        }
        assertEquals(null, HostConfig.regionDirOfGuestSocket(java.nio.file.Path.of("/run/other/socket")));
    }

    @Test
    void anOldConfigWithKeepRegionsLoadsWithADeprecationWarning() {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("ferry.config");
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                warnings.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(h);
        try {
            for (String v : List.of("true", "false")) {
                var c = HostConfig.parse("keepRegions: " + v + "\nguests:\n  - name: a\n", "old.yaml");
                assertFalse(c.discardRegions(), "keepRegions: " + v + " no longer removes regions at stop");
                assertEquals(1, c.guests().size());
            }
        } finally {
            log.removeHandler(h);
        }
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains("old.yaml: keepRegions is deprecated")
                && warnings.getFirst().contains("--discard-regions"), warnings.getFirst());
        var e = assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse("keepRegions: maybe\n", "old.yaml"));
        assertTrue(e.getMessage().contains("keepRegions"), e.getMessage());
    }

    /** tee.isolation: process (the default) sandboxes TA instances; none is for tests; anything else is refused. */
    @Test
    void teeIsolationIsProcessUnlessSaidNone() {
        String base = "tee: {dir: /var/lib/ferry/tee, policy: /etc/ferry/tee.policy";
        assertTrue(HostConfig.parse(base + "}\n", "f").tee().sandboxed());
        assertTrue(HostConfig.parse(base + ", isolation: process}\n", "f").tee().sandboxed());
        HostConfig none = HostConfig.parse(base + ", isolation: none}\n", "f");
        assertFalse(none.tee().sandboxed());
        assertFalse(HostConfig.parse(none.toYaml(), "back").tee().sandboxed(), "isolation: none survives a round trip");
        var e = assertThrows(HostConfig.ConfigException.class,
                () -> HostConfig.parse(base + ", isolation: inprocess}\n", "f.yaml"));
        assertTrue(e.getMessage().contains("tee.isolation") && e.getMessage().contains("none"), e.getMessage());
    }

    @Test
    void realtimeAndCpuSetsPerClassAreParsedAndWrittenBack() {
        HostConfig c = HostConfig.parse("scheduler:\n  realtime: true\n  cpus: {critical: \"1\", best-effort: \"0,2-3\"}\n",
                "f.yaml");
        assertTrue(c.scheduling().realtime());
        assertEquals(java.util.BitSet.valueOf(new long[] {0b10}), c.scheduling().cpusOf(SchedClass.CRITICAL));
        assertEquals("0,2-3", CpuList.format(c.scheduling().cpusOf(SchedClass.BEST_EFFORT)));
        assertEquals(null, c.scheduling().cpusOf(SchedClass.NORMAL), "a class not named runs anywhere");
        HostConfig back = HostConfig.parse(c.toYaml(), "back.yaml");
        assertEquals(c.scheduling(), back.scheduling());
        assertFalse(HostConfig.parse("guests: []\n", "g.yaml").scheduling().realtime(), "off unless asked for");
    }

    @Test
    void wrongCpuSetsAndRealtimeValuesAreRefusedWithTheReason() {
        assertRefused("scheduler: {cpus: {critical: \"3-1\"}}\n", "'3-1' must name CPUs");
        assertRefused("scheduler: {cpus: {critical: \"x\"}}\n", "'x' is not a CPU");
        assertRefused("scheduler: {cpus: {critical: \"1024\"}}\n", "0..1023");
        assertRefused("scheduler: {cpus: {urgent: \"1\"}}\n", "'urgent' is not one of");
        assertRefused("scheduler: {cpus: \"1\"}\n", "must map classes to CPU lists");
        assertRefused("scheduler: {realtime: maybe}\n", "scheduler.realtime must be true or false");
    }

    @Test
    void releaseHoldIsAutoUnlessAskedForAndWrittenBack() {
        assertEquals(HostConfig.ReleaseHold.AUTO, HostConfig.parse("guests: []\n", "g.yaml").scheduling().releaseHold());
        HostConfig on = HostConfig.parse("scheduler: {releaseHold: on}\n", "f.yaml");
        assertEquals(HostConfig.ReleaseHold.ON, on.scheduling().releaseHold());
        assertEquals(on.scheduling(), HostConfig.parse(on.toYaml(), "back.yaml").scheduling());
        assertRefused("scheduler: {releaseHold: always}\n", "scheduler.releaseHold");
    }

    private static void assertRefused(String yaml, String why) {
        var e = assertThrows(HostConfig.ConfigException.class, () -> HostConfig.parse(yaml, "f.yaml"));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
