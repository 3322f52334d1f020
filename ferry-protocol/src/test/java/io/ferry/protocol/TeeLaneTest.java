package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
}
