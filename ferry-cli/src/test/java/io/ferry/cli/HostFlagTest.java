package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.HostAddress;
import io.ferry.host.config.HostConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** status finds a host's admin socket from its --host address, where the config leaves the sockets at their defaults. */
class HostFlagTest {

    @Test
    void theGuestSocketOfAHostLeadsToItsAdminSocket(@TempDir Path tmp) {
        for (Path dir : List.of(HostConfig.DEFAULT_REGION_DIR, tmp.resolve("regions"))) {
            HostConfig cfg = new HostConfig(dir, true, List.of(), List.of());
            assertEquals(cfg.adminSocket(), HostFlag.adminSocket(new HostAddress.Socket(cfg.guestSocket(), "--host")));
        }
    }

    @Test
    void aRegionDirectoryHoldsTheAdminSocket(@TempDir Path tmp) {
        assertEquals(tmp.resolve("admin.sock"), HostFlag.adminSocket(HostAddress.parse("file:" + tmp, "--host")));
    }

    @Test
    void aPciDeviceOrAnOddlyNamedSocketAsksForTheConfigOrTheSocket() {
        for (HostAddress a : List.of(HostAddress.parse("pci:0000:00:03.0", "--host"),
                HostAddress.parse("unix:/run/other/listener", "--host"))) {
            HostConfig.ConfigException e = assertThrows(HostConfig.ConfigException.class, () -> HostFlag.adminSocket(a));
            assertTrue(e.getMessage().contains("-c FILE") && e.getMessage().contains("--admin-socket PATH"),
                    e.getMessage());
        }
    }
}
