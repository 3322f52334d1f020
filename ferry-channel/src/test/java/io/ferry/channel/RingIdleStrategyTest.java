package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.RING_DATA_OFFSET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A server's wait moves off a CPU its caller wants, within a budget. The waits run on a clock of the test's, so that
 * what is asserted does not hang on this machine's pace.
 */
class RingIdleStrategyTest {
    private static final int CAPACITY = 4096;
    private static final long MS = 1_000_000;
    private final Arena arena = Arena.ofConfined();
    private final SpscRing requests = ring();
    private final SpscRing answers = ring();
    private final AtomicLong clock = new AtomicLong(1_000 * MS);
    /** A server's wait as {@link RingIdleStrategy#forRequests} makes it, on the test's clock. */
    private final RingIdleStrategy server = new RingIdleStrategy(requests, answers, 20_000, 200_000, 50_000, MS,
            clock::get);

    @AfterEach
    void close() {
        arena.close();
    }

    private SpscRing ring() {
        return new SpscRing("test", arena.allocate(RING_DATA_OFFSET + CAPACITY, 128), CAPACITY);
    }

    /** One wait of {@code nanos} with no request (idling every 10 µs), then the request that ends it. */
    private void waitOnce(RingIdleStrategy idle, long nanos) {
        long start = clock.get();
        for (long t = 0; t <= nanos; t += 10_000) {
            clock.set(start + t);
            idle.idle(0);
        }
        idle.reset();
    }

    /** Waits of 40 µs (past the 20 µs spin: each looks at the caller) for {@code nanos} of the clock. */
    private void lateWaitsFor(long nanos) {
        long until = clock.get() + nanos;
        while (clock.get() < until) {
            waitOnce(server, 40_000);
        }
    }

    private void answerUnread() {
        answers.tryClaim(1, 16);
        answers.publish();
        assertTrue(answers.holdsUnread());
    }

    private void readAnswers() {
        new SpscRing("reader", answers.segment(), CAPACITY).poll((type, rec, length) -> { }, 16);
        assertFalse(answers.holdsUnread());
    }

    @Test
    void aCallerThatReadsItsAnswersIsNeverMovedFrom() {
        for (int i = 0; i < 20; i++) {
            waitOnce(server, 40_000);
        }
        assertEquals(0, server.moves());
    }

    @Test
    void aCallerThatFallsBehindMovesTheServerAfterTwoLooksThenOnceAMillisecondAtMost() {
        answerUnread();
        waitOnce(server, 40_000);
        assertEquals(0, server.moves(), "one late look is not a streak");
        waitOnce(server, 40_000);
        assertEquals(1, server.moves());
        lateWaitsFor(900_000);
        assertEquals(1, server.moves(), "within a millisecond of the last move");
        lateWaitsFor(200_000);
        assertEquals(2, server.moves());
    }

    @Test
    void aCallerAlwaysBehindGetsItsBudgetOfMovesASecondAndNoMore() {
        answerUnread();
        lateWaitsFor(200 * MS);
        assertEquals(RingIdleStrategy.MOVES_PER_SECOND, server.moves(), "the first second's budget, spent");
        lateWaitsFor(3_000 * MS);
        assertEquals(4 * RingIdleStrategy.MOVES_PER_SECOND, server.moves());
    }

    @Test
    void aCallerThatNeverReadsButCallsOftenCannotMakeTheServerMoveOften() {
        // the answer stays unread; between the late waits, requests come within the spin (waits that look at nothing)
        answerUnread();
        long until = clock.get() + 200 * MS;
        while (clock.get() < until) {
            waitOnce(server, 40_000);
            waitOnce(server, 5_000);
        }
        assertEquals(RingIdleStrategy.MOVES_PER_SECOND, server.moves(), "the budget, as with no requests between");
    }

    @Test
    void aLookThatFindsTheCallerKeepingUpEndsTheStreak() {
        answerUnread();
        waitOnce(server, 40_000);
        readAnswers();
        waitOnce(server, 40_000);
        answerUnread();
        waitOnce(server, 40_000);
        assertEquals(0, server.moves());
    }

    @Test
    void aCallersWaitNeverMoves() {
        RingIdleStrategy caller = RingIdleStrategy.forAnswers(requests);
        answerUnread();
        for (int i = 0; i < 10; i++) {
            waitOnce(caller, 40_000);
        }
        assertEquals(0, caller.moves());
    }
}
