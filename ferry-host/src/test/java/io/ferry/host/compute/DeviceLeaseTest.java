package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.sched.Hint;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.worker.Grant;
import io.ferry.host.worker.LeaseWords;
import io.ferry.host.worker.WorkerTurns;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The device lease: the host's {@link DeviceDispatch} and a worker's {@link WorkerTurns} on two threads. */
class DeviceLeaseTest {
    private static final long NO_LIMIT = 0;
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
    }

    private LeaseWords words() {
        LeaseWords w = new LeaseWords(arena.allocate(LeaseWords.SIZE, 64), 0);
        w.clear();
        return w;
    }

    private static HostConfig.GuestConfig guest(String name, long overrunLimitNanos, HostConfig.Reservation r) {
        return new HostConfig.GuestConfig(name, 1 << 20, null, SchedClass.NORMAL, 1, Set.of("compute"),
                Quotas.DEFAULT, r, overrunLimitNanos);
    }

    private static HostConfig.GuestConfig guest(String name) {
        return guest(name, HostConfig.DEFAULT_OVERRUN_NANOS, null);
    }

    /** Waits (up to a minute: a hang, not a timing) until {@code condition} holds. */
    private static void await(BooleanSupplier condition, String what) {
        long end = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("never happened: " + what);
            }
            LockSupport.parkNanos(100_000);
        }
    }

    private static Thread start(ThrowingRunnable r, AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().start(() -> {
            try {
                r.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void aLoneTenantLeasesAndRunsItsCommandsWithoutAsking() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("a"));
        LeaseWords words = words();
        LocalGrantLink link = new LocalGrantLink(d, 0, words, () -> { });
        DeviceTurns turns = DeviceTurns.inWorker(new WorkerTurns(words, link),
                new io.ferry.host.sched.TenantSpec(0, "a", SchedClass.NORMAL, 1, null));
        int[] ran = new int[1];
        for (int i = 0; i < 100; i++) {
            turns.run(0, Hint.NONE, () -> ran[0]++, null);
        }
        assertEquals(100, ran[0]);
        assertEquals(1, link.requests.get(), "asked once, then ran under the lease");
        assertEquals(0, link.dones.get());
        assertEquals(100, words.commands());
        assertEquals(LeaseWords.LEASED, words.mode());
        assertTrue(d.leased(0));
        assertEquals(1, d.figures(0).inFlight(), "a lease counts as one command in flight");

        d.tick(System.nanoTime());
        assertEquals(words.deviceNanos(), d.figures(0).deviceNanos(), "a tick charges the lease's time so far");
        assertEquals(1, d.figures(0).inFlight());
        for (int i = 0; i < 10; i++) {
            turns.run(0, Hint.NONE, () -> ran[0]++, null);
        }
        d.endLease(0);
        assertFalse(d.leased(0));
        assertEquals(LeaseWords.ASK, words.mode());
        assertEquals(0, d.figures(0).inFlight());
        assertEquals(words.deviceNanos(), d.figures(0).deviceNanos(), "charged what the worker ran, in all");
        assertEquals(1, link.requests.get());
    }

    @Test
    void anotherTenantRevokesTheLeaseAndWaitsForTheBusyCommand() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("a"));
        d.addTenant(1, guest("b"));
        LeaseWords words = words();
        LocalGrantLink link = new LocalGrantLink(d, 0, words, () -> { });
        WorkerTurns worker = new WorkerTurns(words, link);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread a = start(() -> {
            worker.run(Hint.NONE, () -> order.add("a1"));
            worker.run(Hint.NONE, () -> {
                started.countDown();
                release.await();
                order.add("a2");
            });
        }, failure);
        started.await();
        assertTrue(d.leased(0));
        AtomicBoolean bRan = new AtomicBoolean();
        Thread b = start(() -> d.run(1, Hint.NONE, () -> {
            bRan.set(true);
            order.add("b");
        }, null), failure);
        await(() -> words.mode() == LeaseWords.ASK, "b's submit revokes the lease");
        assertFalse(bRan.get(), "b waits while the leaseholder's command is on the device");
        assertTrue(d.leased(0), "a revoked lease lives until its command ends");
        release.countDown();
        a.join();
        b.join();
        assertEquals(null, failure.get());
        assertEquals(List.of("a1", "a2", "b"), order);
        assertFalse(d.leased(0));
        assertEquals(0, d.figures(0).inFlight());
        assertEquals(0, d.figures(1).inFlight());
        assertEquals(words.deviceNanos(), d.figures(0).deviceNanos());

        worker.run(Hint.NONE, () -> order.add("a3")); // it sees ASK: asks again, and gets a fresh lease
        assertEquals(2, link.requests.get());
        assertTrue(d.leased(0));
        d.endLease(0);
    }

    @Test
    void aWorkerStuckBusyPastItsOverrunLimitIsKilledAndTheDeviceFreed() throws Exception {
        // whatever the worker writes into its words, the device comes back and the charge stays within the lease
        long[] busyValues = {0, 1, Long.MAX_VALUE, Long.MIN_VALUE, -1};
        long[] nanosValues = {0, Long.MAX_VALUE, Long.MIN_VALUE, -1, 123};
        for (int i = 0; i < busyValues.length; i++) {
            DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
            d.addTenant(0, guest("a", 20_000_000, null));
            d.addTenant(1, guest("b"));
            LeaseWords words = words();
            AtomicInteger kills = new AtomicInteger();
            long before = System.nanoTime();
            assertEquals(Grant.LEASED, d.grantRemote(0, Hint.NONE, words, kills::incrementAndGet));
            words.storeBusySince(busyValues[i] == 0 ? System.nanoTime() : busyValues[i]);
            words.countCommand(nanosValues[i]);
            boolean[] bRan = new boolean[1];
            d.run(1, Hint.NONE, () -> bRan[0] = true, null); // returns only once the lease is gone
            long wall = System.nanoTime() - before;
            assertTrue(bRan[0]);
            assertEquals(1, kills.get(), "busy " + busyValues[i]);
            assertEquals(1, d.view(0).overruns());
            assertTrue(d.view(0).flagged());
            assertFalse(d.leased(0));
            assertEquals(0, d.figures(0).inFlight());
            long charged = d.figures(0).deviceNanos();
            assertTrue(charged >= 0 && charged <= wall, "charged " + charged + " of " + wall);
        }
    }

    @Test
    void theHeartbeatAloneCancelsAnOverrunningLease() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("a", 20_000_000, null));
        LeaseWords words = words();
        AtomicInteger kills = new AtomicInteger();
        assertEquals(Grant.LEASED, d.grantRemote(0, Hint.NONE, words, kills::incrementAndGet));
        words.storeBusySince(System.nanoTime());
        await(() -> {
            d.tick(System.nanoTime());
            return kills.get() == 1;
        }, "the tick kills the worker");
        assertFalse(d.leased(0));
        assertEquals(LeaseWords.ASK, words.mode());
        assertEquals(0, d.figures(0).inFlight());
    }

    @Test
    void reservationHoldersAndUncancellableWorkNeverLease() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("reserved", HostConfig.DEFAULT_OVERRUN_NANOS,
                new HostConfig.Reservation(5_000_000, 10_000_000)));
        d.addTenant(1, guest("no-limit", NO_LIMIT, null));
        d.addTenant(2, guest("no-cancel"));
        for (long tenant = 0; tenant < 3; tenant++) {
            LeaseWords words = words();
            LocalGrantLink link = new LocalGrantLink(d, tenant, words, tenant == 2 ? null : () -> { });
            WorkerTurns worker = new WorkerTurns(words, link);
            for (int i = 0; i < 20; i++) {
                worker.run(Hint.NONE, () -> { });
            }
            assertEquals(20, link.requests.get(), "tenant " + tenant + " asks for every command");
            assertEquals(20, link.dones.get());
            assertEquals(LeaseWords.ASK, words.mode());
            assertEquals(0, words.commands());
            assertFalse(d.leased(tenant));
            assertEquals(0, d.figures(tenant).inFlight());
        }
    }

    @Test
    void aSingleTurnIsChargedAtMostItsShareAndLateReportsAreIgnored() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("reserved", HostConfig.DEFAULT_OVERRUN_NANOS,
                new HostConfig.Reservation(5_000_000, 10_000_000)));
        long before = System.nanoTime();
        assertEquals(Grant.SINGLE, d.grantRemote(0, Hint.NONE, words(), () -> { }));
        assertEquals(1, d.figures(0).inFlight());
        d.remoteDone(0, Long.MAX_VALUE);
        long wall = System.nanoTime() - before;
        long charged = d.figures(0).deviceNanos();
        assertTrue(charged >= 0 && charged <= wall, "charged " + charged + " of " + wall);
        d.remoteDone(0, 1_000_000_000L); // nothing outstanding: ignored
        assertEquals(charged, d.figures(0).deviceNanos());
        assertEquals(Grant.SINGLE, d.grantRemote(0, Hint.NONE, null, () -> { }));
        d.remoteDone(0, -5);
        assertEquals(charged, d.figures(0).deviceNanos(), "a negative report charges nothing");
        // asking again before reporting done ends the earlier turn
        assertEquals(Grant.SINGLE, d.grantRemote(0, Hint.NONE, null, () -> { }));
        assertEquals(Grant.SINGLE, d.grantRemote(0, Hint.NONE, null, () -> { }));
        assertEquals(1, d.figures(0).inFlight());
        d.endLease(0);
        assertEquals(0, d.figures(0).inFlight());
    }

    @Test
    void endLeaseFreesTheDeviceFromAWorkerThatNeverGoesIdle() throws Exception {
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        d.addTenant(0, guest("a", 3_600_000_000_000L, null));
        d.addTenant(1, guest("b"));
        LeaseWords words = words();
        AtomicInteger kills = new AtomicInteger();
        assertEquals(Grant.LEASED, d.grantRemote(0, Hint.NONE, words, kills::incrementAndGet));
        words.storeBusySince(System.nanoTime());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean bRan = new AtomicBoolean();
        Thread b = start(() -> d.run(1, Hint.NONE, () -> bRan.set(true), null), failure);
        await(() -> words.mode() == LeaseWords.ASK, "b's submit revokes the lease");
        d.tick(System.nanoTime());
        assertFalse(bRan.get(), "the busy leaseholder keeps the device until its limit of an hour");
        d.endLease(0);
        b.join();
        assertEquals(null, failure.get());
        assertTrue(bRan.get());
        assertEquals(0, kills.get(), "ending a lease is not a kill");
        assertFalse(d.leased(0));
        assertEquals(0, d.figures(0).inFlight());
        d.endLease(0); // idempotent
    }

    @Test
    void seededMixNeverRunsAnotherCommandBesideALeasedOne() throws Exception {
        long seed = Long.getLong("ferry.test.seed", 20_260_512L);
        SplittableRandom random = new SplittableRandom(seed);
        DeviceDispatch d = new DeviceDispatch("dev", 4_000_000, true);
        int workers = 3;
        int commands = 300;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger leasedInside = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        List<LeaseWords> allWords = new ArrayList<>();
        List<LocalGrantLink> links = new ArrayList<>();
        for (int i = 0; i <= workers; i++) {
            d.addTenant(i, guest("g" + i));
        }
        for (int i = 0; i < workers; i++) {
            LeaseWords words = words();
            LocalGrantLink link = new LocalGrantLink(d, i, words, () -> { });
            allWords.add(words);
            links.add(link);
            WorkerTurns worker = new WorkerTurns(words, link);
            long[] parks = random.longs(commands, 0, 30_000).toArray();
            threads.add(start(() -> {
                for (long park : parks) {
                    worker.run(Hint.NONE, () -> onDevice(words.busySince() != 0, park, inside, leasedInside));
                }
            }, failure));
        }
        long[] hostParks = random.longs(commands / 3, 0, 30_000).toArray();
        threads.add(start(() -> {
            for (long park : hostParks) {
                d.run(workers, Hint.NONE, () -> onDevice(false, park, inside, leasedInside), null);
            }
        }, failure));
        AtomicBoolean done = new AtomicBoolean();
        Thread heartbeat = start(() -> {
            while (!done.get()) {
                d.tick(System.nanoTime());
                LockSupport.parkNanos(1_000_000);
            }
        }, failure);
        for (Thread t : threads) {
            t.join();
        }
        done.set(true);
        heartbeat.join();
        assertEquals(null, failure.get(), "seed " + seed);
        long leasedCommands = 0;
        long asked = 0;
        for (int i = 0; i < workers; i++) {
            d.endLease(i);
            leasedCommands += allWords.get(i).commands();
            asked += links.get(i).dones.get();
            assertEquals(0, d.figures(i).inFlight(), "seed " + seed);
            assertEquals(0, allWords.get(i).busySince());
        }
        assertEquals((long) workers * commands, leasedCommands + asked, "every command ran once, seed " + seed);
        assertTrue(leasedCommands > 0 && asked > 0, "both paths ran: " + leasedCommands + " leased, " + asked
                + " asked, seed " + seed);
        assertEquals(0, d.figures(workers).inFlight());
    }

    /** A command on the "device": a leased one must be alone there, and nothing may join it. */
    private static void onDevice(boolean leased, long parkNanos, AtomicInteger inside, AtomicInteger leasedInside) {
        if (leased) {
            leasedInside.incrementAndGet();
        }
        inside.incrementAndGet();
        try {
            LockSupport.parkNanos(parkNanos);
            if (leased && inside.get() != 1) {
                throw new AssertionError("a leased command shares the device with " + (inside.get() - 1) + " more");
            }
            if (!leased && leasedInside.get() != 0) {
                throw new AssertionError("a command runs beside a leased one");
            }
        } finally {
            inside.decrementAndGet();
            if (leased) {
                leasedInside.decrementAndGet();
            }
        }
    }
}
