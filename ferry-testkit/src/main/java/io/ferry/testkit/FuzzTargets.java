package io.ferry.testkit;

import io.ferry.host.compute.Devices;
import io.ferry.host.session.ProtocolViolation;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Coverage-guided fuzz targets (Jazzer) for every decoder a guest reaches: the ring frame ({@link Ring}), each call's
 * arguments ({@link Calls}), the TEE parameters ({@link Tee}) and HELLO ({@link Hello}). Each nested class is a Jazzer
 * target ({@code fuzzerTestOneInput}); the {@code @FuzzTest}s in ferry-testkit's tests call the same methods, and
 * {@code FuzzProbes} in ferry-bench runs them with the standalone driver.
 *
 * <p>The invariant of every target: nothing but the documented outcomes comes out of the host code. For the ring
 * that is {@link RingCorruptedException}; for a session it is a completion of a known status other than INTERNAL, or
 * a {@link ProtocolViolation} that ends the session (the endpoint then closes it, which must not throw either). Any
 * other {@code Throwable} escaping is a finding, and so is a completion the guest could not parse, a record the
 * ring hands out that is not a private copy inside its bounds, or a HELLO accepted with a wrong credential or name.
 *
 * <p>Jazzer hands each target a {@link FuzzedDataProvider}; the targets read its bytes through {@link FuzzInput}, front
 * to back (structure choices, arguments and payload in call order), so {@link Seeds} can write the seed corpus.
 */
public final class FuzzTargets {
    private FuzzTargets() {
    }

    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    private static final Logger HOST = Logger.getLogger("ferry.host");

    /**
     * Runs one input with the host's audit and info lines off (sessions open and end by the thousand), restoring
     * the levels after it, so tests that share the JVM still see their lines.
     */
    private static void quietly(FuzzInput d, java.util.function.Consumer<FuzzInput> target) {
        Level audit = AUDIT.getLevel();
        Level host = HOST.getLevel();
        AUDIT.setLevel(Level.OFF);
        HOST.setLevel(Level.SEVERE);
        try {
            target.accept(d);
        } finally {
            AUDIT.setLevel(audit);
            HOST.setLevel(host);
        }
    }

    /** A property of the host code was broken: Jazzer reports it as a finding with the input. */
    public static final class Finding extends AssertionError {
        public Finding(String message) {
            super(message);
        }
    }

