package io.ferry.host;

import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import io.ferry.host.RawGuest.Reply;

/**
 * Seeded fuzzing of a real host: a {@link FerryHost} with three guests on real regions in {@code /dev/shm}, served
 * by the real endpoint and session code, driven through {@link RawGuest}s.
 *
 * <ul>
 *   <li><b>call level</b> (guest {@code fuzz-calls}): batches of well-framed calls whose arguments are drawn to
 *       hit the checks: own handles of the right and wrong kind, released and never-created handles, handles of
 *       another guest's session, heap ranges past the end or overlapping it, buffer ranges past a buffer's end, zero
 *       and negative sizes, huge sizes (quotas), random kernel argument indices and values, random launch geometry
 *       (bounded to small totals: see below), one-way and reply-requesting calls mixed. The session holds real
 *       objects first (a context, queue, buffers, a built program and its kernel with arguments set; re-created
 *       when a fuzzed RELEASE takes one), and the fuzzed calls mostly name live objects, including those earlier
 *       fuzzed creations made (creations ask for a reply so the fuzzer knows which exist), with transfer ranges
 *       that fit half the time: so most calls reach the backend, not only the handle checks. Each batch ends with
 *       a NOP barrier; none of these calls may end the session. {@link Result#replies} counts the replies by
 *       status.</li>
 *   <li><b>ring level</b> (guest {@code fuzz-ring}): each case connects, creates a few objects, then breaks the
 *       protocol: random and mutated records, bad frame lengths (0, odd, huge, crossing the end), negative types,
 *       corrupted TAIL, unknown opcodes, unknown flags, blob length mismatches, a second HELLO, calls before HELLO,
 *       a completion ring the guest never drains or whose HEAD it corrupts. The host may end the session
 *       (expected) or not; either way the next case reconnects.</li>
 * </ul>
 *
 * Properties, each counted as a host failure when broken: the host never logs SEVERE (an endpoint died or an
 * internal error), never answers INTERNAL, never ends the call-level session, always acknowledges a reconnect and
 * answers within a deadline; a fresh session starts at zero objects and zero device memory in
 * {@link FerryHost#guests()}, and once a session has ended the guest's figures read zero; the well-behaved guest
 * {@code good} gets a correct vadd (or NOP echo when the host has no OpenCL C device) every few batches.
 *
 * <p>Launches of valid geometry are kept to at most 16 work-items per dimension: the host puts no bound on launch
 * size (a guest may occupy its device for as long as it likes), which is a scheduling matter, not a memory-safety
 * one, and would only make the fuzzer slow.
 */
