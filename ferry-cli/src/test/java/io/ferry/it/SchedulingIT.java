package io.ferry.it;

import io.ferry.host.sched.SchedClass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.CommandQueue;
import io.ferry.client.SchedulingFigures;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Coordinated scheduling through a real host: hints travel, figures come back in the region header. */
class SchedulingIT {

    @Test
    void theHostPublishesFiguresAndAcceptsHints() throws Exception {
        var crit = new HostConfig.GuestConfig("rt", 16L << 20, null, SchedClass.CRITICAL, 1,
                Set.of("compute"), Quotas.DEFAULT, new HostConfig.Reservation(4_000_000, 16_666_667), 0);
        try (Hosts hosts = Hosts.start(List.of(crit)); Ferry ferry = hosts.connect("rt");
             Context ctx = ferry.createContext(ferry.defaultDevice()); CommandQueue q = ctx.createQueue();
             DeviceBuffer b = ctx.createBuffer(1 << 20); HeapBlock h = ferry.heap().allocate(1 << 20)) {
            q.hint(5, Duration.ofMillis(10));
            for (int i = 0; i < 20; i++) {
                q.hintNext(7, null).write(b, 0, h.segment()).read(b, 0, h.segment());
            }
            q.finish();
            SchedulingFigures f = ferry.scheduling();
            // figures are published every 100 ms: wait for one taken after the commands
            for (int i = 0; i < 100 && f.deviceTime().isZero(); i++) {
                Thread.sleep(20);
                f = ferry.scheduling();
            }
            assertTrue(f.updates() > 0, "the host publishes figures");
            assertTrue(f.deviceTime().toNanos() > 0, f + " / host: " + hosts.host.scheduling("rt"));
            assertNotNull(f.budgetLeft(), "a guest with a reservation sees its budget");
            assertEquals(0, f.schedulingClass());
        }
    }

    @Test
    void aHintOutOfRangeIsRefusedAtTheNextFinish() throws Exception {
        try (Hosts hosts = Hosts.start(List.of(new HostConfig.GuestConfig("g", 16L << 20)));
             Ferry ferry = hosts.connect("g"); Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue()) {
            q.hint(5000, null);
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("-1000..1000"), e.getMessage());
        }
    }

    @Test
    void aCriticalGuestDeclaresItsReleasesAndGarbageIsRefusedWithTheReason() throws Exception {
        var crit = new HostConfig.GuestConfig("rt", 16L << 20, null, SchedClass.CRITICAL, 1,
                Set.of("compute"), Quotas.DEFAULT, new HostConfig.Reservation(4_000_000, 16_666_667), 0);
        var be = new HostConfig.GuestConfig("be", 16L << 20, null, SchedClass.BEST_EFFORT, 1,
                Set.of("compute"), Quotas.DEFAULT, null, 0);
        try (Hosts hosts = Hosts.start(List.of(crit, be)); Ferry rt = hosts.connect("rt");
             Ferry other = hosts.connect("be");
             Context ctx = rt.createContext(rt.defaultDevice()); CommandQueue q = ctx.createQueue();
             Context ctx2 = other.createContext(other.defaultDevice()); CommandQueue q2 = ctx2.createQueue();
             DeviceBuffer b = ctx2.createBuffer(1 << 16); HeapBlock h = other.heap().allocate(1 << 16)) {
            Duration period = Duration.ofNanos(16_666_667);
            q.declareRelease(period, Duration.ofMillis(2), Duration.ofMillis(3));
            assertRefused(q, period, period, Duration.ofMillis(3), "release offset");
            assertRefused(q, period, Duration.ZERO, Duration.ofMillis(9), "at most half the period");
            assertRefused(q, Duration.ofNanos(10), Duration.ZERO, Duration.ofNanos(1), "release period 10 ns");
            assertRefused(q, period, Duration.ZERO, Duration.ofMillis(5), "exceeds the guest's reservation budget");
            assertRefused(q2, period, Duration.ZERO, Duration.ofMillis(3), "only a CRITICAL guest");
            // the best-effort guest's commands still run, in the slack between the critical releases
            for (int i = 0; i < 20; i++) {
                q2.write(b, 0, h.segment()).read(b, 0, h.segment());
            }
            q2.finish();
            q.declareRelease(null, null, null);
        }
    }

    private static void assertRefused(CommandQueue q, Duration period, Duration untilNext, Duration budget,
                                      String why) {
        FerryException e = assertThrows(FerryException.class, () -> q.declareRelease(period, untilNext, budget));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