    /**
     * Target: all five in one process, picked by the first byte of the input (0 ring, 1 calls, 2 tee, 3 hello,
     * 4 header): one JVM and one instrumentation pass for a short bounded run. Its seeds are the four targets' seeds, each behind
     * its selector byte ({@link #allSeed}).
     */
    public static final class All {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::all);
        }
    }

    /** The targets of {@link All}, in selector order. */
    public static final java.util.List<String> ALL = java.util.List.of("ring", "calls", "tee", "hello", "header");

    static void all(FuzzInput d) {
        switch (d.consumeInt(0, 4)) {
            case 0 -> ring(d);
            case 1 -> calls(d);
            case 2 -> tee(d);
            case 3 -> hello(d);
            default -> header(d);
        }
    }

    /** A seed of target {@code name} as an input of {@link All}. */
    public static byte[] allSeed(String name, byte[] seed) {
        byte[] b = new byte[seed.length + 1];
        b[0] = (byte) ALL.indexOf(name);
        System.arraycopy(seed, 0, b, 1, seed.length);
        return b;
    }

    // ---- (a) the ring frame ------------------------------------------------------------------------------------

    /** Target: {@link SpscRing} against a hostile peer that writes HEAD, TAIL and every record byte. */
    public static final class Ring {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::ring);
        }
    }

    private static final int RING_MAX = 1024;
    private static final ThreadLocal<MemorySegment> RING_MEMORY = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(RegionDescriptor.RING_DATA_OFFSET + RING_MAX, 64));

    /**
     * Consumer side (the host reading commands): the peer sets HEAD, TAIL and the data, the ring is attached and
     * polled a few rounds while the peer moves TAIL and rewrites bytes between rounds. Producer side (the host
     * writing completions): the peer sets HEAD, the host claims and publishes records.
     */
    /** The target on a Jazzer input. */
    public static void ring(FuzzedDataProvider d) {
        quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::ring);
    }

    static void ring(FuzzInput d) {
        int capacity = 1 << d.consumeInt(4, 10);
        MemorySegment section = RING_MEMORY.get().asSlice(0, RegionDescriptor.RING_DATA_OFFSET + capacity);
        section.fill((byte) 0);
        boolean consumer = d.consumeBoolean();
        section.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_HEAD_OFFSET, position(d, capacity));
        section.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET, position(d, capacity));
        int rounds = d.consumeInt(1, 6);
        byte[] data = d.consumeBytes(capacity);
        MemorySegment.copy(data, 0, section, ValueLayout.JAVA_BYTE, RegionDescriptor.RING_DATA_OFFSET, data.length);
        SpscRing ring = new SpscRing("fuzz", section, capacity);
        long before = section.address();
        long after = before + section.byteSize();
        RingCheck check = new RingCheck(before, after, ring.maxRecordLength());
        for (int round = 0; round < rounds; round++) {
            try {
                if (consumer) {
                    ring.poll(check, d.consumeInt(1, 64));
                } else {
                    int length = d.consumeInt(RegionDescriptor.FRAME_HEADER_LENGTH, ring.maxRecordLength());
                    long at = ring.tryClaim(d.consumeInt(0, Integer.MAX_VALUE), length);
                    if (at != -1 && (at < RegionDescriptor.RING_DATA_OFFSET || at + length > section.byteSize())) {
                        throw new Finding("tryClaim returned offset " + at + " for " + length + " bytes in a "
                                + capacity + "-byte ring");
                    }
                    ring.publish();
                }
            } catch (RingCorruptedException e) {
                // documented: the session ends; a reset (reconnect) must make the ring usable again
                ring.reset();
            }
            // the hostile peer moves its position word and rewrites bytes between rounds
            int what = d.consumeInt(0, 3);
            long word = what == 0 ? d.consumeLong() : 8L * d.consumeInt(0, 2 * capacity / 8);
            section.set(ValueLayout.JAVA_LONG, consumer ? RegionDescriptor.RING_TAIL_OFFSET
                    : RegionDescriptor.RING_HEAD_OFFSET, word);
            if (what == 1) {
                byte[] more = d.consumeBytes(64);
                long at = 8L * d.consumeInt(0, capacity / 8 - 1);
                int n = (int) Math.min(more.length, capacity - at);
                MemorySegment.copy(more, 0, section, ValueLayout.JAVA_BYTE, RegionDescriptor.RING_DATA_OFFSET + at, n);
            }
        }
    }

    /** HEAD or TAIL as a hostile peer writes it: mostly plausible (8-aligned, near the data), sometimes anything. */
    private static long position(FuzzInput d, int capacity) {
        return switch (d.consumeInt(0, 3)) {
            case 0 -> d.consumeLong();
            case 1 -> d.consumeInt(-64, 4 * capacity);
            default -> 8L * d.consumeInt(0, 2 * capacity / 8);
        };
    }

    /** What a record handed out by the ring must be: a private copy of a sane length and type. */
    private record RingCheck(long sectionStart, long sectionEnd, int maxRecordLength)
            implements io.ferry.channel.RecordHandler {
        @Override
        public void onRecord(int type, MemorySegment rec, int length) {
            if (type < 0 || length < RegionDescriptor.FRAME_HEADER_LENGTH || length > maxRecordLength
                    || rec.byteSize() < length) {
                throw new Finding("ring handed out type " + type + " length " + length + " in a segment of "
                        + rec.byteSize() + " bytes (max record " + maxRecordLength + ")");
            }
            long a = rec.address();
            if (a < sectionEnd && a + length > sectionStart) {
                throw new Finding("ring handed out guest memory itself (a double fetch is possible), not a copy");
            }
            rec.get(ValueLayout.JAVA_BYTE, length - 1);
            RING_RECORDS.incrementAndGet();
        }
    }

    // ---- (e) the region header: what the host reads when it re-attaches a region a guest has written ------------

    /** Target: {@code Region.open} of a region file whose static header and size the fuzzer edited. */
    public static final class Header {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::header);
        }
    }

    /** The target on a Jazzer input. */
    public static void header(FuzzedDataProvider d) {
        quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::header);
    }

    private static final class HeaderFiles {
        static final Path DIR;
        static final Path FILE;
        static final byte[] VALID;
        static final long SIZE;

        static {
            try {
                Path base = Path.of("/dev/shm");
                DIR = java.nio.file.Files.createTempDirectory(java.nio.file.Files.isDirectory(base) ? base
                        : Path.of(System.getProperty("java.io.tmpdir")), "ferry-fuzz-header-");
                DIR.toFile().deleteOnExit();
                Path valid = DIR.resolve("valid.region");
                SIZE = io.ferry.channel.RegionLayout.minimumRegionSize();
                try (io.ferry.channel.Region r = io.ferry.channel.Region.create(valid, GUEST,
                        io.ferry.channel.RegionLayout.forSize(SIZE), new byte[32])) {
                    VALID = java.util.Arrays.copyOf(java.nio.file.Files.readAllBytes(valid),
                            RegionDescriptor.HEADER_SIZE);
                }
                java.nio.file.Files.delete(valid);
                FILE = DIR.resolve("fuzz.region");
                FILE.toFile().deleteOnExit();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /**
     * A valid header, then a few edits (a long or a byte anywhere in the header) and sometimes another file size;
     * the host opens it. Only {@link io.ferry.channel.RegionException} may come out; a region that opens has every
     * section inside the mapping (touched at both ends).
     */
    static void header(FuzzInput d) {
        byte[] h = HeaderFiles.VALID.clone();
        MemorySegment hs = MemorySegment.ofArray(h);
        for (int i = 0, n = d.consumeInt(0, 8); i < n; i++) {
            switch (d.consumeInt(0, 3)) {
                case 0 -> hs.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * d.consumeInt(0, 511), d.consumeLong());
                case 1 -> hs.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * d.consumeInt(0, 15), 1L << d.consumeInt(0, 63));
                case 2 -> hs.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * d.consumeInt(0, 15),
                        hs.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * d.consumeInt(0, 15)) + d.consumeInt(-8, 8) * 4096L);
                default -> h[d.consumeInt(0, h.length - 1)] = (byte) d.consumeInt(0, 255);
            }
        }
        long size = switch (d.consumeInt(0, 7)) {
            case 0 -> d.consumeInt(0, RegionDescriptor.HEADER_SIZE + 64);
            case 1 -> HeaderFiles.SIZE + 4096L * d.consumeInt(-64, 64);
            default -> HeaderFiles.SIZE;
        };
        size = Math.max(0, size);
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(HeaderFiles.FILE,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            c.write(java.nio.ByteBuffer.wrap(h, 0, (int) Math.min(h.length, size)));
            if (size > h.length) {
                c.write(java.nio.ByteBuffer.allocate(1), size - 1);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try (io.ferry.channel.Region r = io.ferry.channel.Region.open(HeaderFiles.FILE)) {
            if (r.header().regionSize() > size) {
                throw new Finding("a region of " + r.header().regionSize() + " bytes opened from a file of " + size);
            }
            for (SpscRing ring : new SpscRing[] {r.commandRing(), r.completionRing()}) {
                MemorySegment seg = ring.segment();
                seg.get(ValueLayout.JAVA_BYTE, 0);
                seg.get(ValueLayout.JAVA_BYTE, seg.byteSize() - 1);
            }
            MemorySegment heap = r.heap();
            heap.get(ValueLayout.JAVA_BYTE, 0);
            heap.get(ValueLayout.JAVA_BYTE, heap.byteSize() - 1);
            HEADERS_OPENED.incrementAndGet();
        } catch (io.ferry.channel.RegionException e) {
            // documented: the header is refused with a message naming the field
            HEADERS_REFUSED.incrementAndGet();
        }
    }

    // ---- (b) calls, (c) TEE parameters, (d) HELLO: one session, fed through a real command ring -----------------

    /** Target: every op with fuzzed arguments, blobs and framing, after a valid HELLO (mostly). */
    public static final class Calls {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::calls);
        }
    }

    /** Target: the TEE ops with fuzzed parameter blocks, memrefs into the heap and shared-memory registrations. */
    public static final class Tee {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::tee);
        }
    }

    /** Target: HELLO with fuzzed magic, version, credential and name, then a call. */
    public static final class Hello {
        public static void fuzzerTestOneInput(FuzzedDataProvider d) {
            quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::hello);
        }
    }

    /** Replies of the session targets by status, and records the ring target handed out: what the inputs reached. */
    static final Map<Status, Long> REPLIES = java.util.Collections.synchronizedMap(new EnumMap<>(Status.class));
    static final java.util.concurrent.atomic.AtomicLong RING_RECORDS = new java.util.concurrent.atomic.AtomicLong();
    /** Region headers the header target saw opened, and refused. */
    static final java.util.concurrent.atomic.AtomicLong HEADERS_OPENED = new java.util.concurrent.atomic.AtomicLong();
    static final java.util.concurrent.atomic.AtomicLong HEADERS_REFUSED = new java.util.concurrent.atomic.AtomicLong();

    static final String GUEST = "fuzz";
    static final UUID TA = UUID.fromString("5eed5eed-0000-4000-8000-00000000f022");
    static final long[] CREDENTIAL = {0x0123456789abcdefL, 0x1122334455667788L, -1L, 42L};
    static final int HEAP = 64 << 10;
    static final int RING = 1 << 14;
    private static final Op[] OPS = Op.values();

    private static final ThreadLocal<FuzzHarness> HARNESS = ThreadLocal.withInitial(() -> new FuzzHarness(
            Devices.of(List.of(new FuzzBackend()), List.of())));

    /** The target on a Jazzer input. */
    public static void calls(FuzzedDataProvider d) {
        quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::calls);
    }

    static void calls(FuzzInput d) {
        FuzzHarness h = HARNESS.get();
        h.open();
        try {
            if (!h.hello(d.consumeInt(0, 15) == 0 ? d : null)) {
                return;
            }
            for (int i = 0; i < 48 && d.remainingBytes() > 0 && h.alive(); i++) {
                h.call(d, pickOp(d));
            }
        } finally {
            h.close();
        }
    }

    /** The target on a Jazzer input. */
    public static void tee(FuzzedDataProvider d) {
        quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::tee);
    }

    static void tee(FuzzInput d) {
        FuzzHarness h = HARNESS.get();
        h.open();
        try {
            if (!h.hello(null)) {
                return;
            }
            for (int i = 0; i < 32 && d.remainingBytes() > 0 && h.alive(); i++) {
                Op op = switch (d.consumeInt(0, 6)) {
                    case 0 -> Op.TEE_OPEN_SESSION;
                    case 1, 2, 3 -> Op.TEE_INVOKE;
                    case 4 -> Op.TEE_SHM_REGISTER;
                    case 5 -> Op.TEE_SHM_RELEASE;
                    default -> Op.TEE_CLOSE_SESSION;
                };
                h.call(d, op.code());
            }
        } finally {
            h.close();
        }
    }

    /** The target on a Jazzer input. */
    public static void hello(FuzzedDataProvider d) {
        quietly(new FuzzInput(d.consumeRemainingAsBytes()), FuzzTargets::hello);
    }

    static void hello(FuzzInput d) {
        FuzzHarness h = HARNESS.get();
        h.open();
        try {
            boolean open = false;
            for (int i = 0; i < 3 && !open && d.remainingBytes() > 0 && h.alive(); i++) {
                open = h.hello(d);
            }
            if (h.alive()) {
                int type = pickOp(d);
                h.written = false;
                h.call(d, type);
                if (!open && h.written && type != Op.HELLO.code() && h.alive()) {
                    throw new Finding("op " + type + " was served before a successful HELLO");
                }
            }
        } finally {
            h.close();
        }
    }

    /** Ops by code, or (rarely) a raw opcode: unknown, padding-like, the session-closed type. */
    private static int pickOp(FuzzInput d) {
        int i = d.consumeInt(0, OPS.length);
        return i < OPS.length ? OPS[i].code() : d.consumeInt();
    }

    // ---- input ----------------------------------------------------------------------------------------------

    /** Writes inputs in {@link FuzzInput}'s format: each value in the order the target reads it. */
    public static final class Seeds {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        private Seeds write(long v, int n) {
            for (int k = 0; k < n; k++) {
                out.write((int) (v >>> (8 * k)));
            }
            return this;
        }

        /** The value {@code v} for a {@code consumeInt(min, max)}. */
        public Seeds i(int min, int max, int v) {
            if (v < min || v > max) {
                throw new IllegalArgumentException(v + " is outside [" + min + ", " + max + "]");
            }
            return write((long) v - min, FuzzInput.bytesFor((long) max - min));
        }

        /** A full-range {@code consumeInt()}. */
        public Seeds i(int v) {
            return write(v, 4);
        }

        public Seeds bool(boolean v) {
            return write(v ? 1 : 0, 1);
        }

        public Seeds l(long v) {
            return write(v, 8);
        }

        /** Bytes for a {@code consumeBytes(n)} with n == bytes.length. */
        public Seeds bytes(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        public byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
