package io.ferry.bench;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.HdrHistogram.Histogram;

/**
 * The network floors of {@code ./ferry bench net}: what a bare TCP connection between two processes on loopback
 * costs, with no protocol at all, plain and with TLS 1.3 (mutual, the JDK's provider, a throwaway EC key): a
 * ping-pong of 8 bytes, and a 64 MiB stream each way. The echo side runs as {@code main} in a process of its own
 * ({@code TcpFloor [tls KEYSTORE]}; it prints {@code READY PORT}); the measuring side is {@link #measure}.
 *
 * <p>On a connection the first byte says what to do: {@code P} echo 8-byte pings until the peer closes;
 * {@code W} read a u64 length, then that many bytes, then answer one byte; {@code R} read a u64 length and send
 * that many bytes.
 */
public final class TcpFloor {
    static final char[] PASSWORD = "ferry-bench".toCharArray();

    private TcpFloor() {
    }

    /** The floors: the keys {@code tcp_floor_rtt_us_p50}, {@code tcp_stream_write_gbs}, … with {@code suffix}. */
    record Figures(double rttUsP50, double rttUsP99, double writeGbs, double readGbs) {
    }

    public static void main(String[] args) throws Exception {
        SSLContext tls = args.length > 1 && args[0].equals("tls") ? context(Path.of(args[1])) : null;
        try (ServerSocket server = tls == null ? new ServerSocket()
                : tls.getServerSocketFactory().createServerSocket()) {
            if (server instanceof SSLServerSocket s) {
                s.setEnabledProtocols(new String[] {"TLSv1.3"});
                s.setNeedClientAuth(true);
            }
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            System.out.println("READY " + server.getLocalPort());
            System.out.flush();
            ParentWatch.exitWithParent();
            while (true) {
                Socket s = server.accept();
                Thread.ofPlatform().start(() -> serve(s));
            }
        }
    }

    private static void serve(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int mode = in.read();
            byte[] buf = new byte[1 << 20];
            if (mode == 'P') {
                byte[] ping = new byte[8];
                while (new DataInputStream(in).readNBytes(ping, 0, 8) == 8) {
                    out.write(ping);
                    out.flush();
                }
            } else if (mode == 'W') {
                long n = new DataInputStream(in).readLong();
                while (n > 0) {
                    int r = in.read(buf, 0, (int) Math.min(buf.length, n));
                    if (r < 0) {
                        return;
                    }
                    n -= r;
                }
                out.write(1);
                out.flush();
            } else if (mode == 'R') {
                long n = new DataInputStream(in).readLong();
                while (n > 0) {
                    int w = (int) Math.min(buf.length, n);
                    out.write(buf, 0, w);
                    n -= w;
                }
                out.flush();
            }
        } catch (IOException ignored) {
            // the measuring side closed
        }
    }

    /** A PKCS#12 store with one self-signed EC key, made by the JDK's keytool, used as key and trust by both ends. */
    static Path keystore(Path dir) throws Exception {
        Path store = dir.resolve("floor.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-alias", "floor", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass",
                new String(PASSWORD))).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + said);
        }
        return store;
    }

    static SSLContext context(Path store) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext c = SSLContext.getInstance("TLSv1.3");
        c.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return c;
    }

    /** Measures against an echo process on {@code port}: ping-pongs, then streams, each after a warm-up. */
    static Figures measure(int port, SSLContext tls, int samples, long streamBytes, int streamReps) throws IOException {
        Histogram h = new Histogram(3_600_000_000L, 3);
        try (Socket s = connect(port, tls)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write('P');
            byte[] ping = new byte[8];
            // Warm-up: a quarter as many and a second and a half at least. TLS needs it: with only the quarter
            // (1,250 pings, --quick) the JDK's record path was still interpreted and a TLS ping took 5× a warm one.
            long warmUntil = System.nanoTime() + 1_500_000_000L;
            for (int i = 0; i < samples / 4 || System.nanoTime() < warmUntil; i++) {
                out.write(ping);
                out.flush();
                in.readFully(ping);
            }
            for (int i = 0; i < samples; i++) {
                long t0 = System.nanoTime();
                out.write(ping);
                out.flush();
                in.readFully(ping);
                h.recordValue(System.nanoTime() - t0);
            }
        }
        double[] w = new double[streamReps];
        double[] r = new double[streamReps];
        byte[] buf = new byte[1 << 20];
        // Warm-up until both directions have stopped getting faster (Warmup: the same rule as Ferry's), so that
        // both JVMs have compiled their copy and cipher paths: AES-GCM runs as an intrinsic only once C2 has compiled
        // it, and C2 is slow to get there on two loaded cores. Measured cold, the TLS floor stream was 0.08 GB/s
        // against 1.0 warm, a quarter of what Ferry's own (warmed) TLS transfers reached.
        Warmup warm = new Warmup();
        while (warm.more(streamWrite(port, tls, streamBytes, buf), streamRead(port, tls, streamBytes, buf))) {
            Thread.onSpinWait();
        }
        for (int rep = 0; rep < streamReps; rep++) {
            w[rep] = streamWrite(port, tls, streamBytes, buf);
            r[rep] = streamRead(port, tls, streamBytes, buf);
        }
        return new Figures(h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                TransportBench.median(w), TransportBench.median(r));
    }

    /** One stream of {@code bytes} to the sink, until it has answered that it read them all; GB/s. */
    private static double streamWrite(int port, SSLContext tls, long bytes, byte[] buf) throws IOException {
        try (Socket s = connect(port, tls)) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.write('W');
            out.writeLong(bytes);
            long t0 = System.nanoTime();
            for (long n = bytes; n > 0; n -= buf.length) {
                out.write(buf, 0, (int) Math.min(buf.length, n));
            }
            out.flush();
            if (s.getInputStream().read() != 1) {
                throw new IOException("the floor's sink did not answer");
            }
            return bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
        }
    }

    /** One stream of {@code bytes} from the source, from the request to the last byte; GB/s. */
    private static double streamRead(int port, SSLContext tls, long bytes, byte[] buf) throws IOException {
        try (Socket s = connect(port, tls)) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.write('R');
            out.writeLong(bytes);
            out.flush();
            long t0 = System.nanoTime();
            InputStream in = s.getInputStream();
            for (long n = bytes; n > 0; ) {
                int got = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (got < 0) {
                    throw new IOException("the floor's source ended early");
                }
                n -= got;
            }
            return bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
        }
    }

    private static Socket connect(int port, SSLContext tls) throws IOException {
        Socket s;
        if (tls == null) {
            s = new Socket();
        } else {
            s = tls.getSocketFactory().createSocket();
        }
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        if (s instanceof SSLSocket ssl) {
            ssl.setEnabledProtocols(new String[] {"TLSv1.3"});
            ssl.startHandshake();
        }
        return s;
    }
}
