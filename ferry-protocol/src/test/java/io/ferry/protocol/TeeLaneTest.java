package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TeeLaneTest {

    @Test
    void requestAndReplyFieldsReadBackAsWritten() {
        try (Arena arena = Arena.ofConfined()) {
            TeeLane lane = new TeeLane(arena.allocate(TeeLane.DATA_OFFSET + 4096, 4096));
            UUID ta = UUID.randomUUID();
            UUID client = UUID.randomUUID();
            lane.request(TeeLane.OPEN, 0xFFFF_FFFE, 7, ta, TeeWire.LOGIN_USER, client, 0x7531);
            for (int i = 0; i < 4; i++) {
                lane.param(i, 10 + i, 20 + i, 30 + i);
                lane.replyParam(i, 40 + i, 50 + i, 60 + i);
            }
            lane.reply(TeeWire.ERROR_SHORT_BUFFER, TeeWire.ORIGIN_TRUSTED_APP, 99);
            lane.publishRequest(3);
            lane.requestCancel(3);
            lane.publishReply(2);
            assertEquals(TeeLane.OPEN, lane.kind());
            assertEquals(0xFFFF_FFFE, lane.command());
            assertEquals(7, lane.session());
            assertEquals(ta, lane.ta());
            assertEquals(client, lane.client());
            assertEquals(TeeWire.LOGIN_USER, lane.login());
            assertEquals(0x7531, lane.types());
            for (int i = 0; i < 4; i++) {
                assertEquals(10 + i, lane.paramA(i));
                assertEquals(20 + i, lane.paramB(i));
                assertEquals(30 + i, lane.paramC(i));
                assertEquals(40 + i, lane.replyA(i));
                assertEquals(50 + i, lane.replyB(i));
                assertEquals(60 + i, lane.replyC(i));
            }
            assertEquals(TeeWire.ERROR_SHORT_BUFFER, lane.replyRet());
            assertEquals(TeeWire.ORIGIN_TRUSTED_APP, lane.replyOrigin());
            assertEquals(99, lane.replySession());
            assertEquals(3, lane.requestSeq());
            assertEquals(3, lane.cancelSeq());
            assertEquals(2, lane.replySeq());
            lane.clearReply();
            assertEquals(0, lane.replyRet());
            assertEquals(0, lane.replyC(3));
            assertEquals(7, lane.session(), "clearing the reply leaves the request alone");
        }
    }

    @Test
    void nullUuidsTravelAsZero() {
        try (Arena arena = Arena.ofConfined()) {
            TeeLane lane = new TeeLane(arena.allocate(TeeLane.DATA_OFFSET + 64, 64));
            lane.request(TeeLane.INVOKE, 1, 2, null, 0, null, 0);
            assertEquals(new UUID(0, 0), lane.ta());
            assertEquals(new UUID(0, 0), lane.client());
        }
    }

    @Test
    void dataRangesOutsideTheDataAreaAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(TeeLane.DATA_OFFSET + 4096, 64);
            TeeLane lane = new TeeLane(m);
            assertEquals(4096, lane.dataSize());
            lane.data(4000, 96).fill((byte) 5);
            assertEquals(5, m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, TeeLane.DATA_OFFSET + 4095));
            assertEquals(0, lane.data(4096, 0).byteSize());
            assertThrows(IllegalArgumentException.class, () -> lane.data(4000, 97));
            assertThrows(IllegalArgumentException.class, () -> lane.data(-1, 1));
            assertThrows(IllegalArgumentException.class, () -> lane.data(1, -1));
            assertThrows(IllegalArgumentException.class, () -> lane.data(Long.MAX_VALUE, 2));
            assertThrows(IllegalArgumentException.class, () -> new TeeLane(arena.allocate(TeeLane.DATA_OFFSET)));
        }
    }

    @Test
    void aSleeperSeesANumberPublishedBeforeItSlept() {
        try (Arena arena = Arena.ofShared()) {
            TeeLane lane = new TeeLane(arena.allocate(TeeLane.DATA_OFFSET + 64, 4096));
            lane.publishRequest(5);
            lane.publishReply(4);
            // the numbers already differ from what the caller saw: no sleep (a minute's timeout would fail the run)
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                lane.awaitRequest(4, 60_000_000_000L);
                lane.awaitReply(3, 60_000_000_000L);
            });
        }
    }

    /**
     * Two threads play the host and the TEE for 2,000 calls, each sleeping on the lane's futex at once (no yield
     * phase) with a minute's timeout: a lost wake-up (a publish between the sleeper's check and its sleep) would
     * stall the run for that minute.
     */
    @Test
    void noWakeUpIsLostBetweenTheTwoSides() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            TeeLane lane = new TeeLane(arena.allocate(TeeLane.DATA_OFFSET + 64, 4096));
            long calls = 2_000;
            long timeout = 60_000_000_000L;
            Thread tee = Thread.ofPlatform().start(() -> {
                long last = 0;
                while (last < calls) {
                    long seq = lane.requestSeq();
                    if (seq == last) {
                        lane.awaitRequest(last, timeout);
                        continue;
                    }
                    last = seq;
                    lane.reply(0, 0, seq);
                    lane.publishReply(seq);
                }
            });
            assertTimeoutPreemptively(Duration.ofSeconds(50), () -> {
                for (long s = 1; s <= calls; s++) {
                    lane.publishRequest(s);
                    long seen;
                    while ((seen = lane.replySeq()) != s) {
                        lane.awaitReply(seen, timeout);
                    }
                    assertEquals(s, lane.replySession());
                }
            });
            tee.join(10_000);
            assertFalse(tee.isAlive());
        }
    }
}
