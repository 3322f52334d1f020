package io.ferry.host;

import io.ferry.channel.RecordHandler;
import io.ferry.channel.SpscRing;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.host.worker.WorkerClient;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One guest session: from a HELLO until the guest says GOODBYE, reconnects, breaks the protocol or the host stops.
 *
 * <p>Every record reaches {@link #onRecord} as a private copy made by the ring after its frame was validated, so
 * nothing here can be changed by the guest while it is checked. This class validates the call's framing (opcode,
 * flags, length against the opcode's shape) and owns what spans calls: the handle table, the sticky errors of
 * one-way calls, the count of one-way calls since the last synchronous one (quota {@code oneWayOutstanding}: over it
 * a one-way call is refused, costing the host a counter increment), and completions (each at most
 * {@link Wire#MAX_COMPLETION_BLOB} bytes, never held anywhere but the completion ring). {@link ComputeCalls}
 * validates and runs each compute call.
 *
 * <p>Error model: a <em>call</em> error (bad handle, range, device error) fails that call; for a synchronous call it
 * is the completion's status, for a one-way call it becomes sticky — kept (first one wins) on the call's queue, or
 * on the session for calls without a queue — and is reported by the next synchronous call, naming the failed call.
 * A <em>protocol</em> violation (unknown opcode, bad lengths, corrupt ring) closes the session.
 *
 * <p>Used by one thread: the guest's endpoint.
 */
final class Session implements RecordHandler, SessionContext {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    /** Audit lines (session open and close, quota refusals): one line per event, guest and session first. */
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");


    private final String guest;
    private final long id;
    private final long expectedCredential0, expectedCredential1, expectedCredential2, expectedCredential3;
    private final SpscRing completions;
    private final MemorySegment heap;
    private final Devices devices;
    private final Quotas quotas;
    private final HandleTable handles;
    private final ComputeCalls compute;
    private final Map<ComputeBackend, BackendSession> backends = new IdentityHashMap<>();
    /** This session's device workers, for the watchdog thread ({@link #cancelWorkers}). */
    private final java.util.List<WorkerClient> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final SessionService.Factory teeFactory;
    private SessionService tee;
    private final long[] results = new long[Wire.RESULT_WORDS];

    private boolean helloDone;
    private boolean goodbye;
    private boolean closed;
    private byte[] blobResult;
    private CallFailure sticky;
    private int stickySuppressed;
    private long calls;
    private long callSeq;
    private int callOp;
    private long callArg;
    private volatile long deviceMemory;
    private int inFlight;
    private volatile int inFlightView;
    /** One-way compute and TEE calls since the last synchronous one (quota {@code oneWayOutstanding}); saturates. */
    private int oneWaySinceSync;
    /** The sticky failure that reports the first one-way call over the quota, and how many were refused since. */
    private CallFailure oneWayRefusal;
    private long oneWayRefused;
    /** Audit of quota refusals: at most one line a second per session, the others counted into the next line. */
    private long refusalLoggedAt;
    private boolean refusalLogged;
    private long refusalsNotLogged;
    private volatile long guestPid;
    private volatile boolean pidVerified;
    private final java.util.Set<String> services;

    private final java.nio.file.Path regionPath;
    private final HostConfig host;
    private final HostConfig.GuestConfig config;
    private final WorkerGate workerGate;
    private final long tenant;
    private final Map<Devices.Device, DeviceDispatch> dispatches;

    Session(HostConfig host, HostConfig.GuestConfig config, long tenant, Map<Devices.Device, DeviceDispatch> dispatches,
            java.nio.file.Path regionPath, long id, long[] credential, SpscRing completions, MemorySegment heap,
            Devices devices, SessionService.Factory teeFactory, WorkerGate workerGate) {
        this.workerGate = workerGate;
        this.host = host;
        this.config = config;
        this.tenant = tenant;
        this.dispatches = dispatches;
        this.guest = config.name();
        this.quotas = config.quotas();
        this.services = config.services();
        this.teeFactory = teeFactory;
        this.regionPath = regionPath;
        this.id = id;
        this.expectedCredential0 = credential[0];
        this.expectedCredential1 = credential[1];
        this.expectedCredential2 = credential[2];
        this.expectedCredential3 = credential[3];
        this.completions = completions;
        this.heap = heap;
        this.devices = devices;
        this.handles = new HandleTable(quotas);
        this.compute = new ComputeCalls(this, handles, heap.byteSize());
    }

    @Override
    public String guest() {
        return guest;
    }

    long id() {
        return id;
    }

    @Override
    public long sessionId() {
        return id;
    }

    @Override
    public MemorySegment heap() {
        return heap;
    }

    private SessionService tee() throws CallException {
        if (tee == null) {
            if (teeFactory == null) {
                throw new CallException(Status.UNSUPPORTED, "this host offers no TEE service");
            }
            tee = teeFactory.open(this);
        }
        return tee;
    }

    long calls() {
        return calls;
    }

    int objects() {
        return closed ? 0 : handles.size();
    }

    /** Device commands enqueued and not yet finished, over all queues (safe from any thread). */
    int commandsInFlight() {
        return inFlightView;
    }

    /** Device commands enqueued and not yet finished, over all queues (endpoint thread). */
    int inFlight() {
        return inFlight;
    }

    void commandsEnqueued() {
        inFlight++;
        inFlightView = inFlight;
    }

    void commandsFinished(int n) {
        inFlight -= n;
        inFlightView = inFlight;
    }

    boolean closed() {
        return closed;
    }

    /**
     * Whether the last call was answered by another process the guest waited on with it (the TEE): the guest yields
     * while it waits for such a call, and the endpoint should too once it answered, not spin on the core the guest
     * needs to read the answer.
     */
    boolean lastCallHandedOff() {
        return callOp == Op.TEE_INVOKE.code() || callOp == Op.TEE_OPEN_SESSION.code();
    }

    /** The guest said GOODBYE: the endpoint closes the session after this batch. */
    boolean goodbye() {
        return goodbye;
    }

    Devices devices() {
        return devices;
    }

    Quotas quotas() {
        return quotas;
    }

    /** Device memory held by the session's buffers (safe from any thread; updated after each change). */
    long deviceMemoryBytes() {
        return deviceMemory;
    }

    /** Recomputes the device memory figure; endpoint thread only. */
    void deviceMemoryChanged() {
        long sum = 0;
        for (BackendSession b : backends.values()) {
            sum += b.deviceMemoryBytes();
        }
        deviceMemory = sum;
    }

    long tenant() {
        return tenant;
    }

    /** The scheduler of {@code device}, or null under the FIFO policy. */
    DeviceDispatch dispatchFor(Devices.Device device) {
        return device == null ? null : dispatches.get(device);
    }

    /** The hint for the next command of queue {@code q} (a one-shot hint first, else the queue's own). */
    io.ferry.host.sched.Hint hintFor(HandleTable.Entry q) {
        int priority = q.hintPriority;
        long deadline = q.hintDeadlineNanos;
        if (q.nextHint) {
            q.nextHint = false;
            priority = q.nextPriority;
            deadline = q.nextDeadlineNanos;
        }
        return priority == 0 && deadline == 0 ? io.ferry.host.sched.Hint.NONE
                : new io.ferry.host.sched.Hint(priority, deadline == 0 ? Long.MAX_VALUE : System.nanoTime() + deadline);
    }

    /**
     * From the watchdog thread: kills this session's device workers, so that an endpoint waiting on one (an endless
     * kernel, a long build) returns at once and can end the session.
     */
    void cancelWorkers(String why) {
        for (WorkerClient w : workers) {
            w.cancel(why);
        }
    }

    /** How to stop a backend's running work: kill the device worker; null where it cannot be stopped. */
    Runnable cancelFor(BackendSession b) {
        return b instanceof WorkerClient w ? w::cancel : null;
    }

    /** The guest's process id from HELLO, and whether this host can see that process (it maps the region). */
    long guestPid() {
        return guestPid;
    }

    boolean pidVerified() {
        return pidVerified;
    }

    BackendSession backendFor(Devices.Device device) throws BackendException {
        BackendSession b = backends.get(device.backend());
        if (b == null) {
            // Guest kernels on a CPU device run as machine code where the device runs: keep them out of the host.
            if (host.isolation() == HostConfig.Isolation.PROCESS && device.info().type() == DeviceType.CPU) {
                workerGate.await();
                // the heap's place comes from the host's own layout, never from the header the guest can rewrite
                io.ferry.channel.RegionLayout layout = io.ferry.channel.RegionLayout.forSize(config.regionSize());
                if (layout.heapSize() != heap.byteSize()) {
                    throw new BackendException(io.ferry.protocol.Status.INTERNAL, "guest " + guest + ": the host's "
                            + "heap of " + heap.byteSize() + " bytes is not the " + layout.heapSize() + " of its "
                            + "layout; cannot tell the device worker where it is");
                }
                long heapOffset = layout.heapOffset();
                WorkerClient w = WorkerClient.start(device.backend().name(), guest, regionPath, heapOffset,
                        heap.byteSize(), FerryHost.workerDir(host),
                        host.scheduling().policy() == HostConfig.Policy.FERRY ? config.schedClass() : null,
                        host.workerLimits(),
                        host.scheduling().policy() == HostConfig.Policy.FIFO ? config.overrunLimitNanos() : 0);
                workers.add(w);
                b = w;
            } else {
                b = device.backend().openSession(guest, heap);
            }
            backends.put(device.backend(), b);
            b.callContext(callSeq, callOp, callArg);
        }
        return b;
    }

    void replyText(String text) {
        blobResult = text == null ? null : completionText(text);
    }

    /**
     * {@code text} as the blob of a completion, which carries at most {@link Wire#MAX_COMPLETION_BLOB} bytes: a
     * longer text (a build log, a message naming guest strings) is cut with a note, and never encoded whole.
     */
    static byte[] completionText(String text) {
        int max = Wire.MAX_COMPLETION_BLOB;
        if (text.length() <= max / 3) {
            return Wire.utf8(text); // at most 3 bytes per char: fits
        }
        byte[] b = Wire.utf8(text.length() > max ? text.substring(0, max) : text);
        if (b.length <= max && text.length() <= max) {
            return b;
        }
        byte[] note = Wire.utf8("\n[cut: a reply carries at most " + max + " bytes; the text had "
                + text.length() + " characters]");
        int keep = max - note.length;
        while (keep > 0 && (b[keep] & 0xC0) == 0x80) {
            keep--; // do not split a UTF-8 sequence
        }
        byte[] out = java.util.Arrays.copyOf(b, keep + note.length);
        System.arraycopy(note, 0, out, keep, note.length);
        return out;
    }

    @Override
    public void replyBytes(byte[] bytes) {
        blobResult = bytes;
    }

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        if (closed) {
            return;
        }
        calls++;
        // Framing: everything below reads the private copy only.
        if (length < Wire.CALL_HEADER_LENGTH) {
            throw new ProtocolViolation("record of " + length + " bytes is shorter than a call header ("
                    + Wire.CALL_HEADER_LENGTH + ")");
        }
        Op op = Op.of(type);
        if (op == null) {
            throw new ProtocolViolation("unknown opcode " + type);
        }
        int flags = Wire.flags(rec, 0);
        if ((flags & ~Wire.KNOWN_FLAGS) != 0) {
            throw new ProtocolViolation(op + ": unknown flags 0x" + Integer.toHexString(flags));
        }
        int blob = Wire.blobLength(rec, 0);
        if (blob < 0 || (!op.hasBlob() && blob != 0) || (long) op.fixedLength() + blob != length) {
            throw new ProtocolViolation(op + ": record length " + length + " does not match " + op.argCount()
                    + " arguments and a blob of " + blob + " bytes");
        }
        long seq = Wire.seq(rec, 0);
        boolean reply = op.kind() == Op.Kind.SYNC || (flags & Wire.FLAG_REPLY) != 0;
        if (!helloDone && op != Op.HELLO) {
            throw new ProtocolViolation(op + " before HELLO");
        }
        Arrays.fill(results, 0);
        blobResult = null;
        try {
            switch (op) {
                case HELLO -> hello(rec);
                case GOODBYE -> goodbye = true;
                case NOP -> results[0] = Wire.arg(rec, 0, 0);
                case DEVICE_INFO -> deviceInfo(Wire.arg(rec, 0, 0));
                default -> {
                    if (!reply) {
                        if (oneWaySinceSync >= quotas.oneWayOutstanding()) {
                            refuseOneWay(op, seq);
                            return;
                        }
                        oneWaySinceSync++;
                    } else {
                        synchronousCall();
                    }
                    callSeq = seq;
                    callOp = op.code();
                    callArg = op.argCount() > 0 ? Wire.arg(rec, 0, 0) : 0;
                    for (BackendSession b : backends.values()) {
                        b.callContext(callSeq, callOp, callArg);
                    }
                    if (reply && op != Op.FINISH) {
                        // Earlier one-way calls may still be running on a device worker: their failures come first.
                        syncBackends();
                        CallFailure pending = takeSticky(op, rec);
                        if (pending != null) {
                            replySticky(op, seq, pending);
                            return;
                        }
                    }
                    try {
                        serve(op, rec);
                    } finally {
                        if (op == Op.FINISH) {
                            collectDeferred();
                        }
                    }
                    if (op == Op.FINISH) {
                        CallFailure pending = takeSticky(op, rec);
                        if (pending != null) {
                            replySticky(op, seq, pending);
                            return;
                        }
                    }
                }
            }
            if (reply) {
                complete(op, seq, Status.OK, blobResult);
            }
        } catch (CallException e) {
            failed(op, seq, reply, rec, e.status(), e.getMessage());
        } catch (BackendException e) {
            failed(op, seq, reply, rec, e.status(), e.getMessage());
        }
    }

    private void allowed(String service) throws CallException {
        if (!services.contains(service)) {
            throw new CallException(Status.UNSUPPORTED, "guest '" + guest + "' is not allowed the " + service
                    + " service (the host config lists: " + services + ")");
        }
    }

    /**
     * Refuses a one-way call over the {@code oneWayOutstanding} quota without touching a backend: the first refusal
     * since the last synchronous call becomes the session's sticky error; later ones are only counted (no objects,
     * no log line each), so a flood costs the host neither memory nor log space.
     */
    private void refuseOneWay(Op op, long seq) {
        oneWayRefused++;
        if (oneWayRefusal == null) {
            CallException e = quotas.oneWayExceeded(oneWaySinceSync + 1L);
            oneWayRefusal = new CallFailure(seq, op, e.status(), e.getMessage());
            auditRefusal(op, seq, e.getMessage());
            file(oneWayRefusal, null, 0);
        } else {
            stickySuppressed++;
            auditRefusal(op, seq, null);
        }
    }

    /** A synchronous call drains the one-way calls before it: their count starts again. */
    private void synchronousCall() {
        oneWaySinceSync = 0;
        if (oneWayRefusal != null) {
            if (sticky == oneWayRefusal && oneWayRefused > 1) {
                sticky = new CallFailure(sticky.seq(), sticky.op(), sticky.status(), sticky.message() + " ("
                        + oneWayRefused + " one-way calls refused in all)");
            }
            oneWayRefusal = null;
            oneWayRefused = 0;
        }
    }

    /**
     * One audit line per quota refusal, at most one a second per session: a guest that loops on refused calls
     * cannot flood the host's log. {@code message} null: a repeat of a refusal already described.
     */
    private void auditRefusal(Op op, long seq, String message) {
        long now = System.nanoTime();
        if (refusalLogged && now - refusalLoggedAt < 1_000_000_000L) {
            refusalsNotLogged++;
            return;
        }
        long more = refusalsNotLogged;
        refusalLogged = true;
        refusalLoggedAt = now;
        refusalsNotLogged = 0;
        AUDIT.warning(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " refused"
                + (message == null ? " (quota, as before)" : ": " + message)
                + (more > 0 ? " [and " + more + " more refusals in the last second, not logged one by one]" : ""));
    }

    private void hello(MemorySegment rec) throws CallException {
        if (helloDone) {
            throw new ProtocolViolation("second HELLO in one session");
        }
        if (Wire.arg(rec, 0, 0) != Wire.HELLO_MAGIC) {
            throw new ProtocolViolation("HELLO with bad magic 0x" + Long.toHexString(Wire.arg(rec, 0, 0)));
        }
        long version = Wire.arg(rec, 0, 1);
        if (version != Wire.PROTOCOL_VERSION) {
            throw new CallException(Status.VERSION_MISMATCH, "guest speaks protocol version " + version
                    + ", this host speaks " + Wire.PROTOCOL_VERSION);
        }
        if (Wire.arg(rec, 0, 4) != expectedCredential0 || Wire.arg(rec, 0, 5) != expectedCredential1
                || Wire.arg(rec, 0, 6) != expectedCredential2 || Wire.arg(rec, 0, 7) != expectedCredential3) {
            throw new CallException(Status.BAD_CREDENTIAL, "the credential in HELLO is not the one provisioned for "
                    + "guest '" + guest + "': the region is stale or belongs to another guest");
        }
        String name = Wire.string(rec, Op.HELLO.fixedLength(), Wire.blobLength(rec, 0));
        if (!name.equals(guest)) {
            throw new CallException(Status.BAD_CREDENTIAL, "HELLO names guest '" + name + "' but this region is '"
                    + guest + "'");
        }
        helloDone = true;
        guestPid = Wire.arg(rec, 0, 3);
        pidVerified = GuestProcess.mapsRegion(guestPid, regionPath);
        results[0] = id;
        results[1] = Wire.PROTOCOL_VERSION;
        results[2] = Wire.CAPABILITIES;
        results[3] = devices.all().size();
        AUDIT.info(() -> "guest " + guest + " session " + id + ": open (pid " + guestPid
                + (pidVerified ? ", watched" : ", not visible here: heartbeat only") + ")");
    }

    private void deviceInfo(long index) throws CallException {
        Devices.Device d = devices.get(index);
        if (d == null) {
            throw new CallException(Status.NO_DEVICE, "device " + index + " does not exist: " + devices.noDeviceMessage());
        }
        var info = d.info();
        long langs = 0;
        for (var l : info.languages()) {
            langs |= 1L << l.code();
        }
        results[0] = info.type().code() | (langs << 8);
        results[1] = info.globalMemoryBytes();
        results[2] = info.localMemoryBytes();
        results[3] = (info.computeUnits() & 0xffff_ffffL) | (info.maxWorkGroupSize() << 32);
        replyText(info.name() + "\n" + info.vendor() + "\n" + info.version() + "\n" + d.backend().name());
    }

    /** The earliest unreported one-way failure this synchronous call must surface, removed from its slot. */
    private CallFailure takeSticky(Op op, MemorySegment rec) {
        HandleTable.Entry queue = null;
        if (op == Op.FINISH) {
            HandleTable.Entry e = handles.find(Wire.arg(rec, 0, 0));
            queue = e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        CallFailure fromQueue = queue == null ? null : queue.sticky;
        if (sticky != null && (fromQueue == null || sticky.seq() < fromQueue.seq())) {
            CallFailure f = sticky;
            sticky = null;
            stickySuppressed = 0;
            return f;
        }
        if (fromQueue != null) {
            queue.sticky = null;
            queue.suppressed = 0;
        }
        return fromQueue;
    }

    private void serve(Op op, MemorySegment rec) throws CallException, BackendException {
        switch (op.service()) {
            case COMPUTE -> {
                allowed("compute");
                compute.call(op, rec, results);
            }
            case TEE -> {
                allowed("tee");
                tee().call(op, rec, results, this);
            }
            default -> throw new IllegalStateException("no service for " + op);
        }
    }

    /** Waits for every backend to finish earlier one-way work, then files the failures it reports. */
    private void syncBackends() throws BackendException {
        try {
            for (BackendSession b : backends.values()) {
                b.sync();
            }
        } finally {
            collectDeferred();
        }
    }

    private void collectDeferred() {
        for (BackendSession b : backends.values()) {
            for (BackendSession.DeferredFailure f : b.drainFailures()) {
                Op failedOp = Op.of(f.op());
                if (failedOp != null && failedOp.name().endsWith("_CREATE") && failedOp != Op.KERNEL_CREATE) {
                    HandleTable.Entry gone = handles.remove(f.firstArg()); // the object was never made
                    if (gone != null && gone.kind == HandleTable.Kind.QUEUE) {
                        commandsFinished(gone.queued); // commands counted on it were never enqueued
                    }
                    deviceMemoryChanged();
                }
                file(new CallFailure(f.seq(), failedOp, f.status(), f.message()), failedOp, f.firstArg());
            }
        }
    }

    private void replySticky(Op op, long seq, CallFailure f) {
        Arrays.fill(results, 0);
        results[0] = f.seq();
        results[1] = f.op().code();
        results[2] = 1;
        complete(op, seq, f.status(), completionText(f.describe()));
    }

    private void failed(Op op, long seq, boolean reply, MemorySegment rec, Status status, String message) {
        if (status == Status.QUOTA_EXCEEDED) {
            auditRefusal(op, seq, message);
        } else if (status == Status.BAD_CREDENTIAL) {
            AUDIT.warning(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " refused: " + message);
        }
        if (reply) {
            Arrays.fill(results, 0);
            complete(op, seq, status, completionText(message));
            return;
        }
        LOG.fine(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " failed: " + message);
        file(new CallFailure(seq, op, status, message), op, op.argCount() > 0 ? Wire.arg(rec, 0, 0) : 0);
    }

    /** Keeps a one-way failure for the next synchronous call: on its queue if it has one, else on the session. */
    private void file(CallFailure f, Op op, long firstArg) {
        HandleTable.Entry queue = null;
        if (op != null && op.argCount() > 0 && "queue".equals(op.argNames().getFirst())) {
            HandleTable.Entry e = handles.find(firstArg);
            queue = e != null && e.kind == HandleTable.Kind.QUEUE ? e : null;
        }
        if (queue != null) {
            if (queue.sticky == null || f.seq() < queue.sticky.seq()) {
                queue.sticky = f;
            } else {
                queue.suppressed++;
            }
        } else if (sticky == null || f.seq() < sticky.seq()) {
            sticky = f;
        } else {
            stickySuppressed++;
        }
    }

    private void complete(Op op, long seq, Status status, byte[] blob) {
        writeCompletion(op.code(), seq, status, blob);
    }

    private void writeCompletion(int type, long seq, Status status, byte[] blob) {
        int n = blob == null ? 0 : Math.min(blob.length, Wire.MAX_COMPLETION_BLOB);
        int length = Wire.completionLength(n);
        long at = completions.tryClaim(type, length);
        if (at < 0) {
            throw new ProtocolViolation("completion ring full: the guest does not consume its completions");
        }
        Wire.putCompletion(completions.segment(), at, seq, status.code(), results[0], results[1], results[2],
                results[3], blob, n);
        completions.publish();
    }

    /**
     * Ends the session: tells the guest why (best effort: a final completion when the ring has room), then releases
     * every object and device allocation. Never throws.
     */
    void close(Status status, String reason) {
        if (status != Status.OK) {
            try {
                Arrays.fill(results, 0);
                writeCompletion(Wire.SESSION_CLOSED_TYPE, 0, status, completionText(reason));
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "guest " + guest + " session " + id + ": could not post the closing notice", e);
            }
        }
        closed = true;
        int objects = handles.size();
        long memory = deviceMemoryBytes();
        for (BackendSession b : backends.values()) {
            b.close();
        }
        backends.clear();
        deviceMemory = 0;
        inFlight = 0;
        inFlightView = 0;
        if (tee != null) {
            tee.close();
            tee = null;
        }
        handles.clear();
        Level level = status == Status.OK || status == Status.SESSION_CLOSED ? Level.INFO : Level.WARNING;
        long unlogged = refusalsNotLogged;
        AUDIT.log(level, "guest " + guest + " session " + id + ": closed (" + status + ": " + reason + "), released "
                + objects + " objects and " + memory + " bytes of device memory after " + calls + " calls"
                + (unlogged > 0 ? " (" + unlogged + " quota refusals not logged one by one)" : ""));
    }
}
