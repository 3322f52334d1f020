package io.ferry.host.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.Region;
import io.ferry.channel.RegionLayout;
import io.ferry.channel.SpscRing;
import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What a worker answers is untrusted: a reply that breaks the worker protocol ends that guest's device work with
 * DEVICE_LOST and a clear message, never an exception of the host's own (issue 11, 10b). A real process stands in
 * for the worker; the test writes its answers.
 */
class WorkerProtocolTest {

    /** Answers the next request with {@code status}, as a broken worker would. */
    private static Thread fakeWorker(Region control, int status) {
        return Thread.ofPlatform().start(() -> {
            SpscRing requests = control.commandRing();
            SpscRing replies = control.completionRing();
            long[] seq = {-1};
            int[] type = {0};
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seq[0] < 0 && System.nanoTime() < deadline) {
                requests.poll((t, rec, length) -> {
                    seq[0] = Wire.seq(rec, 0);
                    type[0] = t;
                }, 1);
                Thread.onSpinWait();
            }
            long at = replies.tryClaim(type[0], Wire.completionLength(0));
            Wire.putCompletion(replies.segment(), at, seq[0], status, 0, 0, 0, 0, null, 0);
            replies.publish();
        });
    }

    private static void answeredWith(int status, String expected) throws Exception {
        Path dir = Files.createTempDirectory("ferry-worker-protocol");
        Region control = Region.create(dir.resolve("c.worker"), "g", new RegionLayout(64 * 1024, 64 * 1024, 64 * 1024),
                null);
        Process standIn = new ProcessBuilder("sleep", "60").start();
        WorkerClient client = new WorkerClient("g", control, standIn, 60_000_000_000L);
        try {
            Thread worker = fakeWorker(control, status);
            BackendException e = assertThrows(BackendException.class, () -> client.finish(7));
            worker.join();
            assertEquals(Status.DEVICE_LOST, e.status());
            assertTrue(e.getMessage().contains(expected), e.getMessage());
            assertTrue(e.getMessage().contains("worker protocol violation"), e.getMessage());
            assertTrue(standIn.waitFor(10, TimeUnit.SECONDS), "the broken worker is killed");
            BackendException later = assertThrows(BackendException.class, () -> client.finish(7));
            assertEquals(Status.DEVICE_LOST, later.status());
        } finally {
            standIn.destroyForcibly();
            control.close();
            Files.deleteIfExists(dir.resolve("c.worker"));
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void aStatusCodeInsideTheTablesGapsIsAProtocolViolation() throws Exception {
        int gap = -1;
        for (int c = 0; c < 64 && gap < 0; c++) {
            if (Status.of(c) == null) {
                gap = c;
            }
        }
        if (gap >= 0) {
            answeredWith(gap, "status code " + gap);
        }
    }

    @Test
    void aStatusCodePastTheTableIsAProtocolViolationNotAnInternalError() throws Exception {
        answeredWith(999, "status code 999");
    }

    @Test
    void aNegativeStatusCodeIsAProtocolViolation() throws Exception {
        answeredWith(-5, "status code -5");
    }
}
