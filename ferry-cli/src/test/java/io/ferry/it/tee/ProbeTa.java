package io.ferry.it.tee;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A test TA, signed by the test's key, that behaves as a hostile TA would: 0 increments value inout 0; 1 stores the
 * object "started" and then blocks until its call is cancelled (or value in 0 a ms pass); 2 panics; 3 tries to reach
 * what a TA must not (memref in 0: one target a line, a path, {@code unix:PATH} or {@code tcp:HOST:PORT}) and reports
 * in memref out 1, a line per target: {@code TARGET: read N}, {@code TARGET: listed N} or {@code TARGET: refused
 * (WHY)}; 4 writes and reads back its own object "mine" (its own sealed storage works).
 */
public final class ProbeTa implements TrustedApp {
    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        switch (command) {
            case 0:
                p.setValue(0, p.a(0) + 1, 0);
                return TaCodes.SUCCESS;
            case 1: {
                session.storage().write("started", new byte[] {1});
                long deadline = System.nanoTime() + Math.max(0, p.a(0)) * 1_000_000L;
                while (System.nanoTime() < deadline) {
                    if (session.isCancelled()) {
                        return TaCodes.ERROR_CANCEL;
                    }
                    Thread.yield();
                }
                return TaCodes.SUCCESS;
            }
            case 2:
                throw new IllegalStateException("probe TA panics on request");
            case 3: {
                StringBuilder report = new StringBuilder();
                for (String target : new String(p.bytes(0), StandardCharsets.UTF_8).split("\n")) {
                    if (!target.isEmpty()) {
                        report.append(target).append(": ").append(probe(target)).append('\n');
                    }
                }
                return p.output(1, report.toString().getBytes(StandardCharsets.UTF_8)) ? TaCodes.SUCCESS
                        : TaCodes.ERROR_SHORT_BUFFER;
            }
            case 4: {
                session.storage().write("mine", p.bytes(0));
                return p.output(1, session.storage().read("mine")) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
            }
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }

    private static String probe(String target) {
        try {
            if (target.startsWith("unix:")) {
                try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    c.connect(UnixDomainSocketAddress.of(target.substring(5)));
                    return "connected";
                }
            }
            if (target.startsWith("tcp:")) {
                String[] hp = target.substring(4).split(":");
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 2000);
                    return "connected";
                }
            }
            Path path = Path.of(target);
            if (Files.isDirectory(path)) {
                try (Stream<Path> entries = Files.list(path)) {
                    return "listed " + entries.count();
                }
            }
            return "read " + Files.readAllBytes(path).length;
        } catch (IOException | RuntimeException | LinkageError e) {
            // a LinkageError too: in the sandbox the JDK's socket classes may fail to initialise at all
            Throwable why = e.getCause() == null ? e : e.getCause();
            return "refused (" + e.getClass().getSimpleName() + ": " + why.getMessage() + ")";
        }
    }
}
