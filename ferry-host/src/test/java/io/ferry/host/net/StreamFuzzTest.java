package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.RegionDescriptor;
import io.ferry.host.FerryHost;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A seeded fuzz of the stream framing against a real host: thousands of random and mutated frames over many
 * connections (garbage, bad headers, mutated OPENs, and after a good handshake mutated RECORDs, WORDS at any offset,
 * HEAP anywhere, frames of any type). The host must fail none of them (no internal error, no warning from the
 * stream transport), close only the connection at fault, and go on serving a well-behaved guest afterwards.
 * {@code -Dferry.fuzz.seed=N} replays a run; {@code -Dferry.fuzz.connections=N} makes it longer.
 */
class StreamFuzzTest {
    Path dir;
    FerryHost host;
    final java.util.List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    final Handler watch = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue() && !r.getMessage().contains("PLAIN TCP")) {
                warnings.add(r.getMessage() + (r.getThrown() == null ? "" : ": " + r.getThrown()));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-net-");
        host = StreamHostTest.start(dir, 4);
        Logger.getLogger("ferry.net").addHandler(watch);
    }

    @AfterEach
    void stop() throws IOException {
        Logger.getLogger("ferry.net").removeHandler(watch);
        host.close();
        StreamHostTest.clean(dir);
    }

    @Test
    void fuzzedFramesFailNothingAndTheHostServesAfterwards() throws Exception {
        long seed = Long.getLong("ferry.fuzz.seed", 0x5eed_f00dL);
        int connections = Integer.getInteger("ferry.fuzz.connections", 500);
        Random rnd = new Random(seed);
        byte[] secret = host.secret("alice");
        int frames = 0;
        for (int i = 0; i < connections; i++) {
            StreamClient c = StreamClient.tcp(host.net().insecureAddress());
            try (c) {
                session(c, rnd, secret);
                if (rnd.nextInt(4) == 0) {
                    c.kill();
                }
            } catch (IOException e) {
                // the host closed a faulty connection under us: what it should do
            }
            frames += c.sent;
        }
        assertTrue(frames > 3000, "only " + frames + " frames sent");
        NetCounters.Figures f = host.net().counters().figures();
        assertEquals(0, f.internalErrors(), "seed " + seed + ": " + f + "; warnings: " + warnings);
        assertTrue(warnings.stream().noneMatch(w -> w.contains("failed")), "seed " + seed + ": " + warnings);
        assertTrue(new StreamHostTest() {
            {
                host = StreamFuzzTest.this.host;
            }
        }.awaitOpened("alice", secret), "seed " + seed + ": the host no longer serves a well-behaved guest");
    }

    /** One connection's worth of fuzz; returns the frames sent. */
    private int session(StreamClient c, Random rnd, byte[] secret) throws IOException {
        switch (rnd.nextInt(5)) {
            case 0 -> {
                byte[] junk = new byte[1 + rnd.nextInt(300)];
                rnd.nextBytes(junk);
                c.raw(junk);
                c.shutdownOutput();
                c.awaitClosed();
                return 1;
            }
            case 1 -> {
                c.frame(rnd.nextInt(12), rnd.nextInt(8) == 0 ? rnd.nextInt(65536) : 0, random(rnd, 200));
                c.shutdownOutput();
                c.awaitClosed();
                return 1;
            }
            case 2 -> {
                byte[] open = StreamClient.openPayload(StreamFrame.OPEN_MAGIC, StreamFrame.VERSION, "alice", secret);
                flip(rnd, open, 1 + rnd.nextInt(4));
                c.frame(StreamFrame.OPEN, 0, open);
                c.shutdownOutput();
                c.awaitClosed();
                return 1;
            }
            default -> {
                StreamClient.Frame f = c.open("alice", secret);
                if (f == null || f.type() != StreamFrame.OPENED) {
                    return 1; // every lane busy: refused, as it should be
                }
                int sent = 1;
                if (rnd.nextBoolean()) {
                    c.connect();
                    sent += 2;
                }
                int n = 5 + rnd.nextInt(30);
                for (int i = 0; i < n; i++) {
                    mutant(c, rnd);
                    sent++;
                }
                if (rnd.nextBoolean()) {
                    c.nop(1); // may be refused or closed: only the host's health is judged
                }
                return sent;
            }
        }
    }

    private void mutant(StreamClient c, Random rnd) throws IOException {
        switch (rnd.nextInt(6)) {
            case 0, 1 -> {
                Op op = rnd.nextInt(3) == 0 ? Op.values()[rnd.nextInt(Op.values().length)] : Op.NOP;
                MemorySegment rec = c.record(op, rnd.nextBoolean(), op.hasBlob() ? random(rnd, 20) : null);
                if (op == Op.NOP) {
                    new Calls.Nop().wrap(rec, 0).value(rnd.nextLong());
                }
                byte[] b = rec.toArray(ValueLayout.JAVA_BYTE);
                if (rnd.nextInt(3) > 0) {
                    flip(rnd, b, 1 + rnd.nextInt(3));
                }
                c.frame(StreamFrame.RECORD, 0, rnd.nextInt(4) == 0 ? b : StreamClient.padded(b));
            }
            case 2 -> {
                int words = c.words();
                long off = switch (rnd.nextInt(4)) {
                    case 0 -> words + 8 * rnd.nextInt(4);
                    case 1 -> rnd.nextInt(RegionDescriptor.HEADER_SIZE);
                    case 2 -> rnd.nextInt();
                    default -> words + RegionDescriptor.LANE_GUEST_HEARTBEAT_OFFSET;
                };
                c.words(new long[] {off}, new long[] {rnd.nextLong()});
            }
            case 3 -> {
                int n = rnd.nextInt(4) == 0 ? StreamFrame.MAX_CHUNK + rnd.nextInt(3) - 1 : 1 + rnd.nextInt(512);
                ByteBuffer b = ByteBuffer.allocate(8 + Math.max(0, n)).order(ByteOrder.LITTLE_ENDIAN);
                long off = rnd.nextBoolean() ? rnd.nextInt(4 << 20) : rnd.nextLong();
                b.putLong(off);
                c.frame(StreamFrame.HEAP, 0, b.array());
            }
            case 4 -> c.frame(rnd.nextInt(12), 0, random(rnd, 64));
            default -> c.heartbeat();
        }
    }

    private static byte[] random(Random rnd, int max) {
        byte[] b = new byte[rnd.nextInt(max + 1)];
        rnd.nextBytes(b);
        return b;
    }

    private static void flip(Random rnd, byte[] b, int bits) {
        for (int i = 0; i < bits && b.length > 0; i++) {
            int at = rnd.nextInt(b.length);
            b[at] ^= (byte) (1 << rnd.nextInt(8));
        }
    }
}