public final class SessionFuzzer {
    private static final Logger LOG = Logger.getLogger("ferry.fuzz");
    private static final long TIMEOUT = 10_000_000_000L;
    /** Handles of the well-behaved guest: numbers the hostile guests never create, so they are foreign there. */
    static final long GOOD_BASE = 1_000_000;
    static final String SAFE_KERNEL = """
            __kernel void k(__global uchar* a, __global const uchar* b, uchar s) {
                if (get_global_id(0) == 0 && get_global_id(1) == 0 && get_global_id(2) == 0) { a[0] = (uchar)(b[0] + s); }
            }
            """;
    static final String VADD = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, float k) {
                size_t i = get_global_id(0);
                c[i] = a[i] + k * b[i];
            }
            """;
    private static final int BATCH = 48;
    private static final int MAX_REPLIES = 24;
    /** Quotas of the hostile guests: small, so huge sizes and handle floods hit them. */
    static final Quotas HOSTILE_QUOTAS = new Quotas(4L << 20, 64, 32);

    /** What a run did. {@code hostFailures} counts property violations; {@code failures} describes the first ones. */
    public record Result(long cases, double casesPerSecond, long hostFailures, List<String> failures, long callCases,
                         long ringCases, long sessionsEndedByHost, long goodChecks, Map<Status, Long> replies,
                         Duration elapsed) {
        /** The share of the call-level replies with {@code status}, 0 to 1. */
        public double share(Status status) {
            long all = replies.values().stream().mapToLong(Long::longValue).sum();
            return all == 0 ? 0 : replies.getOrDefault(status, 0L) / (double) all;
        }
    }

    private final SplittableRandom rnd;
    private final FerryHost host;
    private final Devices devices;
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private long failureCount;
    private final Map<Status, Long> replies = new EnumMap<>(Status.class);
    private final boolean openclC;
    private RawGuest calls;
    private RawGuest ring;
    private RawGuest good;
    private long nextHandle;
    private final List<Long> pool = new ArrayList<>();
    /** Objects the call-level session holds now (base objects included), by the op that created them. */
    private final Map<Long, Op> live = new java.util.HashMap<>();
    /** Creations awaiting their reply: sequence number to {handle, op code}. */
    private final Map<Long, long[]> pendingCreates = new java.util.HashMap<>();
    /** Base objects released by the fuzzed calls of this batch: re-created after it. */
    private boolean baseLost;
    private long callCases;
    private long ringCases;
    private long sessionsEnded;
    private long goodChecks;
    private Thread beater;

    private SessionFuzzer(long seed, FerryHost host, Devices devices) {
        this.rnd = new SplittableRandom(seed);
        this.host = host;
        this.devices = devices;
        Devices.Device d = devices.get(0);
        this.openclC = d != null && d.info().languages().contains(SourceLanguage.OPENCL_C);
    }

    /** Runs with log lines at INFO every few seconds. */
    public static Result run(long seed, long cases, Duration limit, Devices devices) throws IOException {
        return run(seed, cases, limit, devices, LOG::info);
    }

    /**
     * Starts a host on {@code devices} in a temporary directory under {@code /dev/shm}, fuzzes it until {@code cases}
     * cases have run or {@code limit} has passed, stops it and removes the directory.
     *
     * @param progress receives a progress line about every 5 s and a summary at the end
     */
    public static Result run(long seed, long cases, Duration limit, Devices devices, Consumer<String> progress)
            throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-fuzz-");
        List<HostConfig.GuestConfig> guests = List.of(
                hostile("fuzz-calls"), hostile("fuzz-ring"), new HostConfig.GuestConfig("good", 4L << 20));
        Logger hostLog = Logger.getLogger("ferry.host");
        Level before = hostLog.getLevel();
        SevereCounter severe = new SevereCounter();
        // Thousands of sessions end on purpose: keep the host's INFO and WARNING lines out, watch for SEVERE.
        hostLog.setLevel(Level.SEVERE);
        hostLog.addHandler(severe);
        FerryHost host = FerryHost.start(new HostConfig(dir, false, List.of(), guests), devices);
        try {
            SessionFuzzer f = new SessionFuzzer(seed, host, devices);
            severe.fuzzer = f;
            return f.loop(cases, limit, progress);
        } finally {
            host.close();
            hostLog.removeHandler(severe);
            hostLog.setLevel(before);
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static HostConfig.GuestConfig hostile(String name) {
        return new HostConfig.GuestConfig(name, 2L << 20, null, HostConfig.SchedClass.BEST_EFFORT, 1,
                Set.of("compute", "tee"), HOSTILE_QUOTAS);
    }

    private Result loop(long cases, Duration limit, Consumer<String> progress) {
        long start = System.nanoTime();
        long end = start + limit.toNanos();
        long nextReport = start + 5_000_000_000L;
        try {
            good = new RawGuest(host.regionPath("good"));
            calls = new RawGuest(host.regionPath("fuzz-calls"));
            calls.onReply = this::tally;
            ring = new RawGuest(host.regionPath("fuzz-ring"));
            // Like the client library's Heartbeat: the fuzzer's own waits (a worker starting, a 2 s await) must not
            // make the host's watchdog end a session that the fuzzer still uses.
            beater = Thread.ofPlatform().name("ferry-fuzz-heartbeat").daemon(true).start(() -> {
                for (long b = 1L << 40; !Thread.currentThread().isInterrupted(); b++) {
                    for (RawGuest g : new RawGuest[] {good, calls, ring}) {
                        g.region.guestHeartbeat(b);
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            goodSetup();
            callsSetup();
            long batches = 0;
            while (callCases + ringCases < cases && System.nanoTime() < end) {
                good.beat();
                callBatch();
                batches++;
                if (batches % 4 == 0) {
                    ringCase();
                }
                if (batches % 16 == 0) {
                    goodCheck();
                }
                if (batches % 400 == 0) {
                    // A fresh call-level session now and then: its figures must start at zero again.
                    callsSetup();
                }
                long now = System.nanoTime();
                if (now > nextReport) {
                    nextReport = now + 5_000_000_000L;
                    double s = (now - start) / 1e9;
                    progress.accept(String.format("fuzz: %d cases (%d call, %d ring) in %.0f s, %.0f/s, %d host failures",
                            callCases + ringCases, callCases, ringCases, s, (callCases + ringCases) / s, failureCount));
                }
            }
            goodCheck();
        } catch (RawGuest.HostStuck e) {
            fail("host stopped answering: " + e.getMessage());
        } catch (RuntimeException e) {
            fail("fuzzer stopped on " + e);
        } finally {
            if (beater != null) {
                beater.interrupt();
                try {
                    beater.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (RawGuest g : new RawGuest[] {good, calls, ring}) {
                if (g != null) {
                    g.close();
                }
            }
        }
        long elapsed = System.nanoTime() - start;
        long total = callCases + ringCases;
        Result r = new Result(total, total / (elapsed / 1e9), failureCount, List.copyOf(failures), callCases,
                ringCases, sessionsEnded, goodChecks, Map.copyOf(replies), Duration.ofNanos(elapsed));
        progress.accept(String.format("fuzz done: %d cases (%d call, %d ring), %.0f cases/s, %d host failures, "
                        + "%d sessions ended by the host, %d good-guest checks", total, callCases, ringCases,
                r.casesPerSecond(), failureCount, sessionsEnded, goodChecks));
        return r;
    }

    synchronized void fail(String what) {
        failureCount++;
        if (failures.size() < 20) {
            failures.add(what);
        }
        LOG.warning("fuzz property violated: " + what);
    }

    // ---- the well-behaved guest --------------------------------------------------------------------------------

    private static final int N = 256;

    private void goodSetup() {
        expectOk(good.connect(TIMEOUT), "good: HELLO");
        if (!openclC) {
            return;
        }
        long g = GOOD_BASE;
        good.put(Op.CONTEXT_CREATE, false, null, g + 1, 0);
        good.put(Op.QUEUE_CREATE, false, null, g + 2, g + 1, 0, 0);
        for (int i = 0; i < 3; i++) {
            good.put(Op.BUFFER_CREATE, false, null, g + 3 + i, g + 1, 4L * N, 0, -1);
        }
        good.put(Op.PROGRAM_CREATE, false, Wire.utf8(VADD), g + 6, g + 1, SourceLanguage.OPENCL_C.code());
        expectOk(good.call(Op.PROGRAM_BUILD, new byte[0], TIMEOUT, g + 6), "good: build vadd");
        expectOk(good.call(Op.KERNEL_CREATE, Wire.utf8("vadd"), TIMEOUT, g + 7, g + 6), "good: kernel vadd");
        for (int i = 0; i < 3; i++) {
            good.put(Op.KERNEL_ARG_BUFFER, false, null, g + 7, i, g + 3 + i);
        }
        good.put(Op.KERNEL_ARG_VALUE, false, floatBytes(0.5f), g + 7, 3);
        expectOk(good.call(Op.FINISH, null, TIMEOUT, g + 2), "good: set-up finish");
    }

    private void goodCheck() {
        goodChecks++;
        good.beat();
        long v = rnd.nextLong();
        Reply r = good.call(Op.NOP, null, TIMEOUT, v);
        if (r == null || !r.ok() || r.r0() != v) {
            fail("good guest: NOP round trip answered " + describe(r) + ", expected OK echoing " + v);
            reconnectGood();
            return;
        }
        if (!openclC) {
            return;
        }
        long g = GOOD_BASE;
        MemorySegment heap = good.region.heap();
        float[] a = new float[N];
        float[] b = new float[N];
        for (int i = 0; i < N; i++) {
            a[i] = rnd.nextInt(1000);
            b[i] = rnd.nextInt(1000);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, i, a[i]);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, N + i, b[i]);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, 2 * N + i, -1f);
        }
        good.put(Op.BUFFER_WRITE, false, null, g + 2, g + 3, 0, 4L * N, 0, 0);
        good.put(Op.BUFFER_WRITE, false, null, g + 2, g + 4, 0, 4L * N, 4L * N, 0);
        good.put(Op.LAUNCH, false, null, g + 2, g + 7, 1, 0, 0, 0, N, 1, 1, 64, 1, 1, 0);
        good.put(Op.BUFFER_READ, false, null, g + 2, g + 5, 0, 4L * N, 8L * N, 0);
        Reply f = good.call(Op.FINISH, null, TIMEOUT, g + 2);
        if (f == null || !f.ok()) {
            fail("good guest: vadd finish answered " + describe(f));
            reconnectGood();
            return;
        }
        for (int i = 0; i < N; i++) {
            float c = heap.getAtIndex(ValueLayout.JAVA_FLOAT, 2 * N + i);
            if (c != a[i] + 0.5f * b[i]) {
                fail("good guest: vadd result " + i + " is " + c + ", expected " + (a[i] + 0.5f * b[i]));
                return;
            }
        }
    }

    private void reconnectGood() {
        goodSetup();
    }

    private static byte[] floatBytes(float f) {
        int bits = Float.floatToRawIntBits(f);
        return new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)};
    }

    // ---- call level --------------------------------------------------------------------------------------------

    // Base objects of the call-level session.
    private static final long CTX = 1, QUEUE = 2, BUF = 3, HEAP_BUF = 4, PROG = 5, KERNEL = 6;
    private static final long BUF_SIZE = 4096;

    private void callsSetup() {
        long before = calls.sessionId();
        expectOk(calls.connect(TIMEOUT), "fuzz-calls: HELLO");
        checkFresh("fuzz-calls", before, calls.sessionId());
        live.clear();
        pendingCreates.clear();
        createBase();
        nextHandle = 100;
        pool.clear();
    }

    /**
     * The real objects every batch starts from: a context on device 0, a queue, a device buffer, a buffer over the
     * end of the heap, a built program and its kernel with all arguments set. Released ones are re-created (after
     * releasing the rest, so no object of an old context mixes with the new one).
     */
    private void createBase() {
        for (long h = KERNEL; h >= CTX; h--) {
            // RELEASE is idempotent: also frees a base number a fuzzed creation may have taken
            live.remove(h);
            calls.put(Op.RELEASE, false, null, h);
        }
        calls.put(Op.CONTEXT_CREATE, false, null, CTX, 0);
        calls.put(Op.QUEUE_CREATE, false, null, QUEUE, CTX, 0, 0);
        calls.put(Op.BUFFER_CREATE, false, null, BUF, CTX, BUF_SIZE, 0, -1);
        calls.put(Op.BUFFER_CREATE, false, null, HEAP_BUF, CTX, BUF_SIZE, 0, heapSize(calls) - BUF_SIZE);
        calls.put(Op.PROGRAM_CREATE, false, Wire.utf8(SAFE_KERNEL), PROG, CTX, SourceLanguage.OPENCL_C.code());
        calls.call(Op.PROGRAM_BUILD, new byte[0], TIMEOUT, PROG);
        calls.call(Op.KERNEL_CREATE, Wire.utf8("k"), TIMEOUT, KERNEL, PROG);
        calls.put(Op.KERNEL_ARG_BUFFER, false, null, KERNEL, 0, BUF);
        calls.put(Op.KERNEL_ARG_BUFFER, false, null, KERNEL, 1, HEAP_BUF);
        calls.put(Op.KERNEL_ARG_VALUE, false, new byte[] {3}, KERNEL, 2);
        // (its status may be a sticky failure of the batch before: not the base objects')
        calls.call(Op.FINISH, null, TIMEOUT, QUEUE);
        live.put(CTX, Op.CONTEXT_CREATE);
        live.put(QUEUE, Op.QUEUE_CREATE);
        live.put(BUF, Op.BUFFER_CREATE);
        live.put(HEAP_BUF, Op.BUFFER_CREATE);
        live.put(PROG, Op.PROGRAM_CREATE);
        live.put(KERNEL, Op.KERNEL_CREATE);
        baseLost = false;
    }

    /** A fresh session of {@code guest} must start at zero objects and zero device memory. */
    private void checkFresh(String guest, long oldSession, long newSession) {
        for (FerryHost.GuestView v : host.guests()) {
            if (!v.name().equals(guest)) {
                continue;
            }
            if (v.sessionId() == newSession && (v.objects() != 0 || v.deviceMemoryBytes() != 0)) {
                fail(guest + ": fresh session " + newSession + " starts with " + v.objects() + " objects and "
                        + v.deviceMemoryBytes() + " bytes of device memory");
            }
            if (v.sessionId() == oldSession && oldSession != 0) {
                fail(guest + ": the host still reports old session " + oldSession + " after a reconnect");
            }
        }
    }

    private static long heapSize(RawGuest g) {
        return g.region.heap().byteSize();
    }

    private static final Op[] CALL_OPS = {
            Op.NOP, Op.DEVICE_INFO, Op.CONTEXT_CREATE, Op.QUEUE_CREATE, Op.BUFFER_CREATE, Op.PROGRAM_CREATE,
            Op.PROGRAM_BUILD, Op.KERNEL_CREATE, Op.RELEASE, Op.KERNEL_ARG_BUFFER, Op.KERNEL_ARG_VALUE,
            Op.KERNEL_ARG_LOCAL, Op.BUFFER_WRITE, Op.BUFFER_READ, Op.BUFFER_COPY, Op.BUFFER_FILL, Op.LAUNCH,
            Op.FINISH, Op.EVENT_WAIT, Op.TEE_OPEN_SESSION, Op.TEE_INVOKE, Op.TEE_CLOSE_SESSION, Op.TEE_SHM_REGISTER,
            Op.TEE_SHM_RELEASE};
    /** Weights: the enqueue and argument calls, which reach the most checks, come up most. */
    private static final int[] CALL_WEIGHTS = {
            2, 1, 2, 2, 6, 1,
            1, 2, 8, 5, 5,
            3, 10, 10, 8, 8, 10,
            3, 2, 1, 1, 1, 1,
            1};

    private Op pickOp() {
        int total = 0;
        for (int w : CALL_WEIGHTS) {
            total += w;
        }
        int x = rnd.nextInt(total);
        for (int i = 0; i < CALL_OPS.length; i++) {
            x -= CALL_WEIGHTS[i];
            if (x < 0) {
                return CALL_OPS[i];
            }
        }
        return Op.NOP;
    }

    private void callBatch() {
        calls.beat();
        int replies = 0;
        boolean built = false;
        for (int i = 0; i < BATCH; i++) {
            Op op = pickOp();
            if (CREATES.contains(op) && live.size() > 40) {
                op = Op.RELEASE; // stay under the object quota (64) most of the time; it is still met now and then
            }
            if (op == Op.PROGRAM_BUILD || op == Op.PROGRAM_CREATE) {
                if (built || rnd.nextInt(8) != 0) {
                    op = Op.BUFFER_WRITE;
                }
                built = true;
            }
            boolean creates = CREATES.contains(op);
            // A creation asks for its reply, so the fuzzer knows which objects exist and uses them afterwards.
            boolean reply = op.kind() == Op.Kind.SYNC || creates || rnd.nextInt(5) == 0;
            if (reply && ++replies > MAX_REPLIES) {
                op = Op.NOP;
                reply = false;
                creates = false;
            }
            long[] args = new long[op.argCount()];
            for (int a = 0; a < args.length; a++) {
                args[a] = argument(op, a, op.argNames().get(a));
            }
            if (op == Op.LAUNCH) {
                geometry(args);
            }
            byte[] blob = op.hasBlob() ? blob(op) : null;
            if (rnd.nextBoolean()) {
                blob = validRange(op, args, blob);
            }
            long seq = calls.put(op.code(), reply ? Wire.FLAG_REPLY : 0, args, blob, blob == null ? 0 : blob.length);
            if (seq < 0) {
                break;
            }
            if (creates) {
                pendingCreates.put(seq, new long[] {args[0], op.code()});
            }
            callCases++;
        }
        long v = rnd.nextLong();
        long s = calls.put(Op.NOP.code(), Wire.FLAG_REPLY, new long[] {v}, null, 0);
        calls.publish();
        Reply r = s < 0 ? null : calls.drainUntil(s, TIMEOUT);
        if (r == null || !r.ok() || r.r0() != v) {
            Reply why = calls.closedBy();
            fail("fuzz-calls: well-framed calls ended the session or broke the barrier: " + describe(r)
                    + (why != null ? "; host said " + why.status() + ": " + why.text() : ""));
            callsSetup();
        } else if (baseLost) {
            createBase();
        }
        pendingCreates.clear();
        collectUntracked();
    }

    /**
     * Near the object quota, releases every handle the fuzzed calls named that the fuzzer does not know as live
     * (objects it could not track: events named by enqueues that reused a pooled number, and the like).
     */
    private void collectUntracked() {
        long objects = 0;
        for (FerryHost.GuestView v : host.guests()) {
            if (v.name().equals("fuzz-calls")) {
                objects = v.objects();
            }
        }
        if (objects <= HOSTILE_QUOTAS.objects() * 3L / 4) {
            return;
        }
        for (long h : new java.util.HashSet<>(pool)) {
            if (!live.containsKey(h) && calls.put(Op.RELEASE, false, null, h) < 0) {
                break;
            }
        }
        calls.publish();
    }

    private static final Set<Op> CREATES = java.util.EnumSet.of(Op.CONTEXT_CREATE, Op.QUEUE_CREATE,
            Op.BUFFER_CREATE, Op.PROGRAM_CREATE, Op.KERNEL_CREATE);

    /**
     * Half the buffer transfers get ranges that fit (offset and size inside the buffer, 8-aligned, a heap range
     * inside the heap, a fill size that is a multiple of its pattern) and half the kernel arguments the index and
     * size the kernel declares, so they reach the device rather than the range checks only.
     */
    private byte[] validRange(Op op, long[] args, byte[] blob) {
        long size = 8L * (1 + rnd.nextInt(64));
        long offset = 8L * rnd.nextInt((int) ((BUF_SIZE - size) / 8) + 1);
        long heapOffset = 8L * rnd.nextInt((int) ((heapSize(calls) - BUF_SIZE - size) / 8));
        switch (op) {
            case BUFFER_WRITE, BUFFER_READ -> {
                args[2] = offset;
                args[3] = size;
                args[4] = heapOffset;
            }
            case BUFFER_COPY -> {
                args[3] = offset;
                args[4] = 8L * rnd.nextInt((int) ((BUF_SIZE - size) / 8) + 1);
                args[5] = size;
            }
            case BUFFER_FILL -> {
                args[2] = offset;
                args[3] = size;
                return bytes(pickInt(1, 2, 4, 8));
            }
            case KERNEL_ARG_BUFFER -> args[1] = rnd.nextInt(2);
            case KERNEL_ARG_VALUE -> {
                args[1] = 2;
                return bytes(1);
            }
            default -> {
            }
        }
        return blob;
    }

    private void tally(Reply r) {
        replies.merge(r.status(), 1L, Long::sum);
        long[] created = pendingCreates.remove(r.seq());
        if (created != null && r.ok() && created[0] >= 100) {
            live.put(created[0], Op.of((int) created[1]));
        }
        if (r.status() == Status.INTERNAL) {
            fail("fuzz-calls: the host answered INTERNAL to a well-framed " + Op.of(r.op()) + ": " + r.text());
        }
    }

    private long argument(Op op, int index, String name) {
        boolean creates = index == 0 && (op == Op.CONTEXT_CREATE || op == Op.QUEUE_CREATE || op == Op.BUFFER_CREATE
                || op == Op.PROGRAM_CREATE || op == Op.KERNEL_CREATE);
        if (creates) {
            return newHandle();
        }
        return switch (name) {
            case "context" -> handle(CTX, Op.CONTEXT_CREATE);
            case "queue" -> handle(QUEUE, Op.QUEUE_CREATE);
            case "buffer", "source", "destination" -> handle(rnd.nextBoolean() ? BUF : HEAP_BUF, Op.BUFFER_CREATE);
            case "program" -> handle(PROG, Op.PROGRAM_CREATE);
            case "kernel" -> handle(KERNEL, Op.KERNEL_CREATE);
            case "handle" -> releaseTarget();
            case "shm", "session" -> rnd.nextInt(3) == 0 ? pooled() : handle(1 + rnd.nextInt(6));
            case "event" -> {
                if (op == Op.EVENT_WAIT && rnd.nextInt(4) != 0) {
                    long e = liveOf(Op.EVENT_WAIT);
                    if (e != 0) {
                        yield e;
                    }
                }
                yield switch (rnd.nextInt(6)) {
                    case 0, 1, 2 -> 0;
                    case 3 -> {
                        // an enqueue names a new event: assume it exists (RELEASE of one that does not is harmless)
                        long h = newHandle();
                        if (op != Op.EVENT_WAIT && h >= 100) {
                            live.put(h, Op.EVENT_WAIT);
                        }
                        yield h;
                    }
                    case 4 -> pooled();
                    default -> handle(QUEUE);
                };
            }
            case "device" -> pick(0, 0, 0, 1, -1, devices.all().size(), Long.MAX_VALUE, rnd.nextLong());
            case "size", "bytes" -> size();
            case "offset", "source offset", "destination offset" -> offset(BUF_SIZE);
            case "heap offset" -> rnd.nextInt(4) == 0 ? -1 : offset(heapSize(calls));
            case "index" -> pick(0, 1, 2, 3, -1, 255, Integer.MAX_VALUE + 1L, rnd.nextLong());
            case "access" -> pick(0, 1, 2, 3, 4, -1);
            case "flags" -> pick(0, 0, 1, 2, -1);
            case "priority" -> pick(0, 1, -1, Integer.MAX_VALUE, Long.MIN_VALUE);
            case "language" -> pick(SourceLanguage.OPENCL_C.code(), 0, 1, 2, 3, 99, -1);
            case "value" -> rnd.nextLong();
            default -> rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(16);
        };
    }

    /** Mostly the given own handle; sometimes another own, a pooled, a foreign, zero or a random one. */
    private long handle(long own) {
        return switch (rnd.nextInt(12)) {
            case 0 -> 1 + rnd.nextInt(6);
            case 1 -> pooled();
            case 2 -> GOOD_BASE + 1 + rnd.nextInt(7);
            case 3 -> rnd.nextInt(3) == 0 ? 0 : rnd.nextLong();
            default -> own;
        };
    }

    /**
     * A live object of the kind {@code creator} makes: mostly the base one, often one the fuzzed calls created (so
     * those are used too); 1 in 8 a handle of the wrong kind, released, another session's or random.
     */
    private long handle(long own, Op creator) {
        int r = rnd.nextInt(16);
        if (r < 2) {
            return handle(own);
        }
        if (r < 5) {
            long h = liveOf(creator);
            return h != 0 ? h : own;
        }
        return own;
    }

    private long liveOf(Op creator) {
        List<Long> of = new ArrayList<>();
        for (var e : live.entrySet()) {
            if (e.getValue() == creator && e.getKey() >= 100) {
                of.add(e.getKey());
            }
        }
        return of.isEmpty() ? 0 : of.get(rnd.nextInt(of.size()));
    }

    /**
     * What RELEASE names: mostly an object the fuzzed calls created (keeping the session under its object quota),
     * sometimes a pooled (perhaps released) or random handle, and 1 in 64 a base object, re-created after the batch.
     */
    private long releaseTarget() {
        int r = rnd.nextInt(64);
        if (r == 0) {
            baseLost = true;
            long h = 1 + rnd.nextInt(6);
            live.remove(h);
            return h;
        }
        if (r < 4) {
            return r == 1 ? rnd.nextLong() : pooled();
        }
        List<Long> created = new ArrayList<>();
        for (long h : live.keySet()) {
            if (h >= 100) {
                created.add(h);
            }
        }
        if (created.isEmpty()) {
            return pooled();
        }
        long h = created.get(rnd.nextInt(created.size()));
        live.remove(h);
        return h;
    }

    /** Handles this session created (or tried to); the pool stays small so the object quota is met and released. */
    private long newHandle() {
        long h = rnd.nextInt(16) == 0 ? pick(0, CTX, KERNEL, GOOD_BASE + 1) : nextHandle++;
        if (h >= 100) {
            pool.add(h);
            if (pool.size() > 200) {
                pool.subList(0, 100).clear();
            }
        }
        return h;
    }

    private long pooled() {
        return pool.isEmpty() ? 99 : pool.get(rnd.nextInt(pool.size()));
    }

    private long size() {
        return switch (rnd.nextInt(10)) {
            case 0 -> pick(0, -1, Long.MIN_VALUE, Long.MAX_VALUE);
            case 1 -> pick(HOSTILE_QUOTAS.deviceMemoryBytes(), HOSTILE_QUOTAS.deviceMemoryBytes() + 1, 1L << 40);
            case 2 -> pick(BUF_SIZE, BUF_SIZE + 1, heapSize(calls), heapSize(calls) + 8);
            default -> 1 + rnd.nextInt(rnd.nextBoolean() ? 64 : 4096);
        };
    }

    private long offset(long limit) {
        return switch (rnd.nextInt(8)) {
            case 0 -> pick(-1, Long.MIN_VALUE, Long.MAX_VALUE, -4096);
            case 1 -> pick(limit, limit - 1, limit - 8, limit + 1);
            case 2 -> limit - rnd.nextInt(64);
            default -> rnd.nextInt((int) Math.min(limit, 1 << 20));
        };
    }

    private long pick(long... values) {
        return values[rnd.nextInt(values.length)];
    }

    /** Launch geometry: invalid shapes of every kind, valid ones of at most 16 work-items per dimension. */
    private void geometry(long[] args) {
        args[2] = pick(1, 1, 2, 3, 0, 4, -1);
        for (int i = 0; i < 3; i++) {
            args[3 + i] = pick(0, 0, 0, 1, -1, Long.MAX_VALUE);
            args[6 + i] = rnd.nextInt(8) == 0 ? pick(0, -1, Long.MIN_VALUE) : 1 + rnd.nextInt(16);
            args[9 + i] = rnd.nextInt(3) == 0 ? 0 : pick(1, 2, 4, 3, 7, 16, -1, 1024);
        }
    }

    private byte[] blob(Op op) {
        return switch (op) {
            case PROGRAM_CREATE -> rnd.nextInt(3) == 0 ? Wire.utf8(SAFE_KERNEL) : bytes(rnd.nextInt(64));
            case PROGRAM_BUILD -> rnd.nextBoolean() ? new byte[0] : bytes(rnd.nextInt(16));
            case KERNEL_CREATE -> rnd.nextBoolean() ? Wire.utf8("k") : bytes(rnd.nextInt(12));
            case KERNEL_ARG_VALUE -> bytes(pickInt(1, 1, 2, 4, 8, 0, 1025, 16));
            case BUFFER_FILL -> bytes(pickInt(1, 2, 4, 8, 16, 128, 3, 0, 256));
            default -> bytes(rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(96));
        };
    }

    private int pickInt(int... values) {
        return values[rnd.nextInt(values.length)];
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    // ---- ring level ----------------------------------------------------------------------------------------

    private void ringCase() {
        ringCases++;
        long before = ring.sessionId();
        boolean hello = rnd.nextInt(12) != 0;
        boolean deviceObjects = false;
        if (hello) {
            expectOk(ring.connect(TIMEOUT), "fuzz-ring: HELLO");
            checkFresh("fuzz-ring", before, ring.sessionId());
            // Device objects now and then only: on a CPU device each session's first one starts a worker process.
            deviceObjects = rnd.nextInt(16) == 0;
            ring.put(Op.CONTEXT_CREATE, false, null, 1, deviceObjects ? 0 : 99);
            ring.put(Op.BUFFER_CREATE, false, null, 2, 1, 4096, 0, -1);
            ring.put(Op.QUEUE_CREATE, false, null, 3, 1, 0, 0);
            ring.publish();
        } else {
            connectWithoutHello();
        }
        SpscRing cmd = ring.commands;
        MemorySegment s = cmd.segment();
        int pattern = rnd.nextInt(14);
        switch (pattern) {
            case 0 -> { // a frame of random type and length, random body
                int len = 8 + rnd.nextInt(cmd.maxRecordLength() - 8);
                long at = cmd.tryClaim(rnd.nextInt(200), len);
                if (at >= 0) {
                    fillRandom(s, at + 8, Math.min(len - 8, 512));
                }
            }
            case 1 -> mutatedRecord();
            case 2 -> { // TAIL: odd, backwards, beyond capacity, negative, random
                long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
                long bad = pick(tail + 1 + 2L * rnd.nextInt(100), tail - 8, tail + cmd.capacity() + 8,
                        Long.MIN_VALUE, -8, rnd.nextLong());
                s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET, bad);
            }
            case 3 -> rawFrame(pickInt(0, 1, 4, 7, 9, 13), rnd.nextInt(20)); // short or odd lengths
            case 4 -> rawFrame(pickInt(cmd.maxRecordLength() + 8, cmd.capacity(), Integer.MAX_VALUE, -1),
                    rnd.nextInt(20)); // huge lengths, crossing the end
            case 5 -> rawFrame(64, pickInt(-2, -100, Integer.MIN_VALUE)); // negative types
            case 6 -> rawFrame(64, -1); // padding that does not reach the end of the data
            case 7 -> ring.put(pickInt(0, 5, 9, 37, 59, 65, 99, 127, 128, 0x7fff, Integer.MAX_VALUE), 0,
                    new long[] {1, 2, 3}, null, 0); // unknown opcodes
            case 8 -> ring.put(Op.NOP.code(), pickInt(2, 4, 0x80000000, -1), new long[] {1}, null, 0); // bad flags
            case 9 -> { // blob length field that does not match the record
                Op op = rnd.nextBoolean() ? Op.KERNEL_CREATE : Op.NOP;
                byte[] blob = bytes(rnd.nextInt(16));
                ring.put(op.code(), Wire.FLAG_REPLY, new long[op.argCount()], blob,
                        pickInt(blob.length + 1, blob.length + 8, -1, Integer.MAX_VALUE, blob.length - 1));
            }
            case 10 -> ring.put(Op.HELLO, true, Wire.utf8("fuzz-ring"), Wire.HELLO_MAGIC, Wire.PROTOCOL_VERSION, 0, 0,
                    0, 0, 0, 0); // a second HELLO
            case 11 -> { // never drain completions: the host's completion ring fills up
                for (int i = 0; i < 2000 && ring.put(Op.DEVICE_INFO, true, null, 99) >= 0; i++) {
                    if (i % 64 == 0) {
                        ring.publish();
                    }
                }
            }
            case 12 -> { // completion ring HEAD corrupted, then replies that need room
                MemorySegment c = ring.completions.segment();
                c.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_HEAD_OFFSET, pick(-8, 7, 1L << 40, rnd.nextLong()));
                for (int i = 0; i < 2000 && ring.put(Op.DEVICE_INFO, true, null, 99) >= 0; i++) {
                    if (i % 64 == 0) {
                        ring.publish();
                    }
                }
            }
            default -> ring.put(Op.GOODBYE, true, null); // then more calls after it
        }
        if (pattern != 2) {
            ring.publish();
        }
        if (pattern == 13) {
            ring.put(Op.NOP, true, null, 1);
            ring.publish();
        }
        if (ring.awaitClosed(pattern == 1 || pattern == 0 ? 20_000_000L : deviceObjects ? 10_000_000_000L
                : 2_000_000_000L, pattern != 11 && pattern != 12)) {
            sessionsEnded++;
            checkEnded("fuzz-ring", ring.sessionId());
        } else if (pattern != 0 && pattern != 1 && pattern != 12) {
            // 12 depends on whether the host re-reads HEAD before the ring is full (it does, once full).
            fail("fuzz-ring pattern " + pattern + ": the host kept the session open after a protocol violation");
        }
    }

    /** After a session ended, the guest's figures read zero (or it already shows a newer session). */
    private void checkEnded(String guest, long session) {
        for (FerryHost.GuestView v : host.guests()) {
            if (v.name().equals(guest) && v.sessionId() == session && (v.connected() || v.objects() != 0
                    || v.deviceMemoryBytes() != 0)) {
                fail(guest + ": session " + session + " ended but status shows connected=" + v.connected() + ", "
                        + v.objects() + " objects, " + v.deviceMemoryBytes() + " bytes");
            }
        }
    }

    private void connectWithoutHello() {
        // CONNECT_REQUEST/ACK only, then a call before HELLO: a protocol violation.
        Reply r = ring.connect(TIMEOUT, new byte[32]);
        // A wrong credential is refused with BAD_CREDENTIAL and the session stays (not a violation); say HELLO-less
        // NOP by reconnecting at the ring level is not possible with RawGuest.connect, so follow up with a NOP.
        if (r != null && r.status() != Status.BAD_CREDENTIAL && r.status() != Status.OK) {
            fail("fuzz-ring: a wrong credential was answered " + describe(r) + ", expected BAD_CREDENTIAL");
        }
        if (r != null && r.ok()) {
            fail("fuzz-ring: a HELLO with a zero credential opened a session");
        }
        ring.put(Op.NOP, true, null, 1);
    }

    private void mutatedRecord() {
        Op op = CALL_OPS[rnd.nextInt(CALL_OPS.length)];
        long[] args = new long[Math.max(0, op.argCount() + pickInt(0, 0, -1, 1, -3))];
        byte[] blob = op.hasBlob() ? bytes(rnd.nextInt(32)) : rnd.nextInt(4) == 0 ? bytes(8) : null;
        long at0 = ringTailIndex();
        long sq = ring.put(op.code(), rnd.nextBoolean() ? 1 : 0, args, blob, blob == null ? 0 : blob.length);
        if (sq < 0) {
            return;
        }
        MemorySegment s = ring.commands.segment();
        int length = Wire.CALL_HEADER_LENGTH + 8 * args.length + (blob == null ? 0 : blob.length);
        for (int i = 0, n = 1 + rnd.nextInt(3); i < n; i++) {
            int at = rnd.nextInt(Math.min(length, 32));
            s.set(ValueLayout.JAVA_BYTE, RegionDescriptor.RING_DATA_OFFSET + at0 + at, (byte) rnd.nextInt(256));
        }
    }

    private long ringTailIndex() {
        MemorySegment s = ring.commands.segment();
        long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
        return tail & (ring.commands.capacity() - 1);
    }

    /** A frame header written by hand at TAIL, then TAIL advanced past it by {@code advance} bytes (8-aligned). */
    private void rawFrame(int length, int type) {
        MemorySegment s = ring.commands.segment();
        ring.publish();
        long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
        long index = tail & (ring.commands.capacity() - 1);
        if (index + 8 > ring.commands.capacity()) {
            return;
        }
        s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_DATA_OFFSET + index,
                ((long) type << 32) | (length & 0xFFFF_FFFFL));
        long advance = Math.min(Math.max(8, (Math.max(length, 8) + 7L) & -8L), ring.commands.capacity());
        s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET, tail + advance);
    }

    private void fillRandom(MemorySegment s, long at, int n) {
        for (int i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, at + i, (byte) rnd.nextInt(256));
        }
    }

    private void expectOk(Reply r, String what) {
        if (r == null || !r.ok()) {
            fail(what + " answered " + describe(r));
        }
    }

    private static String describe(Reply r) {
        return r == null ? "nothing (session ended)" : r.status() + (r.text().isEmpty() ? "" : " '" + r.text() + "'");
    }

    /** Counts SEVERE lines of the host: an endpoint that died, an internal error. */
    private static final class SevereCounter extends Handler {
        volatile SessionFuzzer fuzzer;

        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.SEVERE.intValue() && fuzzer != null) {
                fuzzer.fail("host logged SEVERE: " + r.getMessage()
                        + (r.getThrown() != null ? " (" + r.getThrown() + ")" : ""));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
