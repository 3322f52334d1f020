package io.ferry.host.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.Random;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * Weights inside a class, measured in device time: saturated tenants on a simulated device that runs one command
 * at a time, on a virtual clock.
 */
class WeightedSharesTest {
    static final long MS = 1_000_000;

    /**
     * Keeps every tenant backlogged and runs {@code tickets} commands, {@code depth} in flight at most; returns each
     * tenant's device time. {@code estimate} gives the estimate a tenant submits (0: its running estimate),
     * {@code cost} the device time the command really takes.
     */
    static long[] run(Scheduler s, int tenants, int tickets, int depth, ToLongFunction<Integer> estimate,
                      ToLongFunction<Integer> cost) {
        long now = 0;
        ArrayDeque<Ticket> device = new ArrayDeque<>();
        ArrayDeque<Long> costs = new ArrayDeque<>();
        for (int done = 0; done < tickets; done++) {
            for (int id = 1; id <= tenants; id++) {
                while (s.figures(id, now).queued() < 3) {
                    s.submit(id, estimate.applyAsLong(id), Hint.NONE, null, now);
                }
            }
            for (Ticket t; device.size() < depth && (t = s.next(now)) != null; ) {
                device.add(t);
                costs.add(cost.applyAsLong((int) t.tenant()));
            }
            long c = costs.poll();
            now += c;
            s.completed(device.poll(), c, now);
        }
        long[] time = new long[tenants + 1];
        for (int id = 1; id <= tenants; id++) {
            time[id] = s.figures(id, now).deviceNanos();
        }
        return time;
    }

    static Scheduler normalTenants(int... weights) {
        Scheduler s = new Scheduler(10 * MS, MS);
        for (int i = 0; i < weights.length; i++) {
            s.addTenant(new TenantSpec(i + 1, "t" + (i + 1), SchedClass.NORMAL, weights[i], null));
        }
        return s;
    }

    static double share(long[] time, int id) {
        long total = 0;
        for (long t : time) {
            total += t;
        }
        return (double) time[id] / total;
    }

    @Test
    void weightsOneAndThreeGiveOneToThreeDeviceTimeWithEqualCosts() {
        long[] time = run(normalTenants(1, 3), 2, 4000, 1, id -> MS, id -> MS);
        assertEquals(3.0, (double) time[2] / time[1], 0.01);
    }

    @Test
    void measuredSharesFollowWeightsWhenTicketCostsDiffer() {
        // tenant 1 runs 1 ms commands, tenant 2 runs 5 ms ones; both let the scheduler estimate
        long[] time = run(normalTenants(1, 3), 2, 8000, 1, id -> 0, id -> id == 1 ? MS : 5 * MS);
        assertEquals(0.75, share(time, 2), 0.01);
    }

    @Test
    void measuredSharesFollowWeightsEvenWhenEstimatesAreWrong() {
        // both claim 1 ms; tenant 2 really takes 4 ms: completion corrects its finish tag
        long[] time = run(normalTenants(1, 1), 2, 4000, 2, id -> MS, id -> id == 1 ? MS : 4 * MS);
        assertEquals(0.5, share(time, 1), 0.01);
    }

    @Test
    void measuredSharesFollowWeightsWithRandomCostsAndPipelining() {
        Random random = new Random(42);
        long[] lo = {0, MS / 2, 2 * MS, MS / 10};
        long[] hi = {0, 3 * MS, 8 * MS, MS};
        long[] time = run(normalTenants(1, 2, 5), 3, 20_000, 3, id -> 0,
                id -> lo[id] + (long) (random.nextDouble() * (hi[id] - lo[id])));
        assertEquals(1.0 / 8, share(time, 1), 0.02);
        assertEquals(2.0 / 8, share(time, 2), 0.02);
        assertEquals(5.0 / 8, share(time, 3), 0.02);
    }

    @Test
    void fourEqualTenantsGetEqualShares() {
        Random random = new Random(7);
        long[] time = run(normalTenants(1, 1, 1, 1), 4, 20_000, 2, id -> 0,
                id -> MS / 4 + (long) (random.nextDouble() * id * MS));
        for (int id = 1; id <= 4; id++) {
            assertEquals(0.25, share(time, id), 0.01, "tenant " + id);
        }
    }
}
