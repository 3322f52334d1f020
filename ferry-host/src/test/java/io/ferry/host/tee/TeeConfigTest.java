package io.ferry.host.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.config.HostConfig.ConfigException;
import io.ferry.host.config.HostConfig;
import org.junit.jupiter.api.Test;

/** The TEE's per-call watchdog in ferry.yaml: tee.callLimit, default 10 s. */
class TeeConfigTest {
    static final String GUEST = "guests:\n  - name: a\n";

    @Test
    void callLimitDefaultsToTenSecondsAndRoundTrips() {
        HostConfig d = HostConfig.parse("tee: {dir: /t, policy: /p}\n" + GUEST, "f");
        assertEquals(10_000, d.tee().callLimitMillis());
        HostConfig c = HostConfig.parse("tee: {dir: /t, policy: /p, callLimit: 2500ms}\n" + GUEST, "f");
        assertEquals(2500, c.tee().callLimitMillis());
        assertEquals(2500, HostConfig.parse(c.toYaml(), "back").tee().callLimitMillis());
    }

    @Test
    void aCallLimitOutOfRangeIsRefusedWithTheFix() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> HostConfig.parse("tee: {dir: /t, policy: /p, callLimit: 7200s}\n" + GUEST, "f"));
        assertTrue(e.getMessage().contains("tee.callLimit"), e.getMessage());
        assertThrows(ConfigException.class,
                () -> HostConfig.parse("tee: {dir: /t, policy: /p, callLimit: 5us}\n" + GUEST, "f"));
    }
}
