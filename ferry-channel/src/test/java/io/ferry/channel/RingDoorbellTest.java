package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.RING_DATA_OFFSET;
import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.os.EventFd;
import io.ferry.channel.os.EventFdDoorbell;
import io.ferry.channel.os.Memfd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A ring's VM doorbell (eventfd / interrupt) follows the futex doorbell's rule: the producer rings it only when the
 * consumer announced that it sleeps, and a consumer sleeping on it wakes when the producer publishes.
 */
class RingDoorbellTest {
    private static final int CAPACITY = 1024;

    /** A producer-side doorbell that counts its rings. */
    private static final class Counting implements RingDoorbell {
        final AtomicInteger rings = new AtomicInteger();

        @Override
        public void ring() {
            rings.incrementAndGet();
        }

        @Override
        public boolean await(long timeoutNanos) {
            return false;
        }
    }

    private static int waitingWord(MemorySegment section) {
        return section.get(ValueLayout.JAVA_INT, RegionDescriptor.RING_CONSUMER_WAITING_OFFSET);
    }

    @Test
    void aBusyConsumerIsNeverRungAndASleepingOneIsWokenByTheEventfd() throws Exception {
        int efd = EventFd.create();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment section = arena.allocate(RING_DATA_OFFSET + CAPACITY, 128);
            SpscRing producer = new SpscRing("test", section, CAPACITY);
            SpscRing consumer = new SpscRing("test", section, CAPACITY);
            Counting counting = new Counting();
            // The producer's side: what QEMU does with a DOORBELL write is to signal the peer's eventfd.
            EventFdDoorbell toConsumer = new EventFdDoorbell(-1, efd, null);
            producer.doorbell(new RingDoorbell() {
                @Override
                public void ring() {
                    counting.ring();
                    toConsumer.ring();
                }

                @Override
                public boolean await(long timeoutNanos) {
                    return false;
                }
            });
            EventFdDoorbell sleeper = new EventFdDoorbell(efd, -1, null);
            consumer.doorbell(sleeper);

            // Fast path: nobody sleeps, so nobody is rung.
            for (int i = 0; i < 100; i++) {
                assertTrue(producer.tryClaim(1, 16) >= 0);
                producer.publish();
                assertEquals(1, consumer.poll((t, r, l) -> { }, 10));
            }
            assertEquals(0, counting.rings.get(), "publishing to a consumer that is not asleep rings nothing");

            // The consumer sleeps (60 s at most) on the eventfd; the producer's publish wakes it.
            Thread t = Thread.ofPlatform().start(() -> consumer.awaitData(60_000_000_000L));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (waitingWord(section) == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(1, waitingWord(section), "the consumer announced that it sleeps");
            Thread.sleep(50); // let it reach ppoll (a ring before that only makes ppoll return at once)
            assertTrue(producer.tryClaim(1, 16) >= 0);
            producer.publish();
            t.join(30_000);
            assertFalse(t.isAlive(), "the eventfd woke the sleeping consumer");
            assertEquals(1, counting.rings.get());
            assertEquals(1, sleeper.wakeups());
            assertEquals(0, waitingWord(section));
        } finally {
            Memfd.closeQuietly(efd);
        }
    }

    @Test
    void withoutAPeerAttachedTheDoorbellDeclinesAndTheRingWaitsAsBefore() throws Exception {
        int efd = EventFd.create();
        try {
            EventFdDoorbell d = new EventFdDoorbell(efd, -1, () -> 0);
            assertFalse(d.await(1_000_000), "no peer can ring it: the ring falls back to its futex");
            EventFdDoorbell attached = new EventFdDoorbell(efd, -1, () -> 1);
            assertTrue(EventFdDoorbell.signal(efd));
            assertTrue(attached.await(5_000_000_000L));
            assertEquals(1, attached.wakeups());
            assertEquals(0, EventFd.drain(efd), "the wait cleared the counter");
            assertTrue(attached.await(1_000_000), "a wait that times out still waited");
            assertEquals(1, attached.wakeups(), "a timeout is no wake-up");
            assertFalse(EventFdDoorbell.signal(-1), "a bad descriptor is reported, not thrown");
        } finally {
            Memfd.closeQuietly(efd);
        }
    }
}
