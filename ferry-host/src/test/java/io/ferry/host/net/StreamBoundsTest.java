package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that floods calls asking for replies and never reads them keeps host memory bounded: the proxy's own
 * counters of what one connection holds buffered (its read buffer, its queued writes) stay within the bounds the
 * design names, whatever the client sends; the host ends the session (its completion ring full, as for a local
 * guest that never reads: PROTOCOL_VIOLATION), the connection closes, and the lane is free for the next one.
 */
class StreamBoundsTest {
    Path dir;
    FerryHost host;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-");
        host = StreamHostTest.start(dir, 1);
    }

    @AfterEach
    void stop() throws IOException {
        host.close();
        StreamHostTest.clean(dir);
    }

    @Test
    void aClientThatNeverReadsKeepsHostMemoryBounded() throws Exception {
        StreamClient c = StreamClient.tcp(host.net().insecureAddress(), 4096); // and it reads little at all
        assertEquals(StreamFrame.OPENED, c.open("alice", host.secret("alice")).type());
        assertEquals(Status.OK.code(), c.connect().status());
        AtomicLong sent = new AtomicLong();
        Thread flood = Thread.ofPlatform().start(() -> {
            try {
                while (true) {
                    ByteArrayOutputStream batch = new ByteArrayOutputStream();
                    for (int i = 0; i < 1000; i++) {
                        MemorySegment rec = c.record(Op.NOP, true, null); // FLAG_REPLY: each wants a completion
                        new Calls.Nop().wrap(rec, 0).value(i);
                        byte[] r = StreamClient.padded(rec.toArray(ValueLayout.JAVA_BYTE));
                        ByteBuffer h = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                        h.putInt(8 + r.length).putShort((short) StreamFrame.RECORD).putShort((short) 0);
                        batch.write(h.array());
                        batch.write(r);
                    }
                    c.raw(batch.toByteArray());
                    sent.addAndGet(1000);
                }
            } catch (IOException e) {
                // the host closed the connection: what this test waits for
            }
        });
        flood.join(120_000); // a hang guard: the host closes a connection whose session it ended
        assertTrue(!flood.isAlive(), "the host never closed the connection of a client that reads nothing ("
                + sent.get() + " calls sent; " + host.net().counters().figures() + ")");
        c.kill();
        NetCounters.Figures f = host.net().counters().figures();
        // more replies asked for than the lane's completion ring (64 KiB: about 1,000 NOP completions) holds
        assertTrue(sent.get() >= 2_000, "the flood was short: " + sent.get());
        long inboundBound = StreamFrame.HEADER_LENGTH + StreamFrame.MAX_PAYLOAD + 4 * 65536L;
        long outboundBound = NetServer.HIGH_WATER + 2L * (StreamFrame.HEADER_LENGTH + StreamFrame.MAX_PAYLOAD);
        assertTrue(f.maxInboundBytes() <= inboundBound, "read buffer grew to " + f.maxInboundBytes() + " bytes");
        assertTrue(f.maxOutboundBytes() <= outboundBound, "queued writes grew to " + f.maxOutboundBytes() + " bytes");
        assertEquals(0, f.internalErrors(), f.toString());
        new StreamHostTest() {
            {
                host = StreamBoundsTest.this.host;
            }
        }.awaitOpened("alice", host.secret("alice"));
    }
}
