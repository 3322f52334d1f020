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
}
