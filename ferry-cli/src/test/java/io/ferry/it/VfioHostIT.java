package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.compute.Devices;
import io.ferry.host.vfio.Assignments;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real host (real backends found by ServiceLoader, PoCL's CPU device) with a VFIO assignment recorded for a
 * fixture address: it reads the state file at discovery, says which addresses it will not serve, and still serves
 * the CPU device, which has no PCI address. The refusal of a device that has one is DevicesVfioTest's (this machine
 * has no such device); what a real GPU reports is docs/vfio.md's "What was tested".
 */
class VfioHostIT {
    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void aHostReadsTheAssignmentsAndServesTheCpuDevice() throws Exception {
        Path state = dir.resolve("vfio.json");
        Assignments.load(state).with(new Assignments.Assignment("vm1", "0000:01:00.0", "1", List.of(
                new Assignments.Member("0000:01:00.0", "nvidia", null)))).save();
        List<String> logged = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger log = Logger.getLogger("ferry.host");
        log.addHandler(h);
        Devices devices;
        try {
            devices = Devices.discover(List.of(), state);
        } finally {
            log.removeHandler(h);
        }
        assertTrue(logged.stream().anyMatch(m -> m.contains("1 assignment(s) recorded in " + state)
                && m.contains("0000:01:00.0 to VM vm1")), logged.toString());
        assertFalse(devices.all().isEmpty(), "PoCL's CPU device is served: " + devices.unavailableReasons());
        for (Devices.Device d : devices.all()) {
            assertNull(d.pciBusId(), d.info().name() + " is a CPU device without a PCI address");
        }
        try (devices; TestHost host = TestHost.start(devices, "alice")) {
            Path admin = host.host.config().adminSocket();
            Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(StatusIT.ask(admin, "status\n"));
            Map<String, Object> first = (Map<String, Object>) ((List<Object>) doc.get("devices")).get(0);
            assertTrue(first.containsKey("pci_bus_id"), first.toString());
            assertNull(first.get("pci_bus_id"));
        }
    }
}
