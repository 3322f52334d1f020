package io.ferry.host.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random tenants, classes, reservations, hints, submissions, completions and removals on a virtual clock, checked
 * against a model of the queues after every step. Seeded: a failure names its seed and replays exactly.
 */
class SchedulerPropertyTest {
    static final long US = 1_000;
    static final long MS = 1_000_000;
    static final long CAP = 5 * MS;

    final Scheduler s = new Scheduler(CAP, MS);
    /** Model: each live tenant's queue as the test saw it submitted. */
    final TreeMap<Long, ArrayDeque<Ticket>> queues = new TreeMap<>();
    final Map<Long, TenantSpec> specs = new HashMap<>();
    final List<Ticket> inFlight = new ArrayList<>();
    final List<Ticket> submitted = new ArrayList<>();
    final Set<Long> dispatched = new HashSet<>();
    final Map<Long, Long> lastDispatchedId = new HashMap<>();
    final Map<Long, Long> completedTime = new HashMap<>();
    long nextTenantId = 1;
    long now = 1_000 * MS;
    Random random;
    String seedNote;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void invariantsHoldUnderRandomLoad(long seed) {
        random = new Random(seed);
        seedNote = "seed " + seed;
        int initial = 2 + random.nextInt(5);
        for (int i = 0; i < initial; i++) {
            addRandomTenant();
        }
        for (int step = 0; step < 5_000; step++) {
            int action = random.nextInt(100);
            if (action < 40) {
                submitRandom();
            } else if (action < 70) {
                dispatchAndCheck();
            } else if (action < 95) {
                completeRandom();
            } else if (action < 97) {
                now += random.nextLong(3 * MS);
            } else if (action < 98 && queues.size() > 1) {
                removeRandomTenant();
            } else if (queues.size() < 8) {
                addRandomTenant();
            }
        }
        drain();
        for (Ticket t : submitted) {
            assertTrue(t.state() == Ticket.State.COMPLETED || t.state() == Ticket.State.DROPPED,
                    seedNote + ": lost " + t);
        }
        for (long id : queues.keySet()) {
            assertEquals(completedTime.getOrDefault(id, 0L), s.figures(id, now).deviceNanos(), seedNote);
        }
        assertEquals(0, s.cappedInFlightNanos(), seedNote);
    }

    void addRandomTenant() {
        long id = nextTenantId++;
        SchedClass c = SchedClass.values()[random.nextInt(SchedClass.values().length)];
        Reservation r = null;
        if (random.nextInt(3) == 0) {
            long period = (5 + random.nextInt(16)) * MS;
            r = new Reservation(Math.max(1, random.nextLong(period / 2)), period);
        }
        TenantSpec spec = new TenantSpec(id, "t" + id, c, 1 + random.nextInt(4), r);
        s.addTenant(spec);
        specs.put(id, spec);
        queues.put(id, new ArrayDeque<>());
    }

    void removeRandomTenant() {
        long id = randomTenant();
        List<Ticket> dropped = s.evict(id);
        assertEquals(List.copyOf(queues.remove(id)), dropped, seedNote + ": evict returns the queue in order");
        for (Ticket t : dropped) {
            assertEquals(Ticket.State.DROPPED, t.state(), seedNote);
        }
    }

    void submitRandom() {
        long id = randomTenant();
        long estimate = random.nextInt(4) == 0 ? 0 : 100 * US + random.nextLong(6 * MS);
        Hint hint = random.nextInt(5) == 0
                ? new Hint(random.nextInt(6) - 2, random.nextBoolean() ? now + random.nextLong(20 * MS) : Long.MAX_VALUE)
                : Hint.NONE;
        Ticket t = s.submit(id, estimate, hint, null, now);
        assertTrue(t.estimateNanos() > 0, seedNote);
        queues.get(id).addLast(t);
        submitted.add(t);
    }

    void completeRandom() {
        if (inFlight.isEmpty()) {
            return;
        }
        Ticket t = inFlight.remove(random.nextInt(inFlight.size()));
        long actual = t.estimateNanos() / 2 + random.nextLong(2 * t.estimateNanos());
        now += random.nextLong(actual + 1);
        s.completed(t, actual, now);
        if (queues.containsKey(t.tenant())) { // tenant ids are never reused here
            completedTime.merge(t.tenant(), actual, Long::sum);
        }
    }

