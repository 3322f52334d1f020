package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;

import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
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
import io.ferry.testkit.RawGuest.Reply;

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
    static final long TIMEOUT = 10_000_000_000L;
    /** Handles of the well-behaved guest: numbers the hostile guests never create, so they are foreign there. */
    static final long GOOD_BASE = 1_000_000;
    static final String SAFE_KERNEL = """
            __kernel void k(__global uchar* a, __global const uchar* b, uchar s) {
                if (get_global_id(0) == 0 && get_global_id(1) == 0 && get_global_id(2) == 0) { a[0] = (uchar)(b[0] + s); }
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

    final SplittableRandom rnd;
    final FerryHost host;
    final Devices devices;
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private long failureCount;
    final Map<Status, Long> replies = new EnumMap<>(Status.class);
    final boolean openclC;
    RawGuest calls;
    RawGuest ring;
    RawGuest good;
    long nextHandle;
    final List<Long> pool = new ArrayList<>();
    /** Objects the call-level session holds now (base objects included), by the op that created them. */
    final Map<Long, Op> live = new java.util.HashMap<>();
    /** Creations awaiting their reply: sequence number to {handle, op code}. */
    final Map<Long, long[]> pendingCreates = new java.util.HashMap<>();
    /** Base objects released by the fuzzed calls of this batch: re-created after it. */
    boolean baseLost;
    private long callCases;
    long ringCases;
    long sessionsEnded;
    long goodChecks;
    private Thread beater;
    final CallArguments gen = new CallArguments(this);
    private final GoodGuest goodGuest = new GoodGuest(this);
    private RingCases ringCasesRunner;

    private RingCases ringCases() {
        if (ringCasesRunner == null) {
            ringCasesRunner = new RingCases(this);
        }
        return ringCasesRunner;
    }

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
        FerryHost host = FerryHost.start(new HostConfig(dir, true, List.of(), guests), devices);
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
        return new HostConfig.GuestConfig(name, 2L << 20, null, SchedClass.BEST_EFFORT, 1,
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
            goodGuest.setup();
            callsSetup();
            long batches = 0;
            while (callCases + ringCases < cases && System.nanoTime() < end) {
                good.beat();
                callBatch();
                batches++;
                if (batches % 4 == 0) {
                    ringCases().ringCase();
                }
                if (batches % 16 == 0) {
                    goodGuest.check();
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
            goodGuest.check();
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

    // ---- call level --------------------------------------------------------------------------------------------

    // Base objects of the call-level session.
    static final long CTX = 1, QUEUE = 2, BUF = 3, HEAP_BUF = 4, PROG = 5, KERNEL = 6;
    static final long BUF_SIZE = 4096;

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
        calls.put(new Calls.ContextCreate(), false, null).context(CTX).device(0);
        calls.put(new Calls.QueueCreate(), false, null).queue(QUEUE).context(CTX);
        calls.put(new Calls.BufferCreate(), false, null).buffer(BUF).context(CTX).size(BUF_SIZE).heapOffset(-1);
        calls.put(new Calls.BufferCreate(), false, null).buffer(HEAP_BUF).context(CTX).size(BUF_SIZE)
                .heapOffset(heapSize(calls) - BUF_SIZE);
        calls.put(new Calls.ProgramCreate(), false, Wire.utf8(SAFE_KERNEL)).program(PROG).context(CTX)
                .language(SourceLanguage.OPENCL_C.code());
        calls.await(calls.put(new Calls.ProgramBuild(), true, null).program(PROG), TIMEOUT);
        calls.await(calls.put(new Calls.KernelCreate(), true, Wire.utf8("k")).kernel(KERNEL).program(PROG), TIMEOUT);
        calls.put(new Calls.KernelArgBuffer(), false, null).kernel(KERNEL).index(0).buffer(BUF);
        calls.put(new Calls.KernelArgBuffer(), false, null).kernel(KERNEL).index(1).buffer(HEAP_BUF);
        calls.put(new Calls.KernelArgValue(), false, new byte[] {3}).kernel(KERNEL).index(2);
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
    void checkFresh(String guest, long oldSession, long newSession) {
        for (HostViews.GuestView v : host.guests()) {
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

    static long heapSize(RawGuest g) {
        return g.region.heap().byteSize();
    }

    static final Op[] CALL_OPS = {
            Op.NOP, Op.DEVICE_INFO, Op.CONTEXT_CREATE, Op.QUEUE_CREATE, Op.BUFFER_CREATE, Op.PROGRAM_CREATE,
            Op.PROGRAM_BUILD, Op.KERNEL_CREATE, Op.RELEASE, Op.KERNEL_ARG_BUFFER, Op.KERNEL_ARG_VALUE,
            Op.KERNEL_ARG_LOCAL, Op.BUFFER_WRITE, Op.BUFFER_READ, Op.BUFFER_COPY, Op.BUFFER_FILL, Op.LAUNCH,
            Op.FINISH, Op.EVENT_WAIT, Op.TEE_OPEN_SESSION, Op.TEE_INVOKE, Op.TEE_CLOSE_SESSION, Op.TEE_SHM_REGISTER,
            Op.TEE_SHM_RELEASE, Op.MARKER, Op.BARRIER, Op.USER_EVENT_CREATE, Op.USER_EVENT_SET, Op.EVENT_STATUS,
            Op.KERNEL_WORK_GROUP_INFO, Op.INFO, Op.PROGRAM_CREATE_BINARY, Op.PROGRAM_COMPILE, Op.PROGRAM_LINK,
            Op.PROGRAM_CREATE_HEAP};
    /** Weights: the enqueue and argument calls, which reach the most checks, come up most. */
    private static final int[] CALL_WEIGHTS = {
            2, 1, 2, 2, 6, 1,
            1, 2, 8, 5, 5,
            3, 10, 10, 8, 8, 10,
            3, 2, 1, 1, 1, 1,
            1, 2, 2, 1, 1, 1,
            1, 2, 1, 1, 1,
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
            if (op == Op.PROGRAM_BUILD || op == Op.PROGRAM_CREATE || op == Op.PROGRAM_COMPILE
                    || op == Op.PROGRAM_LINK || op == Op.PROGRAM_CREATE_HEAP) {
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
            CallRecord call = gen.arguments(op);
            byte[] blob = op.hasBlob() ? gen.blob(op) : null;
            if (rnd.nextBoolean()) {
                blob = gen.validRange(op, blob);
            }
            long seq = calls.send(call, reply, blob);
            if (seq < 0) {
                break;
            }
            if (creates) {
                // a creation names its new object first (CONTEXT_CREATE's context, ...)
                pendingCreates.put(seq, new long[] {call.arg(0), op.code()});
            }
            callCases++;
        }
        long v = rnd.nextLong();
        long s = calls.put(Op.NOP, true, null, v);
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
        for (HostViews.GuestView v : host.guests()) {
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
            Op.BUFFER_CREATE, Op.PROGRAM_CREATE, Op.KERNEL_CREATE, Op.PROGRAM_CREATE_BINARY, Op.PROGRAM_LINK,
            Op.PROGRAM_CREATE_HEAP);


    void tally(Reply r) {
        replies.merge(r.status(), 1L, Long::sum);
        long[] created = pendingCreates.remove(r.seq());
        if (created != null && r.ok() && created[0] >= 100) {
            Op made = Op.of((int) created[1]);
            live.put(created[0], made == Op.PROGRAM_CREATE_HEAP ? Op.PROGRAM_CREATE : made); // a program either way
        }
        if (r.status() == Status.INTERNAL) {
            fail("fuzz-calls: the host answered INTERNAL to a well-framed " + Op.of(r.op()) + ": " + r.text());
        }
    }

    void expectOk(Reply r, String what) {
        if (r == null || !r.ok()) {
            fail(what + " answered " + describe(r));
        }
    }

    static String describe(Reply r) {
        return r == null ? "nothing (session ended)" : r.status() + (r.text().isEmpty() ? "" : " '" + r.text() + "'");
    }
}
