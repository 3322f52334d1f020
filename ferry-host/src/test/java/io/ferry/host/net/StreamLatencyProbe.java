package io.ferry.host.net;

import io.ferry.host.FerryHost;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.StreamFrame;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: prints the host side's NOP round trip over insecure loopback beside a bare TCP ping-pong in the same
 * JVM ({@code -Dferry.probe=true -Dtest=StreamLatencyProbe}). Asserts nothing.
 */
@EnabledIfSystemProperty(named = "ferry.probe", matches = "true")
class StreamLatencyProbe {
    static final int N = Integer.getInteger("ferry.probe.n", 20_000);

    @Test
    void nopRoundTrip() throws Exception {
        System.out.println("PROBE tcp floor " + tcpFloor());
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-probe-");
        FerryHost host = StreamHostTest.start(dir, 1);
        try (StreamClient c = StreamClient.tcp(host.net().insecureAddress())) {
            c.open("alice", host.secret("alice"));
            c.connect();
            for (int round = 0; round < 3; round++) {
                long[] t = new long[N];
                for (int i = 0; i < N; i++) {
                    if (i % 1000 == 0) {
                        c.heartbeat();
                    }
                    MemorySegment rec = c.record(Op.NOP, true, null);
                    new Calls.Nop().wrap(rec, 0).value(i);
                    long t0 = System.nanoTime();
                    c.send(rec);
                    while (true) {
                        StreamClient.Frame f = c.read();
                        if (f.type() == StreamFrame.COMPLETION) {
                            break;
                        }
                        c.take(f);
                    }
                    t[i] = System.nanoTime() - t0;
                }
                System.out.println("PROBE host nop " + figures(t));
            }
        } finally {
            host.close();
            StreamHostTest.clean(dir);
        }
    }

    static String figures(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "p50 %.1f us  p90 %.1f  p99 %.1f", s[s.length / 2] / 1e3,
                s[s.length * 9 / 10] / 1e3, s[s.length * 99 / 100] / 1e3);
    }

    static String tcpFloor() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread echo = Thread.ofPlatform().daemon(true).start(() -> {
                try (Socket s = ss.accept()) {
                    s.setTcpNoDelay(true);
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    byte[] b = new byte[64];
                    while (in.readNBytes(b, 0, 64) == 64) {
                        out.write(b);
                    }
                } catch (Exception e) {
                    // done
                }
            });
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), ss.getLocalPort()));
                s.setTcpNoDelay(true);
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] b = new byte[64];
                long[] t = new long[N];
                for (int i = 0; i < N; i++) {
                    long t0 = System.nanoTime();
                    out.write(b);
                    in.readNBytes(b, 0, 64);
                    t[i] = System.nanoTime() - t0;
                }
                return figures(t);
            } finally {
                echo.join(1000);
            }
        }
    }
}
