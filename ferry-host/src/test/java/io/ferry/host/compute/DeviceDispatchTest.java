package io.ferry.host.compute;

import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.sched.Hint;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class DeviceDispatchTest {

    private static void rendezvousThenWork(CountDownLatch both) {
        both.countDown();
        try {
            both.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
    }

    @Test
    void aCommandIsChargedTheTimeItRan() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, new HostConfig.GuestConfig("a", 1 << 20));
        d.run(0, Hint.NONE, () -> java.util.concurrent.locks.LockSupport.parkNanos(5_000_000), null);
        long charged = d.view(0).figures().deviceNanos();
        assertTrue(charged >= 4_000_000 && charged < 1_000_000_000L, "charged " + charged);
    }

    @Test
    void concurrentCommandsShareTheTimeTheyOverlap() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 1_000_000_000L, true);
        d.addTenant(0, new HostConfig.GuestConfig("a", 1 << 20));
        d.addTenant(1, new HostConfig.GuestConfig("b", 1 << 20));
        CountDownLatch both = new CountDownLatch(2);
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                d.run(1, Hint.NONE, () -> rendezvousThenWork(both), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        d.run(0, Hint.NONE, () -> rendezvousThenWork(both), null);
        other.join();
        long a = d.view(0).figures().deviceNanos();
        long b = d.view(1).figures().deviceNanos();
        // each ran ~50 ms of wall time side by side: each is charged about half of it
        assertTrue(a < 45_000_000 && b < 45_000_000 && a > 15_000_000 && b > 15_000_000, a + " " + b);
        assertEquals(0, d.view(0).figures().inFlight());
    }

    @Test
    void aTenantRemovedWhileItsCommandRunsEndsCleanlyAndTheOthersGoOn() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 1_000_000_000L, true);
        d.addTenant(1, new HostConfig.GuestConfig("gone", 1 << 20));
        d.addTenant(2, new HostConfig.GuestConfig("stays", 1 << 20));
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Throwable[] failed = new Throwable[1];
        Thread gone = Thread.ofPlatform().start(() -> {
            try {
                d.run(1, Hint.NONE, () -> {
                    running.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, null);
            } catch (Throwable t) {
                failed[0] = t;
            }
        });
        running.await();
        d.removeTenant(1);
        d.removeTenant(1); // unknown ids are ignored
        release.countDown();
        gone.join();
        assertEquals(null, failed[0], "the removed tenant's command ends without an error");
        d.run(2, Hint.NONE, () -> java.util.concurrent.locks.LockSupport.parkNanos(1_000_000), null);
        assertEquals(0, d.view(2).figures().inFlight());
        assertTrue(d.view(2).figures().deviceNanos() > 0);
    }
}
