package io.ferry.it;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.testkit.RawGuest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Heap references are checked by the host against the heap's size, whatever the guest library would send: a guest
 * written from the wire format (RawGuest) asks for ranges outside the heap and across its end.
 */
class HeapRangeIT {

    @Test
    void rangesOutsideTheHeapOrAcrossItsEndAreRefused() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-heap-");
        try (Devices devices = Devices.discover(List.of());
             FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(),
                     List.of(new HostConfig.GuestConfig("g", 1L << 20))), devices);
             RawGuest g = new RawGuest(host.regionPath("g"))) {
            assertEquals(Status.OK, g.connect(5_000_000_000L).status());
            long heap = g.region.heap().byteSize();
            assertEquals(Status.OK, g.call(Op.CONTEXT_CREATE, null, 10_000_000_000L, 1, 0).status());
            assertEquals(Status.OK, g.call(Op.QUEUE_CREATE, null, 10_000_000_000L, 2, 1, 0, 0).status());
            assertEquals(Status.OK, g.call(Op.BUFFER_CREATE, null, 10_000_000_000L, 3, 1, 4096, 0, -1).status());

            long[][] ranges = {{heap, 64}, {heap - 64, 128}, {-64, 128}, {Long.MAX_VALUE - 8, 64}};
            for (long[] r : ranges) {
                RawGuest.Reply reply = g.call(Op.BUFFER_WRITE, null, 10_000_000_000L, 2, 3, 0, r[1], r[0], 0, 0);
                assertEquals(Status.HEAP_RANGE, reply.status(), "heap offset " + r[0] + " size " + r[1]);
                assertTrue(reply.text().contains("outside the guest heap of " + heap + " bytes"), reply.text());
            }
            RawGuest.Reply buffer = g.call(Op.BUFFER_CREATE, null, 10_000_000_000L, 4, 1, 128, 0, heap - 64);
            assertEquals(Status.HEAP_RANGE, buffer.status(), "a heap-backed buffer across the heap's end");
            // A range that ends exactly at the heap's end is fine.
            assertEquals(Status.OK, g.call(Op.BUFFER_WRITE, null, 10_000_000_000L, 2, 3, 0, 64, heap - 64, 0, 0).status());
            assertTrue(g.open());
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
