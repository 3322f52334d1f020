package io.ferry.host.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.RegionDescriptor;
import io.ferry.host.FerryHost;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.StreamFrame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Lanes over the stream transport against a real host (no devices) and real sockets: many connections of one
 * guest coming and going at once never share a lane, and a connection that leaves before HELLO ends its session
 * plainly. Seeded: {@code -Dferry.lanes.seed=N} replays.
 */
class StreamLanesTest {
    /** Held: the log manager keeps loggers weakly, and a logger collected takes its handlers with it. */
    static final Logger AUDIT = Logger.getLogger("ferry.audit");
    Path dir;
    FerryHost host;
    final List<String> audit = new CopyOnWriteArrayList<>();
    final Handler auditHandler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            audit.add(r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    void start(int lanes) throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-lanes-");
        AUDIT.addHandler(auditHandler);
        host = StreamHostTest.start(dir, lanes);
    }

    @AfterEach
    void stop() throws IOException {
        AUDIT.removeHandler(auditHandler);
        if (host != null) {
            host.close();
        }
        if (dir != null) {
            StreamHostTest.clean(dir);
        }
    }

    /**
     * Waits (hang guard 20 s) for the audit line of the connection from {@code from} leaving its lane, and returns it
     * (a connection of an earlier test's host may log its own departure late, into this test's audit).
     */
    private String departed(int before, String from) throws InterruptedException {
        for (int i = 0; i < 2_000; i++) {
            for (String l : audit.subList(before, audit.size())) {
                if (l.contains("stream connection from " + from + " ended: ")) {
                    return l;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no connection left its lane; audit: " + audit);
    }

    @Test
    void aConnectionThatLeavesBeforeHelloEndsItsSessionPlainly() throws Exception {
        start(1);
        byte[] secret = host.secret("alice");
        int before = audit.size();
        String from;
        try (StreamClient c = StreamClient.tcp(host.net().insecureAddress())) {
            from = c.localAddress();
            assertEquals(StreamFrame.OPENED, c.open("alice", secret).type());
            c.request(); // the host acknowledged a session; no HELLO follows
        }
        String left = departed(before, from);
        assertTrue(left.contains("session ended by GOODBYE"), left);
        for (String l : audit) {
            assertTrue(!l.contains("before HELLO") && !l.contains("PROTOCOL_VIOLATION"), "audit: " + l);
        }
        // and the lane serves the next connection
        try (StreamClient c = StreamClient.tcp(host.net().insecureAddress())) {
            assertEquals(StreamFrame.OPENED, c.open("alice", secret).type());
            assertEquals(Status.OK.code(), c.connect().status());
            assertEquals(5, c.nop(5).r0());
        }
    }

    /**
     * The lane-claim race, step by step: connection A's claim is freed by the host (its session ended), B takes the
     * same lane, and only then does A leave: A must not free B's claim (both claimed with the host's pid once; now
     * each with a token of its own), so a third connection cannot take B's lane.
     */
    @Test
    void aLeavingConnectionNeverFreesTheClaimOfTheNextOne() throws Exception {
        start(1);
        GuestDirectory.Guest g = host.net().guests().find("alice");
        LaneMirror a = LaneMirror.open(g);
        assertTrue(a.claimed());
        assertTrue(a.lane.laneClaim(a.token, 0), "the host frees A's claim as its session ends");
        LaneMirror b = LaneMirror.open(g);
        assertEquals(a.lane.laneIndex(), b.lane.laneIndex());
        assertTrue(a.token != b.token);
        assertTrue(!a.claimed() && a.superseded());
        String how = a.depart(0);
        assertTrue(how.contains("freed by the host"), how);
        a.unmap();
        assertTrue(b.claimed(), "A's departure freed B's claim");
        StreamSecurity.Refused busy = org.junit.jupiter.api.Assertions.assertThrows(StreamSecurity.Refused.class,
                () -> LaneMirror.open(g));
        assertEquals(Status.QUOTA_EXCEEDED, busy.status());
        assertTrue(b.depart(0).contains("lane claim freed"));
        b.unmap();
        LaneMirror c = LaneMirror.open(g);
        assertTrue(c.claimed());
        c.depart(0);
        c.unmap();
    }

    /**
     * Connections of one guest with two lanes, from several threads at once, each opening, saying HELLO, making
     * calls and leaving in a seeded way (GOODBYE, a reset, before HELLO, right after OPENED). A connection counts as
     * live from its HELLO until the test closes it: no two live connections ever hold the same lane or session,
     * and each sees only its own completions and its own session's words.
     */
    @Test
    void manyConnectionsComingAndGoingNeverShareALane() throws Exception {
        start(2);
        long seed = Long.getLong("ferry.lanes.seed", System.nanoTime());
        byte[] secret = host.secret("alice");
        Map<Integer, Long> live = new ConcurrentHashMap<>();
        Map<Long, Integer> sessions = new ConcurrentHashMap<>();
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        int threads = 4;
        int cycles = 25;
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Random rnd = new Random(seed + t);
            long me = t;
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < cycles && problems.isEmpty(); i++) {
                    try {
                        cycle(rnd, (me << 32) | i, secret, live, sessions, problems);
                    } catch (Exception | AssertionError e) {
                        problems.add("connection " + me + "/" + i + ": " + e);
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join(120_000);
        }
        assertTrue(problems.isEmpty(), "seed " + seed + ": " + problems);
        assertEquals(0, host.net().counters().figures().internalErrors(), "seed " + seed);
        // every lane comes back: both can be taken at once (the host frees a lane once it has seen its connection
        // close, which may be a moment after the client's close returned: wait for that, up to 10 s)
        long until = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try (StreamClient a = StreamClient.tcp(host.net().insecureAddress());
                 StreamClient b = StreamClient.tcp(host.net().insecureAddress())) {
                boolean both = openWithRetry(a, secret) && openWithRetry(b, secret);
                if (both) {
                    assertTrue(a.lane != b.lane);
                    return;
                }
            }
            assertTrue(System.nanoTime() < until, "seed " + seed + ": a lane did not come back within 10 s");
            Thread.sleep(20);
        }
    }

    /** OPEN: true when OPENED, false when every lane is busy; anything else fails. */
    private static boolean openWithRetry(StreamClient c, byte[] secret) throws IOException {
        StreamClient.Frame f = c.open("alice", secret);
        if (f != null && f.type() == StreamFrame.OPENED) {
            return true;
        }
        StreamFrame.Closed closed = StreamClient.closed(f);
        if (closed == null || closed.status() != Status.QUOTA_EXCEEDED.code()) {
            throw new IOException("OPEN answered " + (closed == null ? f : closed.status() + " " + closed.reason()));
        }
        return false;
    }

    private void cycle(Random rnd, long id, byte[] secret, Map<Integer, Long> live, Map<Long, Integer> sessions,
                       List<String> problems) throws IOException, InterruptedException {
        StreamClient c = null;
        for (int tries = 0; c == null && tries < 2_000; tries++) {
            StreamClient attempt = StreamClient.tcp(host.net().insecureAddress());
            if (openWithRetry(attempt, secret)) {
                c = attempt;
            } else {
                attempt.close();
                Thread.sleep(2); // both lanes busy: the others leave theirs soon
            }
        }
        if (c == null) {
            problems.add(id + ": never got a lane");
            return;
        }
        int how = rnd.nextInt(4);
        try {
            if (how == 0) {
                return; // leaves right after OPENED
            }
            c.request();
            if (how == 1) {
                return; // leaves before HELLO
            }
            StreamClient.Completion hello = c.hello();
            if (hello == null || hello.status() != Status.OK.code()) {
                problems.add(id + ": HELLO on lane " + c.lane + " answered " + hello);
                return;
            }
            long session = c.hostWords.getOrDefault(c.words() + RegionDescriptor.LANE_SESSION_ID_OFFSET, 0L);
            Long other = live.putIfAbsent(c.lane, id);
            if (other != null) {
                problems.add(id + ": lane " + c.lane + " is live for connection " + other + " too");
                return;
            }
            if (sessions.putIfAbsent(session, c.lane) != null) {
                problems.add(id + ": session " + session + " was seen by another connection");
            }
            try {
                for (int n = 1 + rnd.nextInt(4); n > 0; n--) {
                    long v = rnd.nextLong();
                    StreamClient.Completion nop = c.nop(v);
                    if (nop == null || nop.op() != Op.NOP.code() || nop.r0() != v) {
                        problems.add(id + ": NOP " + v + " on lane " + c.lane + " answered " + nop);
                        return;
                    }
                }
                long now = c.hostWords.getOrDefault(c.words() + RegionDescriptor.LANE_SESSION_ID_OFFSET, 0L);
                if (now != session) {
                    problems.add(id + ": lane " + c.lane + "'s session changed from " + session + " to " + now);
                }
                if (how == 2) {
                    // live no more from here: the host ends the session at GOODBYE and frees the lane for the next
                    // connection, possibly before its reply is read (then the connection closes instead: the reply
                    // was in the ring the next session's connect resets)
                    live.remove(c.lane, id);
                    StreamClient.Completion bye = c.call(c.record(Op.GOODBYE, true, null));
                    if (bye != null && bye.op() != Op.GOODBYE.code()) {
                        problems.add(id + ": GOODBYE on lane " + c.lane + " answered " + bye);
                    }
                }
            } finally {
                live.remove(c.lane, id);
            }
        } finally {
            if (how == 3) {
                c.kill();
            } else {
                c.close();
            }
        }
    }
}
