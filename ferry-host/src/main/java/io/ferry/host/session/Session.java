package io.ferry.host.session;

import io.ferry.channel.RecordHandler;
import io.ferry.channel.SpscRing;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.NativeError;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Set;
import java.util.function.Function;
import java.util.function.LongPredicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One guest session: from a HELLO until the guest says GOODBYE, reconnects, breaks the protocol or the host stops.
 *
 * <p>Every record reaches {@link #onRecord} as a private copy made by the ring after its frame was validated, so
 * nothing here can be changed by the guest while it is checked. This class validates the call's framing (opcode,
 * flags, length against the opcode's shape), routes each call to its service (compute, TEE), and owns what spans
 * calls: the handle table, the sticky errors of one-way calls ({@link StickyErrors}), the one-way quota
 * ({@link OneWayQuota}) and completions (each at most {@link Wire#MAX_COMPLETION_BLOB} bytes, never held anywhere
 * but the completion ring).
 *
 * <p>Error model: a <em>call</em> error (bad handle, range, device error) fails that call; for a synchronous call it
 * is the completion's status, for a one-way call it becomes sticky — kept (first one wins) on the call's queue, or
 * on the session for calls without a queue — and is reported by the next synchronous call of its scope, naming the
 * failed call; that call clears its scope, and a follow-on failure goes with its cause ({@link StickyErrors}).
 * A <em>protocol</em> violation (unknown opcode, bad lengths, corrupt ring) closes the session.
 *
 * <p>Used by one thread: the guest's endpoint; the figures ({@link #calls}, {@link #objects}, ...) may be read from
 * any thread.
 */
public final class Session implements RecordHandler, ServiceContext {
    private static final Logger LOG = Logger.getLogger("ferry.host");

    private final String guest;
    private final long id;
    private SpscRing completions;
    private final MemorySegment heap;
    private final int deviceCount;
    private final Quotas quotas;
    private final Set<String> services;
    private final HandleTable handles;
    private final Handshake handshake;
    private final SessionAudit audit;
    private final StickyErrors sticky;
    private final OneWayQuota oneWay;
    private final SessionService compute;
    private final SessionService.Factory teeFactory;
    private SessionService tee;
    private final long[] results = new long[Wire.RESULT_WORDS];
    private final CallRecord any = new CallRecord();
    private final Calls.ContextCreate contextCreate = new Calls.ContextCreate();
    private final CompletionRecord completion = new CompletionRecord();

    private boolean goodbye;
    /** The opcode of the last call served (endpoint thread). */
    private Op lastOp;
    private volatile boolean closed;
    /** Where compute calls go instead of being served here: set while the session may be handed to its worker. */
    private boolean handOver;
    /** Why the session's device work ended (its worker died): every compute call fails so; null while it lives. */
    private String computeLost;
    /** Runs before each completion is published (the worker publishes its figures, so a guest sees them current). */
    private Runnable beforeCompletion;
    /** The figures of the part of this session its worker serves (null: none). */
    private volatile RemoteFigures remote;
    private byte[] blobResult;
    private volatile long calls;

    /**
     * Opens a session; the seam of the endpoint and of test harnesses that drive a session without a region.
     *
     * @param config      the guest: its name, quotas and allowed services
     * @param id          the session id, unique in the host
     * @param credential  the guest's credential as four little-endian words, checked at HELLO
     * @param watchable   whether this host can watch a guest process (alive here, maps the region): given HELLO's pid
     * @param completions the completion ring, host side
     * @param heap        the guest's heap as the host maps it
     * @param deviceCount the devices HELLO announces
     * @param compute     opens the compute service of this session ({@code io.ferry.host.compute.ComputeService})
     * @param tee         opens the TEE service on the first TEE call; null: the host offers none
     */
    public Session(HostConfig.GuestConfig config, long id, long[] credential, LongPredicate watchable,
                   SpscRing completions, MemorySegment heap, int deviceCount,
                   Function<ServiceContext, SessionService> compute, SessionService.Factory tee) {
        this.guest = config.name();
        this.id = id;
        this.quotas = config.quotas();
        this.services = config.services();
        this.completions = completions;
        this.heap = heap;
        this.deviceCount = deviceCount;
        this.teeFactory = tee;
        this.handles = new HandleTable(quotas);
        this.handshake = new Handshake(guest, credential, watchable);
        this.audit = new SessionAudit(guest, id);
        this.sticky = new StickyErrors(handles);
        this.oneWay = new OneWayQuota(quotas, sticky, audit);
        this.compute = compute.apply(this);
    }

    @Override
    public String guest() {
        return guest;
    }

    /** The session id. */
    public long id() {
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

    @Override
    public HandleTable handles() {
        return handles;
    }

    @Override
    public Quotas quotas() {
        return quotas;
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

    /** Counts this session's calls, refusals and TEE denials into {@code sink} from now on (for /metrics). */
    public void counts(CallSink sink) {
        audit.counts(sink == null ? CallSink.NONE : sink);
    }

    @Override
    public void teeDenied(boolean open) {
        audit.counts().teeDenial(open);
    }

    /** Records served so far. */
    public long calls() {
        RemoteFigures r = remote;
        return calls + (r == null ? 0 : r.calls());
    }

    // ---- handing the session to the guest's device worker ---------------------------------------------------

    /** Whether the session's first device context hands it to the guest's device worker (see {@link HandOver}). */
    public void handOverCompute(boolean handOver) {
        this.handOver = handOver;
    }

    /**
     * The session is served by a worker now: completions of calls the worker forwards here go to {@code ring}
     * (the worker copies them to the guest), and the figures include {@code figures}.
     */
    public void handedOver(SpscRing ring, RemoteFigures figures) {
        this.handOver = false;
        this.completions = ring;
        this.remote = figures;
    }

    /** The worker that served the session's compute calls is gone: every later one fails with {@code reason}. */
    public void computeLost(String reason) {
        this.computeLost = reason;
        this.handOver = false;
    }

    /** In the worker: {@code r} runs before each completion is published. */
    public void beforeCompletion(Runnable r) {
        this.beforeCompletion = r;
    }

    /** The session's worker is going: its figures are no longer read. */
    public void detachRemote() {
        this.remote = null;
    }

    /** The session's worker is gone: completions go to the guest's ring again, re-read where the worker left it. */
    public void handBack(SpscRing guestCompletions) {
        guestCompletions.resync();
        this.completions = guestCompletions;
        this.remote = null;
    }

    /** In the worker: continues a session the host opened; {@code pid} and {@code verified}: what its HELLO found. */
    public void resume(long pid, boolean verified) {
        handshake.resume(pid, verified);
    }

    /** The session's own pending one-way failure (not a queue's), handed to the worker with the session. */
    public CallFailure pendingFailure() {
        return sticky.sessionSticky();
    }

    /** In the worker: the pending one-way failure the host handed over with the session. */
    public void pendingFailure(CallFailure f) {
        if (f != null) {
            sticky.file(f, null, 0);
        }
    }

    /** Live objects (0 once closed). */
    public int objects() {
        RemoteFigures r = remote;
        return closed ? 0 : handles.size() + (r == null ? 0 : (int) Math.min(Integer.MAX_VALUE, r.objects()));
    }

    /** Device commands enqueued and not yet finished, over all queues (safe from any thread). */
    public int commandsInFlight() {
        RemoteFigures r = remote;
        return compute.commandsInFlight() + (r == null ? 0 : (int) Math.min(Integer.MAX_VALUE, r.commandsInFlight()));
    }

    /** Device memory held by the session's buffers (safe from any thread). */
    public long deviceMemoryBytes() {
        RemoteFigures r = remote;
        return compute.deviceMemoryBytes() + (r == null ? 0 : r.deviceMemoryBytes());
    }

    /** Whether the session was closed. */
    public boolean closed() {
        return closed;
    }

    /**
     * Whether the last call was answered by another process the guest waited on with it (the TEE): the guest yields
     * while it waits for such a call, and the endpoint should too once it answered, not spin on the core the guest
     * needs to read the answer.
     */
    public boolean lastCallHandedOff() {
        return lastOp == Op.TEE_INVOKE || lastOp == Op.TEE_OPEN_SESSION;
    }

    /** The guest said GOODBYE: the endpoint closes the session after this batch. */
    public boolean goodbye() {
        return goodbye;
    }

    /**
     * From the watchdog thread: stops the session's work in progress (kills its device workers), so that an
     * endpoint waiting on one (an endless kernel, a long build) returns at once and can end the session.
     */
    public void cancelWorkers(String why) {
        compute.cancel(why);
    }

    /** The guest's process id from HELLO (0 before). */
    public long guestPid() {
        return handshake.guestPid();
    }

    /** Whether this host saw the guest's process at HELLO (it maps the region), so it can watch it. */
    public boolean pidVerified() {
        return handshake.pidVerified();
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
        CallRecord call = any.wrap(rec, 0);
        int flags = call.flags();
        if ((flags & ~Wire.KNOWN_FLAGS) != 0) {
            throw new ProtocolViolation(op + ": unknown flags 0x" + Integer.toHexString(flags));
        }
        int blob = call.blobLength();
        if (blob < 0 || (!op.hasBlob() && blob != 0) || (long) op.fixedLength() + blob != length) {
            throw new ProtocolViolation(op + ": record length " + length + " does not match " + op.argCount()
                    + " arguments and a blob of " + blob + " bytes");
        }
        long seq = call.seq();
        lastOp = op;
        boolean reply = op.kind() == Op.Kind.SYNC || (flags & Wire.FLAG_REPLY) != 0;
        if (!handshake.done() && op != Op.HELLO && op != Op.GOODBYE) {
            // GOODBYE before HELLO: a guest (or the stream proxy for a client) leaving a session it never used
            throw new ProtocolViolation(op + " before HELLO");
        }
        Arrays.fill(results, 0);
        blobResult = null;
        try {
            switch (op) {
                case HELLO -> hello(rec);
                case GOODBYE -> goodbye = true;
                case NOP -> results[0] = call.arg(0);
                case DEVICE_INFO -> compute.call(op, rec, results, this);
                default -> {
                    if (handOver && op == Op.CONTEXT_CREATE && services.contains("compute")
                            && contextCreate.wrap(rec, 0).device() >= 0 && contextCreate.device() < deviceCount) {
                        // the first call that needs a device: every compute object descends from a context
                        calls--; // not served here: the worker that takes the ring over serves it
                        throw new HandOver(op);
                    }
                    if (!serviceCall(op, seq, reply, rec)) {
                        return;
                    }
                }
            }
            audit.counts().call(op, Status.OK);
            if (reply) {
                complete(op, seq, Status.OK, blobResult);
            }
        } catch (CallException e) {
            failed(op, seq, reply, rec, e);
        }
    }

    /** A compute or TEE call; false: it was answered already (a sticky failure) or refused. */
    private boolean serviceCall(Op op, long seq, boolean reply, MemorySegment rec) throws CallException {
        if (!reply) {
            if (!oneWay.admit(op, seq)) {
                audit.counts().call(op, Status.QUOTA_EXCEEDED);
                return false;
            }
        } else {
            oneWay.synchronousCall();
        }
        long firstArg = op.argCount() > 0 ? any.wrap(rec, 0).arg(0) : 0;
        compute.callStarting(seq, op.code(), firstArg);
        if (tee != null) {
            tee.callStarting(seq, op.code(), firstArg);
        }
        if (reply && op != Op.FINISH) {
            // Earlier one-way calls may still be running on a device worker: their failures come first.
            compute.sync(sticky);
            CallFailure pending = sticky.take(op, rec, seq);
            if (pending != null) {
                replySticky(op, seq, pending);
                return false;
            }
        }
        try {
            serve(op, rec);
        } finally {
            if (op == Op.FINISH) {
                compute.collect(sticky);
            }
        }
        if (op == Op.FINISH) {
            CallFailure pending = sticky.take(op, rec, seq);
            if (pending != null) {
                replySticky(op, seq, pending);
                return false;
            }
        }
        return true;
    }

    private void allowed(String service) throws CallException {
        if (!services.contains(service)) {
            throw new CallException(Status.NOT_GRANTED, "guest '" + guest + "' is not allowed the " + service
                    + " service (the host config lists: " + services + ")");
        }
    }

    private void hello(MemorySegment rec) throws CallException {
        handshake.hello(rec);
        results[0] = id;
        results[1] = Wire.PROTOCOL_VERSION;
        results[2] = Wire.CAPABILITIES;
        results[3] = deviceCount;
        audit.opened(handshake.guestPid(), handshake.pidVerified());
    }

    private void serve(Op op, MemorySegment rec) throws CallException {
        switch (op.service()) {
            case COMPUTE -> {
                allowed("compute");
                if (computeLost != null) {
                    throw new CallException(Status.DEVICE_LOST, computeLost);
                }
                compute.call(op, rec, results, this);
            }
            case TEE -> {
                allowed("tee");
                tee().call(op, rec, results, this);
            }
            default -> throw new IllegalStateException("no service for " + op);
        }
    }

    private void replySticky(Op op, long seq, CallFailure f) {
        audit.counts().call(op, f.status());
        results[0] = f.seq(); // every word set
        results[1] = f.op().code();
        results[2] = 1;
        results[NativeError.RESULT_WORD] = f.nativeError();
        complete(op, seq, f.status(), CompletionText.of(f.describe()));
    }

    private void failed(Op op, long seq, boolean reply, MemorySegment rec, CallException e) {
        audit.counts().call(op, e.status());
        if (e.status() == Status.QUOTA_EXCEEDED) {
            audit.refusal(op, seq, e.getMessage());
        } else if (e.status() == Status.BAD_CREDENTIAL) {
            audit.badCredential(op, seq, e.getMessage());
        }
        if (reply) {
            Arrays.fill(results, 0);
            results[NativeError.RESULT_WORD] = e.nativeError();
            complete(op, seq, e.status(), CompletionText.of(e.getMessage()));
            return;
        }
        LOG.fine(() -> "guest " + guest + " session " + id + ": " + op + " #" + seq + " failed: " + e.getMessage());
        sticky.file(new CallFailure(seq, op, e.status(), e.getMessage(), e.nativeError()), op,
                op.argCount() > 0 ? any.wrap(rec, 0).arg(0) : 0, e.follows());
    }

    private void complete(Op op, long seq, Status status, byte[] blob) {
        writeCompletion(op.code(), seq, status, blob);
    }

    private void writeCompletion(int type, long seq, Status status, byte[] blob) {
        int n = blob == null ? 0 : Math.min(blob.length, Wire.MAX_COMPLETION_BLOB);
        int length = CompletionRecord.length(n);
        long at = completions.tryClaim(type, length);
        if (at < 0) {
            throw new ProtocolViolation("completion ring full: the guest does not consume its completions");
        }
        completion.wrap(completions.segment(), at).put(seq, status.code(), results[0], results[1], results[2],
                results[3], blob, n);
        Runnable before = beforeCompletion;
        if (before != null) {
            before.run();
        }
        completions.publish();
    }

    /**
     * Ends the session: tells the guest why (best effort: a final completion when the ring has room), then releases
     * every object and device allocation. Never throws.
     */
    public void close(Status status, String reason) {
        close(status, reason, true);
    }

    /**
     * As {@link #close(Status, String)}; {@code notify} false: no closing notice (the guest's device worker, which
     * served the session, posted it).
     */
    public void close(Status status, String reason, boolean notify) {
        if (status != Status.OK && notify) {
            try {
                Arrays.fill(results, 0);
                writeCompletion(Wire.SESSION_CLOSED_TYPE, 0, status, CompletionText.of(reason));
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "guest " + guest + " session " + id + ": could not post the closing notice", e);
            }
        }
        closed = true;
        int objects = handles.size();
        long memory = deviceMemoryBytes();
        compute.close();
        if (tee != null) {
            tee.close();
            tee = null;
        }
        handles.clear();
        Level level = status == Status.OK || status == Status.SESSION_CLOSED ? Level.INFO : Level.WARNING;
        audit.closed(level, status.toString(), reason, objects, memory, calls);
    }
}
