package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.RegionDescriptor;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.sched.SchedClass;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A guest's lanes and layout as the host derives them from its config. */
class GuestLayoutTest {

    @Test
    void lanesParseAndSurviveARoundTripThroughYaml() {
        HostConfig c = HostConfig.parse("guests:\n  - name: a\n    regionSize: 32MiB\n    lanes: 6\n"
                + "  - name: b\n", "f.yaml");
        assertEquals(6, c.guest("a").lanes());
        assertEquals(0, c.guest("b").lanes(), "not named: the default");
        assertEquals(c, HostConfig.parse(c.toYaml(), "again").withGuests(c.guests()));
        assertEquals(6, HostConfig.parse(c.toYaml(), "again").guest("a").lanes());
        assertFalse(c.toYaml().contains("lanes: 0"));
    }

    @Test
    void lanesOutOfRangeAreRefusedWithTheRange() {
        for (String bad : new String[] {"0", "17", "-1"}) {
            var e = assertThrows(HostConfig.ConfigException.class, () -> HostConfig.parse(
                    "guests:\n  - name: a\n    lanes: " + bad + "\n", "f.yaml"));
            assertTrue(e.getMessage().contains("lanes"), e.getMessage());
        }
        assertEquals(HostConfig.MAX_LANES, RegionDescriptor.MAX_LANES, "config and layout agree");
    }

    @Test
    void theDefaultIsOneLaneAndAutoTakesUpToFourAsTheRegionHolds() {
        assertEquals(1, GuestLayout.lanes(new HostConfig.GuestConfig("g", 64L << 20)));
        int auto = HostConfig.LANES_AUTO;
        assertEquals(4, GuestLayout.lanes(new HostConfig.GuestConfig("g", 64L << 20).withLanes(auto)));
        assertEquals(4, GuestLayout.lanes(new HostConfig.GuestConfig("g", 16L << 20).withLanes(auto)));
        assertEquals(3, GuestLayout.lanes(new HostConfig.GuestConfig("g", 4L << 20).withLanes(auto)));
        assertEquals(1, GuestLayout.lanes(new HostConfig.GuestConfig("g", 1L << 20).withLanes(auto)));
        assertEquals(HostConfig.LANES_AUTO, HostConfig.parse("guests:\n  - name: a\n    lanes: auto\n", "f.yaml")
                .guest("a").lanes());
        assertEquals(8, GuestLayout.lanes(new HostConfig.GuestConfig("g", 64L << 20).withLanes(8)));
        var layout = GuestLayout.of(new HostConfig.GuestConfig("g", 16L << 20));
        assertEquals(16L << 20, layout.regionSize());
        assertTrue(layout.laneHeapSize() >= HostConfig.MIN_DEFAULT_LANE_HEAP);
    }

    @Test
    void aRegionWithoutRoomForTheNamedLanesIsAConfigErrorThatSaysWhatToChange() {
        var e = assertThrows(HostConfig.ConfigException.class,
                () -> GuestLayout.of(new HostConfig.GuestConfig("tight", 1L << 20).withLanes(8)));
        assertTrue(e.getMessage().contains("guest tight"), e.getMessage());
        assertTrue(e.getMessage().contains("raise its regionSize or lower its lanes (now 8)"), e.getMessage());
    }

    @Test
    void eachLaneGetsAnEqualShareOfTheGuestsQuotas() {
        var g = new HostConfig.GuestConfig("g", 16L << 20, null, SchedClass.NORMAL, 1, Set.of("compute"),
                new Quotas(1L << 30, 4096, 10, 500)).withLanes(4);
        Quotas q = GuestLayout.laneQuotas(g);
        assertEquals(1L << 28, q.deviceMemoryBytes());
        assertEquals(1024, q.objects());
        assertEquals(2, q.commandsInFlight());
        assertEquals(500, q.oneWayOutstanding(), "one-way calls bound one session's bookkeeping");
        assertEquals(g.quotas(), GuestLayout.laneQuotas(g.withLanes(1)));
        assertEquals(1, new Quotas(1L << 30, 3, 3).share(16).objects(), "never below one");
    }
}
