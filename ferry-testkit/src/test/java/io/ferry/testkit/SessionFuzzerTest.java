package io.ferry.testkit;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fuzzer and a few of its hostile patterns against a host without devices (fast; the PoCL run is in
 * ferry-cli's SessionFuzzIT).
 */
class SessionFuzzerTest {

    @Test
    void aSeededRunBreaksNoHostProperty() throws Exception {
        SessionFuzzer.Result r = SessionFuzzer.run(42, 5_000, Duration.ofSeconds(50),
                Devices.of(List.of(), List.of()), System.err::println);
        assertEquals(0, r.hostFailures(), () -> String.join("\n", r.failures()));
        assertTrue(r.cases() >= 5_000, r.toString());
        assertTrue(r.sessionsEndedByHost() > 0, r.toString());
    }

    private interface Body {
        void run(RawGuest bad, RawGuest good, FerryHost host) throws Exception;
    }

    private static void withTwoGuests(Body body) throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-fuzz-t-");
        try (FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(), List.of(
                new HostConfig.GuestConfig("bad", 1L << 20), new HostConfig.GuestConfig("good", 1L << 20))),
                Devices.of(List.of(), List.of()));
             RawGuest bad = new RawGuest(host.regionPath("bad"));
             RawGuest good = new RawGuest(host.regionPath("good"))) {
            assertEquals(Status.OK, bad.connect(5_000_000_000L).status());
            assertEquals(Status.OK, good.connect(5_000_000_000L).status());
            body.run(bad, good, host);
        } finally {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void assertOnlyBadClosed(RawGuest bad, RawGuest good, FerryHost host) {
        assertOnlyBadClosed(bad, good, host, true);
    }

    /** {@code drain} false: wait without reading completions (for a guest whose offence is not reading them). */
    private static void assertOnlyBadClosed(RawGuest bad, RawGuest good, FerryHost host, boolean drain) {
        assertTrue(bad.awaitClosed(15_000_000_000L, drain), "the offending session was not closed");
        assertEquals(Status.PROTOCOL_VIOLATION, bad.closedBy() == null ? Status.PROTOCOL_VIOLATION
                : bad.closedBy().status());
        assertEquals(77, good.call(Op.NOP, null, 2_000_000_000L, 77).r0());
        assertTrue(good.open());
        var v = host.guests().stream().filter(g -> g.name().equals("bad")).findFirst().orElseThrow();
        assertTrue(!v.connected() && v.objects() == 0 && v.deviceMemoryBytes() == 0, v.toString());
        // the endpoint still serves: a fresh session
        assertEquals(Status.OK, bad.connect(5_000_000_000L).status());
    }

    @Test
    void anUnknownOpcodeClosesOnlyItsSession() throws Exception {
        withTwoGuests((bad, good, host) -> {
            bad.putRaw(99, 0, new long[] {1}, null, 0);
            bad.publish();
            assertOnlyBadClosed(bad, good, host);
        });
    }

    @Test
    void aTailBeyondTheCapacityClosesOnlyItsSession() throws Exception {
        withTwoGuests((bad, good, host) -> {
            var s = bad.commands.segment();
            s.set(java.lang.foreign.ValueLayout.JAVA_LONG, io.ferry.channel.RegionDescriptor.RING_TAIL_OFFSET,
                    bad.commands.capacity() + 8L);
            assertOnlyBadClosed(bad, good, host);
        });
    }

    @Test
    void aBlobLengthThatDoesNotMatchTheRecordClosesOnlyItsSession() throws Exception {
        withTwoGuests((bad, good, host) -> {
            bad.putRaw(Op.KERNEL_CREATE.code(), Wire.FLAG_REPLY, new long[] {1, 2}, new byte[] {'k'}, 1000);
            bad.publish();
            assertOnlyBadClosed(bad, good, host);
        });
    }

    @Test
    void aGuestThatNeverReadsItsCompletionsClosesOnlyItsSession() throws Exception {
        withTwoGuests((bad, good, host) -> {
            for (int i = 0; i < 3000 && bad.put(Op.DEVICE_INFO, true, null, 99) >= 0; i++) {
                bad.publish();
            }
            assertOnlyBadClosed(bad, good, host, false);
        });
    }

    @Test
    void aHandleOfAnotherSessionIsUnknown() throws Exception {
        withTwoGuests((bad, good, host) -> {
            // 'good' names a queue 7 in its session (creation fails without devices, but the number is the point):
            // in 'bad', handle 7 is simply unknown.
            RawGuest.Reply r = bad.call(Op.FINISH, null, 2_000_000_000L, 7);
            assertEquals(Status.UNKNOWN_HANDLE, r.status());
            assertTrue(r.text().contains("queue handle 7"), r.text());
            assertTrue(bad.open());
        });
    }
}
