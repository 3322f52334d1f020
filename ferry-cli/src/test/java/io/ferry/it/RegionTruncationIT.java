package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.Region;
import io.ferry.client.Ferry;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Item 2: what a region's size does to the host. A sealed memfd region cannot change size at all (see
 * GuestSocketIT#theReceivedRegionCannotBeResizedByTheGuest); a file region (for VMs: only the host's uid and QEMU
 * reach it) truncated under the host ends that guest's session with a reason, while the heartbeat thread goes on
 * and a bystander keeps verifying.
 */
class RegionTruncationIT {

    @Test
    void aFileRegionTruncatedUnderTheHostEndsOnlyThatGuestsSession() throws Exception {
        try (Hosts h = Hosts.start(List.of(
                Hosts.guest("victim", null, Quotas.DEFAULT).withRegion(HostConfig.RegionKind.FILE),
                Hosts.guest("bystander", null, Quotas.DEFAULT)));
             RegionChecks.Audit audit = new RegionChecks.Audit();
             Ferry bystander = h.connect("bystander");
             Region watch = Region.open(h.region("bystander"))) {
            Ferry victim = Ferry.connect(h.region("victim"));
            assertEquals(1, victim.nop(1));
            assertTrue(h.view("victim").connected());

            try (FileChannel ch = FileChannel.open(h.region("victim"), StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (h.view("victim").connected() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(h.view("victim").connected(), "the truncated guest's session ended");
            assertTrue(audit.has("guest victim", "region"), audit.lines().toString());

            // The shared heartbeat thread lives on: the bystander's host heartbeat keeps moving.
            long beat = watch.hostHeartbeat();
            deadline = System.nanoTime() + 5_000_000_000L;
            while (watch.hostHeartbeat() == beat && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertNotEquals(beat, watch.hostHeartbeat(), "the host heartbeat goes on after the failure");
            assertTrue(RegionChecks.vaddVerifies(bystander), "the bystander verifies");
            // The guest library's shared heartbeat thread survives the victim's fault too: the bystander, in this
            // same process, is still beating after the host's guest timeout.
            Thread.sleep(3_500);
            assertTrue(h.view("bystander").connected(), "the bystander's heartbeat went on");
            assertTrue(RegionChecks.vaddVerifies(bystander));
            try {
                victim.close();
            } catch (Throwable expected) {
                // its own mapping is gone under it: that is the victim's problem, not the host's
            }
        }
    }
}
