package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.RING_DATA_OFFSET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A server's wait moves off a CPU its caller wants, and backs off while moving does not help. */
class RingIdleStrategyTest {
    private static final int CAPACITY = 4096;
    private final Arena arena = Arena.ofConfined();
    private final SpscRing requests = ring();
    private final SpscRing answers = ring();

    @AfterEach
    void close() {
        arena.close();
    }

    private SpscRing ring() {
        return new SpscRing("test", arena.allocate(RING_DATA_OFFSET + CAPACITY, 128), CAPACITY);
    }

    /** One wait with no request, long enough to end the spin and yield a while; then the work that ends it. */
    private static void waitOnce(RingIdleStrategy idle, long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            idle.idle(0);
        }
        idle.reset();
    }

    private void answerUnread() {
        answers.tryClaim(1, 16);
        answers.publish();
    }

    @Test
    void aCallerThatReadsItsAnswersIsNeverMovedFrom() {
        RingIdleStrategy idle = RingIdleStrategy.forRequests(requests, answers, 1_000_000);
        assertFalse(answers.holdsUnread());
        for (int i = 0; i < 20; i++) {
            waitOnce(idle, 40_000);
        }
        assertEquals(0, idle.moves());
    }

    @Test
    void aCallerThatFallsBehindMovesTheServerAfterTwoWaitsThenLessAndLessOften() {
        RingIdleStrategy idle = RingIdleStrategy.forRequests(requests, answers, 1_000_000);
        answerUnread();
        assertTrue(answers.holdsUnread());
        waitOnce(idle, 40_000);
        assertEquals(0, idle.moves(), "one late wait is not a streak");
        waitOnce(idle, 40_000);
        assertEquals(1, idle.moves());
        // 200 ms of late waits: no move helps, so 1, 2, 4 ... ms between them: about eight, not hundreds
        long until = System.nanoTime() + 200_000_000L;
        while (System.nanoTime() < until) {
            waitOnce(idle, 40_000);
        }
        assertTrue(idle.moves() >= 3 && idle.moves() <= 12, "moves: " + idle.moves());
    }

    @Test
    void aMoveThatHelpedLeavesTheNextOneAMillisecondAway() {
        RingIdleStrategy idle = RingIdleStrategy.forRequests(requests, answers, 1_000_000);
        answerUnread();
        waitOnce(idle, 40_000);
        waitOnce(idle, 40_000);
        assertEquals(1, idle.moves());
        readAnswers();
        waitOnce(idle, 40_000); // the caller kept up after the move: it helped
        answerUnread();
        // late again: the next move may come 1 ms after the last one (2 ms had it not helped)
        long until = System.nanoTime() + 1_500_000;
        while (System.nanoTime() < until) {
            waitOnce(idle, 40_000);
        }
        assertEquals(2, idle.moves());
    }

    private void readAnswers() {
        new SpscRing("reader", answers.segment(), CAPACITY).poll((type, rec, length) -> { }, 16);
        assertFalse(answers.holdsUnread());
    }

    @Test
    void aWaitInWhichTheCallerKeptUpEndsTheStreak() {
        RingIdleStrategy idle = RingIdleStrategy.forRequests(requests, answers, 1_000_000);
        answerUnread();
        waitOnce(idle, 40_000);
        readAnswers();
        waitOnce(idle, 40_000);
        answerUnread();
        waitOnce(idle, 40_000);
        assertEquals(0, idle.moves());
    }

    @Test
    void aCallersWaitNeverMoves() {
        RingIdleStrategy idle = RingIdleStrategy.forAnswers(requests);
        answerUnread();
        for (int i = 0; i < 10; i++) {
            waitOnce(idle, 40_000);
        }
        assertEquals(0, idle.moves());
    }
}
