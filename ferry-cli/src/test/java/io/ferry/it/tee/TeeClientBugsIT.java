package io.ferry.it.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeException;
import io.ferry.client.tee.TeeOperation;
import io.ferry.client.tee.TeeParam;
import io.ferry.client.tee.TeeResult;
import io.ferry.client.tee.TeeSession;
import io.ferry.client.tee.TeeSharedMemory;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import io.ferry.tee.image.TaImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 20, items 5–11: the client API bugs an independent run (written from the GP TEE Client API and OP-TEE's
 * xtest) found against a real host. A real host with the software TEE, guests speaking through their regions:
 * alice (the tee service), carol (no tee service) and dave (a connection the test closes). {@link OverReportTa}
 * reports more output than it was given, as a TA may.
 */
@Timeout(120)
class TeeClientBugsIT {
    static final UUID OVER = UUID.fromString("f3a1e7c0-00f1-4e11-8f00-0000000000d2");
    static final long MIB = 1 << 20;

    static Path dir;
    static TeeServiceFactory tee;
    static FerryHost host;
    static Ferry alice;
    static TeeContext ctx;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tee-bugs");
        DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
        Files.write(setup.config().taDir().resolve(OVER + TaImage.SUFFIX), TaImage.sign(OVER, "over-report",
                OverReportTa.class.getName(), "1", BuiltinTas.classes(OverReportTa.class), setup.signingKey()));
        List<String> rules = new ArrayList<>();
        for (String g : List.of("alice", "carol", "dave")) {
            for (UUID ta : List.of(BuiltinTas.HELLO, OVER)) {
                rules.add("allow guest=" + g + " ta=" + ta + " login=public");
            }
        }
        tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"),
                TeePolicy.parse(String.join("\n", rules)), TeeLimits.DEFAULT);
        HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 32L << 20),
                new HostConfig.GuestConfig("carol", 8L << 20, null, SchedClass.NORMAL, 1, Set.of("compute"),
                        Quotas.DEFAULT),
                new HostConfig.GuestConfig("dave", 8L << 20)));
        host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
        alice = Ferry.connect(host.guestSocket(), "alice", host.secret("alice"));
        ctx = alice.tee();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {ctx, alice, host, tee}) {
            if (c != null) {
                c.close();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static TeeException fails(Runnable r) {
        return assertThrows(TeeException.class, r::run);
    }

    static int increment(TeeSession s, int value) {
        TeeOperation op = TeeOperation.of(TeeParam.valueInout(value, 0));
        s.invoke(BuiltinTas.HELLO_INCREMENT, op);
        return op.value(0).a();
    }

    /** Runs OverReportTa's FILL_OVER_REPORT: fills memref {@code out} with {@code fill}, reports {@code extra} more. */
    static TeeOperation fillOverReport(TeeSession s, TeeParam out, int fill, int extra) {
        TeeOperation op = TeeOperation.of(TeeParam.valueInput(fill, extra), out);
        s.invoke(OverReportTa.FILL_OVER_REPORT, op);
        return op;
    }

    static int fills(TeeSession s) {
        TeeOperation op = TeeOperation.of(TeeParam.valueOutput());
        s.invoke(OverReportTa.COUNT, op);
        return op.value(0).a();
    }

    static void assertBytes(MemorySegment m, long from, long to, int value, String what) {
        for (long i = from; i < to; i++) {
            assertEquals((byte) value, m.get(ValueLayout.JAVA_BYTE, i), what + ": byte " + i);
        }
    }

    // ---- 5: two contexts on one connection ----

    @Test
    void item5_twoContextsOnOneConnectionHaveTheirOwnHandlesAndState() {
        TeeContext a = alice.tee();
        TeeContext b = alice.tee();
        TeeSession sa = a.openSession(BuiltinTas.HELLO);
        TeeSession sb = b.openSession(BuiltinTas.HELLO);
        TeeSharedMemory ma = a.allocateSharedMemory(64, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
        TeeSharedMemory mb = b.allocateSharedMemory(64, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
        try (TeeSession sc = ctx.openSession(BuiltinTas.HELLO)) {
            assertEquals(2, increment(sa, 1));
            assertEquals(3, increment(sb, 2));
            assertEquals(4, increment(sc, 3));
            a.close();
            assertEquals(TeeResult.ERROR_BAD_STATE, fails(() -> increment(sa, 1)).code(), "a's session is closed");
            // b's session and shared memory, and the first context's session, are untouched by closing a.
            assertEquals(6, increment(sb, 5));
            assertEquals(7, increment(sc, 6));
            sb.invoke(BuiltinTas.HELLO_FILL, TeeOperation.of(TeeParam.valueInput(9, 0),
                    TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, mb, 0, 64)));
            assertBytes(mb.segment(), 0, 64, 9, "b's shared memory");
            TeeException released = fails(() -> sb.invoke(BuiltinTas.HELLO_FILL, TeeOperation.of(
                    TeeParam.valueInput(9, 0), TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, ma, 0, 64))));
            assertEquals(TeeResult.ERROR_BAD_PARAMETERS, released.code(), "a's memory is released");
            assertEquals(TeeResult.ORIGIN_API, released.origin());
        } finally {
            b.close();
        }
        assertEquals(TeeResult.ERROR_BAD_STATE, fails(() -> increment(sb, 1)).code());
    }

    // ---- 6: TeeException, never a plain Java exception ----

    @Test
    void item6_readOnlyTempOutputIsRefusedBeforeTheCall() {
        try (TeeSession s = ctx.openSession(OVER)) {
            int before = fills(s);
            MemorySegment ro = MemorySegment.ofArray(new byte[32]).asReadOnly();
            for (int type : new int[] {TeeParam.MEMREF_TEMP_OUTPUT, TeeParam.MEMREF_TEMP_INOUT}) {
                TeeException e = fails(() -> fillOverReport(s, new TeeParam.TempMemref(type, ro, 32), 1, 0));
                assertEquals(TeeResult.ERROR_BAD_PARAMETERS, e.code());
                assertEquals(TeeResult.ORIGIN_API, e.origin());
                assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            }
            assertEquals(before, fills(s), "the TA never ran");
            // Read-only memory as a temporary INPUT is fine.
            s.invoke(OverReportTa.COUNT, TeeOperation.of(TeeParam.valueOutput(), TeeParam.input(ro)));
        }
    }

    @Test
    void item6_overReportIntoATempMemrefIsNoJavaException() {
        try (TeeSession s = ctx.openSession(OVER)) {
            byte[] buf = new byte[64];
            MemorySegment user = MemorySegment.ofArray(buf);
            user.fill((byte) 0x11);
            // The memref is the first 16 bytes of a 64-byte buffer; the TA reports 16 + 100.
            TeeOperation op = fillOverReport(s, new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, user, 16), 0x7A,
                    100);
            assertEquals(116, op.size(1), "the size the TA reported");
            assertBytes(user, 0, 16, 0x7A, "within the memref");
            assertBytes(user, 16, 64, 0x11, "beyond the memref");
            // The same with heap memory (travels by reference).
            try (HeapBlock h = alice.heap().allocate(64)) {
                h.segment().fill((byte) 0x11);
                TeeOperation hop = fillOverReport(s, new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT,
                        h.segment(), 16), 0x7A, 100);
                assertEquals(116, hop.size(1));
                assertBytes(h.segment(), 0, 16, 0x7A, "heap, within the memref");
                assertBytes(h.segment(), 16, 64, 0x11, "heap, beyond the memref");
            }
        }
    }

    @Test
    void item6_callsAfterTheConnectionIsClosedAreTeeExceptions() throws Exception {
        Ferry dave = Ferry.connect(host.guestSocket(), "dave", host.secret("dave"));
        TeeContext d = dave.tee();
        TeeSession s = d.openSession(BuiltinTas.HELLO);
        TeeSharedMemory m = d.allocateSharedMemory(64, TeeSharedMemory.INPUT);
        assertEquals(2, increment(s, 1));
        dave.close();
        TeeException e = fails(() -> increment(s, 1));
        assertEquals(TeeResult.ERROR_COMMUNICATION, e.code());
        assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
        assertEquals(TeeResult.ERROR_COMMUNICATION, fails(() -> d.openSession(BuiltinTas.HELLO)).code());
        fails(() -> d.allocateSharedMemory(64, TeeSharedMemory.INPUT));
        fails(() -> d.registerSharedMemory(MemorySegment.ofArray(new byte[8]), TeeSharedMemory.INPUT));
        fails(() -> dave.tee().openSession(BuiltinTas.HELLO));
        // Releasing and closing never throw.
        m.close();
        s.close();
        d.close();
    }

    // ---- 7: copy-back stays within the memref's window ----

    @Test
    void item7_overReportIntoAPartialWindowCopiesNothingBeyondIt() {
        try (TeeSession s = ctx.openSession(OVER);
             Arena arena = Arena.ofConfined()) {
            // Registered memory outside the heap (shadowed) and allocated heap memory (by reference).
            MemorySegment outside = arena.allocate(4096);
            try (TeeSharedMemory shadowed = ctx.registerSharedMemory(outside,
                    TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT);
                 TeeSharedMemory heap = ctx.allocateSharedMemory(4096, TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT)) {
                assertTrue(shadowed.shadowed());
                for (TeeSharedMemory m : List.of(shadowed, heap)) {
                    String what = m.shadowed() ? "shadowed" : "heap";
                    // Make the shadow hold stale data: a whole-block call that the TA answers with 0x33 everywhere.
                    fillOverReport(s, TeeParam.whole(m), 0x33, 0);
                    m.segment().fill((byte) 0x11);
                    TeeOperation op = fillOverReport(s, TeeParam.partial(TeeParam.MEMREF_PARTIAL_OUTPUT, m, 100, 50),
                            0x7A, 1000);
                    assertEquals(1050, op.size(1), what + ": the size the TA reported");
                    assertBytes(m.segment(), 0, 100, 0x11, what + ": before the window");
                    assertBytes(m.segment(), 100, 150, 0x7A, what + ": the window");
                    assertBytes(m.segment(), 150, 4096, 0x11, what + ": after the window");
                }
            }
        }
    }

    // ---- 8: cancel after the call returned ----

    @Test
    void item8_cancelAfterTheCallReturnedHasNoEffectOnTheNextCall() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO)) {
            TeeOperation op = TeeOperation.of(TeeParam.valueInout(1, 0));
            s.invoke(BuiltinTas.HELLO_INCREMENT, op);
            op.cancel();
            s.invoke(BuiltinTas.HELLO_INCREMENT, op);
            assertEquals(3, op.value(0).a(), "the second call ran");
            // A cancel requested before an operation's first call still cancels it (GP: started == 0).
            TeeOperation fresh = TeeOperation.of(TeeParam.valueInout(1, 0));
            fresh.cancel();
            assertEquals(TeeResult.ERROR_CANCEL, fails(() -> s.invoke(BuiltinTas.HELLO_INCREMENT, fresh)).code());
        }
    }

    // ---- 9: a null memref of a huge size ----

    @Test
    void item9_nullTempMemrefOfAHugeSizeIsRefused() {
        try (TeeSession s = ctx.openSession(OVER)) {
            int before = fills(s);
            for (long size : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 4094, MIB + 1}) {
                TeeException e = fails(() -> fillOverReport(s,
                        new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, null, size), 0, 0));
                assertEquals(TeeResult.ERROR_BAD_PARAMETERS, e.code(), "size " + size);
                assertEquals(TeeResult.ORIGIN_COMMS, e.origin(), "the host refused size " + size);
            }
            assertEquals(before, fills(s), "the TA never saw them");
            // 1 MiB, the stated limit, reaches the TA, which learns the size.
            TeeOperation op = fillOverReport(s, new TeeParam.TempMemref(TeeParam.MEMREF_TEMP_OUTPUT, null, MIB), 0, 0);
            assertEquals(MIB, op.size(1));
        }
    }

    // ---- 10: a guest without the tee service ----

    @Test
    void item10_aGuestWithoutTheTeeServiceIsToldHowToGetIt() throws Exception {
        try (Ferry carol = Ferry.connect(host.guestSocket(), "carol", host.secret("carol"));
             TeeContext c = carol.tee()) {
            TeeException e = fails(() -> c.openSession(BuiltinTas.HELLO));
            assertEquals(TeeResult.ERROR_ACCESS_DENIED, e.code());
            assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
            assertTrue(e.getMessage().contains("no tee service") && e.getMessage().contains("services:"),
                    e.getMessage());
            TeeException shm = fails(() -> c.allocateSharedMemory(64, TeeSharedMemory.INPUT));
            assertEquals(TeeResult.ERROR_ACCESS_DENIED, shm.code());
        }
    }

    // ---- 11: 1 MiB at any heap offset ----

    @Test
    void item11_oneMiBAtAnUnalignedHeapOffsetIsAccepted() {
        try (TeeSession s = ctx.openSession(BuiltinTas.HELLO);
             HeapBlock h = alice.heap().allocate(MIB + 4096)) {
            MemorySegment data = h.segment().asSlice(64, MIB);
            data.fill((byte) 1);
            try (TeeSharedMemory m = ctx.registerSharedMemory(data, TeeSharedMemory.INPUT)) {
                assertTrue(!m.shadowed(), "heap memory travels by reference");
                TeeOperation op = TeeOperation.of(TeeParam.whole(m), TeeParam.valueOutput());
                s.invoke(BuiltinTas.HELLO_CHECKSUM, op);
                assertEquals(MIB, op.value(1).b() & 0xFFFF_FFFFL, "the TA saw 1 MiB");
            }
            // As a temporary memref too.
            TeeOperation op = TeeOperation.of(TeeParam.input(data), TeeParam.valueOutput());
            s.invoke(BuiltinTas.HELLO_CHECKSUM, op);
            assertEquals(MIB, op.value(1).b() & 0xFFFF_FFFFL);
            // One byte more is over the limit, at any offset.
            MemorySegment over = h.segment().asSlice(64, MIB + 1);
            TeeException e = fails(() -> ctx.registerSharedMemory(over, TeeSharedMemory.INPUT));
            assertEquals(TeeResult.ERROR_OUT_OF_MEMORY, e.code());
            assertEquals(TeeResult.ORIGIN_COMMS, e.origin());
        }
    }
}
