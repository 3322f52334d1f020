package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Connections that have not said who they are (no OPEN yet) are bounded in number, in all and per IP address: one
 * beyond is refused with the reason (a CLOSED frame on a plain listener, and a warning in the log), and the places
 * come back as connections open or close. Real host, real sockets; the loopback addresses 127.0.0.x stand for peers.
 */
class StreamAdmissionTest {
    /** Held: the log manager keeps loggers weakly, and a logger collected takes its handlers with it. */
    static final Logger NET = Logger.getLogger("ferry.net");
    Path dir;
    FerryHost host;
    final List<Socket> sockets = new ArrayList<>();
    final List<String> warnings = new CopyOnWriteArrayList<>();
    final Handler log = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(r.getMessage());
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
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-admit-");
        NET.addHandler(log);
        host = StreamHostTest.start(dir, 1);
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        NET.removeHandler(log);
        host.close();
        StreamHostTest.clean(dir);
    }

    private Socket silent(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(host.net().insecureAddress(), 10_000);
        s.setSoTimeout(20_000);
        sockets.add(s);
        return s;
    }

    private StreamClient clientFrom(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(host.net().insecureAddress(), 10_000);
        return StreamClient.of(s);
    }

    /** Waits until the host holds {@code n} places (hang guard 20 s: the connections are accepted asynchronously). */
    private void awaitUnopened(int n) throws InterruptedException {
        Admission a = host.net().admission();
        for (int i = 0; i < 2_000 && a.unopened() != n; i++) {
            Thread.sleep(10);
        }
        assertEquals(n, a.unopened());
    }

    private static StreamFrame.Closed refused(StreamClient c) throws IOException {
        StreamFrame.Closed closed = c.awaitClosed();
        assertNotNull(closed, "a refused connection hears why on a plain listener");
        assertEquals(Status.QUOTA_EXCEEDED.code(), closed.status());
        return closed;
    }

    @Test
    void oneAddressMayHoldOnlySoManyConnectionsBeforeOpen() throws Exception {
        for (int i = 0; i < Admission.MAX_UNOPENED_PER_PEER; i++) {
            silent("127.0.0.1");
        }
        awaitUnopened(Admission.MAX_UNOPENED_PER_PEER);
        try (StreamClient c = clientFrom("127.0.0.1")) {
            StreamFrame.Closed closed = refused(c);
            assertTrue(closed.reason().contains(Admission.MAX_UNOPENED_PER_PEER + " connections from 127.0.0.1"),
                    closed.reason());
        }
        assertTrue(warnings.stream().anyMatch(w -> w.contains("refused a connection from /127.0.0.1")), "" + warnings);
        assertTrue(host.net().admission().refused() >= 1);
        // another address is served meanwhile
        try (StreamClient c = clientFrom("127.0.0.2")) {
            assertEquals(StreamFrame.OPENED, c.open("alice", host.secret("alice")).type());
        }
        // a place given back (a silent connection closed) is taken again
        sockets.removeFirst().close();
        awaitUnopened(Admission.MAX_UNOPENED_PER_PEER - 1);
        try (StreamClient c = clientFrom("127.0.0.1")) {
            assertEquals(StreamFrame.OPENED, c.open("bob", host.secret("bob")).type());
        }
    }

    @Test
    void theHostHoldsOnlySoManyConnectionsBeforeOpenInAll() throws Exception {
        int peers = Admission.MAX_UNOPENED / Admission.MAX_UNOPENED_PER_PEER;
        for (int p = 0; p < peers; p++) {
            for (int i = 0; i < Admission.MAX_UNOPENED_PER_PEER; i++) {
                silent("127.0.0." + (10 + p));
            }
        }
        awaitUnopened(Admission.MAX_UNOPENED);
        try (StreamClient c = clientFrom("127.0.0.200")) {
            StreamFrame.Closed closed = refused(c);
            assertTrue(closed.reason().contains(Admission.MAX_UNOPENED + " connections in all"), closed.reason());
        }
        for (Socket s : sockets) {
            s.close();
        }
        sockets.clear();
        awaitUnopened(0);
        try (StreamClient c = clientFrom("127.0.0.200")) {
            assertEquals(StreamFrame.OPENED, c.open("alice", host.secret("alice")).type());
        }
    }

    @Test
    void aFrameBeforeOpenLargerThanAnOpenIsRefusedAtItsHeader() throws Exception {
        try (StreamClient c = StreamClient.tcp(host.net().insecureAddress())) {
            // the header of a 1 MiB OPEN: refused before its payload is awaited
            c.raw(new byte[] {0, 0, 0x10, 0, StreamFrame.OPEN, 0, 0, 0});
            StreamFrame.Closed closed = c.awaitClosed();
            assertNotNull(closed);
            assertEquals(Status.PROTOCOL_VIOLATION.code(), closed.status());
            assertTrue(closed.reason().contains("before OPEN"), closed.reason());
        }
    }
}
