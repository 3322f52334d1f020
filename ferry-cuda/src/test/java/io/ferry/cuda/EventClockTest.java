package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link EventClock} over a simulated driver whose events have exact times and whose elapsed times are floats of
 * milliseconds, as {@code cuEventElapsedTime} gives them.
 */
class EventClockTest {
    /** A device whose clock the test moves; events record "now"; elapsed times are rounded to float ms. */
    static class FakeDevice implements EventClock.Device {
        long now;
        long next = 1;
        final Map<Long, Long> times = new HashMap<>();
        final Set<Long> live = new HashSet<>();
        int destroyed;

        long record() {
            long e = next++;
            times.put(e, now);
            live.add(e);
            return e;
        }

        @Override
        public long recordAndWait() {
            return record();
        }

        @Override
        public float elapsedMillis(long from, long to) {
            assertTrue(live.contains(from) && live.contains(to), "elapsed between live events only: " + from + ", " + to);
            return (float) ((times.get(to) - times.get(from)) / 1e6);
        }

        @Override
        public void destroy(long event) {
            assertTrue(live.remove(event), "event " + event + " destroyed once, while live");
            destroyed++;
        }
    }

    @Test
    void timesStayPreciseForHours() throws Exception {
        FakeDevice d = new FakeDevice();
        d.now = 5_000_000_000L; // the device clock's own zero is elsewhere
        long zero = d.now;
        EventClock clock = new EventClock(d, d.now);
        Random random = new Random(18);
        long worstDuration = 0;
        long worstOffset = 0;
        long end = zero + 2 * 3600 * 1_000_000_000L;
        while (d.now < end) {
            d.now += 50_000_000L + random.nextInt(700_000_000); // 0.05 to 0.75 s apart
            long start = d.record();
            d.now += 10_000 + random.nextInt(1000); // the command: 10 µs or so
            long stop = d.record();
            EventClock.Anchor a = clock.take(d.now);
            long t0 = clock.nanos(a, start);
            long t1 = clock.nanos(a, stop);
            long trueDuration = d.times.get(stop) - d.times.get(start);
            worstDuration = Math.max(worstDuration, Math.abs((t1 - t0) - trueDuration));
            worstOffset = Math.max(worstOffset, Math.abs(t0 - (d.times.get(start) - zero)));
            clock.release(a);
            d.destroy(start);
            d.destroy(stop);
        }
        assertTrue(worstDuration <= 250, "a 10 µs command's duration is off by " + worstDuration + " ns");
        assertTrue(worstOffset <= 30_000, "after two hours the times are off by " + worstOffset + " ns");
        // Against one epoch (the code before), the float's steps after two hours are half a millisecond.
        float fromEpoch = (float) ((end - zero) / 1e6);
        long epochStep = Math.round((double) Math.ulp(fromEpoch) * 1e6);
        assertTrue(epochStep >= 250_000, "step " + epochStep);
        assertEquals(1, d.live.size(), "only the current anchor is left");
        clock.close();
        assertEquals(0, d.live.size());
    }

    @Test
    void anAnchorLivesWhileAnEventUsesIt() throws Exception {
        FakeDevice d = new FakeDevice();
        EventClock clock = new EventClock(d, 0);
        long e = d.record();
        EventClock.Anchor first = clock.take(d.now);
        d.now += 3 * EventClock.ANCHOR_NANOS;
        EventClock.Anchor second = clock.take(d.now);
        assertTrue(second != first, "a new anchor after a second");
        assertEquals(3 * EventClock.ANCHOR_NANOS, second.nanos);
        assertTrue(d.live.contains(first.event), "still used by an event");
        assertEquals(0, clock.nanos(first, e));
        clock.release(first);
        assertTrue(!d.live.contains(first.event), "released once unused");
        clock.release(second);
        assertTrue(d.live.contains(second.event), "the current anchor stays");
        d.now += 10;
        assertTrue(clock.take(d.now) == second, "a second has not passed");
    }

    @Test
    void aDriverThatCannotSayFallsBackToTheHostsClock() throws Exception {
        FakeDevice d = new FakeDevice() {
            @Override
            public float elapsedMillis(long from, long to) {
                return Float.NaN;
            }
        };
        EventClock clock = new EventClock(d, 100);
        EventClock.Anchor a = clock.take(100 + 2 * EventClock.ANCHOR_NANOS);
        assertEquals(2 * EventClock.ANCHOR_NANOS, a.nanos);
        assertEquals(-1, clock.nanos(a, d.record()), "an event's time it cannot tell");
    }
}
