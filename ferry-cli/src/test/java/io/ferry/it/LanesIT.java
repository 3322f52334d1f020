package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.host.config.HostConfig;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many sessions per guest: every process (every {@code Ferry} connection) of a guest takes a lane of its own, with
 * its own session, and ending one lane's session touches no other. Real host, real PoCL, real child processes.
 */
class LanesIT {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Two lanes: enough for two processes at once, and a third connection finds them all busy. */
    private static final String TEAM = "team";

    static Hosts hosts;

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(new HostConfig.GuestConfig(TEAM, 16L << 20).withLanes(2),
                new HostConfig.GuestConfig("solo", 16L << 20).withLanes(1)));
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    /** A child JVM running {@link LaneGuestMain} as guest {@code guest}. */
    private static Process guestProcess(String guest, int rounds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LaneGuestMain.class.getName(), hosts.host.guestSocket().toString(), guest,
                java.util.Base64.getEncoder().encodeToString(hosts.host.secret(guest)), Integer.toString(rounds)));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** Reads the child's lines until one starts with {@code word} (or FAIL); fails after 120 s or at its end. */
    private static String await(Process p, BufferedReader out, String word) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith(word) || line.startsWith("FAIL")) {
                assertTrue(line.startsWith(word), "child " + p.pid() + ": " + line);
                return line;
            }
            if (System.nanoTime() > deadline) {
                break;
            }
        }
        p.destroyForcibly();
        fail("child " + p.pid() + " ended or did not print " + word);
        return null;
    }

    private static void send(Process p, String line) throws Exception {
        OutputStream in = p.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    /** Connects, retrying while every lane is busy (a lane frees once the host has ended its session). */
    private static Ferry connectWithin(String guest, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (true) {
            try {
                return hosts.connect(guest);
            } catch (FerryException e) {
                if (e.status() != Status.QUOTA_EXCEEDED || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void twoProcessesOfOneGuestComputeAtOnceEachVerified() throws Exception {
        Process a = guestProcess(TEAM, 20);
        Process b = guestProcess(TEAM, 20);
        try {
            BufferedReader outA = new BufferedReader(new InputStreamReader(a.getInputStream()));
            BufferedReader outB = new BufferedReader(new InputStreamReader(b.getInputStream()));
            String[] readyA = await(a, outA, "READY").split(" ");
            String[] readyB = await(b, outB, "READY").split(" ");
            assertNotEquals(readyA[1], readyB[1], "the two processes hold different lanes");
            assertNotEquals(readyA[2], readyB[2], "the two processes hold different sessions");
            var view = hosts.view(TEAM);
            assertEquals(2, view.lanes());
            assertEquals(2, view.lanesBusy(), view.toString());
            send(a, "GO");
            send(b, "GO");
            String[] okA = await(a, outA, "OK").split(" ");
            String[] okB = await(b, outB, "OK").split(" ");
            // each finished every round on the session it started with: neither was ended by the other
            assertEquals(readyA[2], okA[2]);
            assertEquals(readyB[2], okB[2]);
        } finally {
            a.destroyForcibly().waitFor();
            b.destroyForcibly().waitFor();
        }
    }

    @Test
    void aSecondConnectOfTheSameGuestLeavesTheFirstSessionAlone() throws Exception {
        try (Ferry first = connectWithin(TEAM, 10_000); Ferry second = connectWithin(TEAM, 10_000)) {
            assertNotEquals(first.lane(), second.lane());
            assertNotEquals(first.sessionId(), second.sessionId());
            assertEquals(11, first.nop(11));
            assertEquals(12, second.nop(12));
            assertEquals(13, first.nop(13));
        }
    }

    @Test
    void whenEveryLaneIsBusyTheErrorNamesTheGuestTheLanesTheHoldersAndTheFix() throws Exception {
        try (Ferry only = connectWithin("solo", 10_000)) {
            FerryException e = assertThrows(FerryException.class, () -> hosts.connect("solo"));
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            String m = e.getMessage();
            for (String part : new String[] {"'solo'", "1 lane", "pids " + ProcessHandle.current().pid(),
                    "raise lanes: in the host config"}) {
                assertTrue(m.contains(part), m);
            }
            assertFalse(m.contains("release objects"), "not the objects quota's hint: " + m);
            assertTrue(m.contains("waited 2.0 s for one (FERRY_LANE_WAIT=SECONDS waits longer)"), m);
            assertEquals(5, only.nop(5), "the refused connect disturbed nobody");
        }
    }

    @Test
    void aConnectWaitsForTheLaneAnotherConnectionLeaves() throws Exception {
        Ferry only = connectWithin("solo", 10_000);
        long lane = only.lane();
        Thread leaver = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            only.close();
        });
        try (Ferry next = hosts.connect("solo")) { // every lane held now: waits (FERRY_LANE_WAIT, 2 s) for this one
            assertEquals(lane, next.lane());
            assertEquals(9, next.nop(9));
        } finally {
            leaver.join();
        }
    }

    @Test
    void theLaneOfAKilledProcessIsFreedAndReused() throws Exception {
        Process victim = guestProcess("solo", 1);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(victim.getInputStream()));
            String[] ready = await(victim, out, "READY").split(" ");
            FerryException busy = assertThrows(FerryException.class, () -> hosts.connect("solo"));
            assertTrue(busy.getMessage().contains("pids " + victim.pid()), busy.getMessage());
            victim.destroyForcibly().waitFor();
            try (Ferry next = connectWithin("solo", 15_000)) {
                assertEquals(Integer.parseInt(ready[1]), next.lane());
                assertNotEquals(Long.parseLong(ready[2]), next.sessionId());
                assertEquals(7, next.nop(7));
            }
        } finally {
            victim.destroyForcibly().waitFor();
        }
    }

    @Test
    void aCorruptedLaneEndsOnlyItsOwnSession() throws Exception {
        try (Ferry spoiled = connectWithin(TEAM, 10_000); Ferry bystander = connectWithin(TEAM, 10_000)) {
            long before = bystander.sessionId();
            assertEquals(1, bystander.nop(1));
            // a hostile process of the same guest keeps scribbling on the spoiled lane's command ring: TAIL far
            // past HEAD (the lane's own guest rewrites TAIL at each call, so once is not enough)
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            FerryException e;
            try (Region region = Region.open(hosts.region(TEAM))) {
                Region lane = region.lane(spoiled.lane());
                var section = lane.commandRing().segment();
                Thread scribbler = Thread.ofPlatform().start(() -> {
                    while (!stop.get()) {
                        long head = section.get(LONG, RegionDescriptor.RING_HEAD_OFFSET);
                        section.set(LONG, RegionDescriptor.RING_TAIL_OFFSET, head + 64L * lane.commandRing().capacity());
                        lane.commandRing().wakeConsumer();
                        java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    }
                });
                try {
                    e = assertThrows(FerryException.class, () -> {
                        for (int i = 0; i < 2000; i++) {
                            spoiled.nop(i);
                            Thread.sleep(5);
                        }
                    });
                } finally {
                    stop.set(true);
                    scribbler.join();
                }
            }
            assertTrue(e.status() == Status.PROTOCOL_VIOLATION || e.status() == Status.SESSION_CLOSED, e.toString());
            assertEquals(2, bystander.nop(2), "the other lane's session goes on");
            assertEquals(before, bystander.sessionId());
            assertTrue(hosts.view(TEAM).connected());
        }
    }
}