    void dispatchAndCheck() {
        Map<Long, Boolean> demoted = new HashMap<>();
        for (TenantFigures f : s.allFigures(now)) {
            demoted.put(f.tenant(), f.budgetLeftNanos() == 0);
            assertEquals(queues.get(f.tenant()).size(), f.queued(), seedNote);
        }
        long cappedBefore = cappedInFlight();
        int cappedCountBefore = (int) inFlight.stream().filter(Ticket::capped).count();
        assertEquals(cappedBefore, s.cappedInFlightNanos(), seedNote);

        Ticket t = s.next(now);
        if (t == null) {
            boolean anyQueued = queues.values().stream().anyMatch(q -> !q.isEmpty());
            if (anyQueued) {
                assertTrue(cappedCountBefore > 0, seedNote + ": nothing dispatched with no capped work in flight");
            }
            for (var e : queues.entrySet()) {
                boolean uncapped = !demoted.get(e.getKey())
                        && specs.get(e.getKey()).schedClass() != SchedClass.BEST_EFFORT;
                assertFalse(uncapped && !e.getValue().isEmpty(),
                        seedNote + ": uncapped work of tenant " + e.getKey() + " left waiting");
            }
            return;
        }
        long id = t.tenant();
        assertTrue(dispatched.add(t.id()), seedNote + ": dispatched twice " + t);
        assertSame(queues.get(id).pollFirst(), t, seedNote + ": not the head of its tenant's queue");
        Long last = lastDispatchedId.put(id, t.id());
        assertTrue(last == null || last < t.id(), seedNote + ": per-tenant order broken");
        assertEquals(Ticket.State.IN_FLIGHT, t.state(), seedNote);
        assertEquals(demoted.get(id), t.dispatchedDemoted(), seedNote);
        SchedClass c = specs.get(id).schedClass();
        assertEquals(t.dispatchedDemoted() || c == SchedClass.BEST_EFFORT, t.capped(), seedNote);
        inFlight.add(t);

        if (t.capped()) {
            assertTrue(cappedCountBefore == 0 || cappedInFlight() <= CAP,
                    seedNote + ": cap exceeded, " + cappedInFlight() + " ns capped in flight");
        }
        for (var e : queues.entrySet()) {
            Ticket head = e.getValue().peekFirst();
            if (head == null || e.getKey() == id || demoted.get(e.getKey())) {
                continue;
            }
            SchedClass other = specs.get(e.getKey()).schedClass();
            boolean dispatchable = other != SchedClass.BEST_EFFORT
                    || cappedCountBefore == 0 || cappedBefore + head.estimateNanos() <= CAP;
            boolean outranks = t.dispatchedDemoted() || other.ordinal() < c.ordinal();
            if (outranks && dispatchable) {
                fail(seedNote + ": dispatched " + t + " (" + c + (t.dispatchedDemoted() ? ", demoted" : "")
                        + ") while " + other + " tenant " + e.getKey() + " waited");
            }
        }
    }

    long cappedInFlight() {
        return inFlight.stream().filter(Ticket::capped).mapToLong(Ticket::estimateNanos).sum();
    }

    long randomTenant() {
        List<Long> ids = new ArrayList<>(queues.keySet());
        return ids.get(random.nextInt(ids.size()));
    }

    void drain() {
        for (int rounds = 0; !inFlight.isEmpty() || queues.values().stream().anyMatch(q -> !q.isEmpty()); rounds++) {
            assertTrue(rounds < 1_000_000, seedNote + ": drain does not terminate");
            dispatchAndCheck();
            if (!inFlight.isEmpty()) {
                completeRandom();
            }
        }
        assertNotNull(s.allFigures(now));
        for (TenantFigures f : s.allFigures(now)) {
            assertEquals(0, f.queued(), seedNote);
            assertEquals(0, f.inFlight(), seedNote);
        }
    }
}
