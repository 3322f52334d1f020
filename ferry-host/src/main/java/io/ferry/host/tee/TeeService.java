package io.ferry.host.tee;

import io.ferry.host.session.CallException;
import io.ferry.host.session.SessionContext;
import io.ferry.host.session.SessionService;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The TEE service of one guest session: the mediator between a guest and the TEE backend.
 *
 * <p>Every call is checked here before the backend sees it: the session and shared-memory handles, the login
 * method (the host, not the guest, decides the client identity), the policy (deny by default, each denial an audit
 * line), each parameter's type, every memref's range against the heap or its registered block and its direction
 * against the block's flags, and the per-guest limits. Memref data is copied once from the guest heap into host
 * buffers before the call (no double fetch: the backend never sees guest memory) and copied back after it, never
 * beyond the buffer. Output sizes are always written back, also on failure, so SHORT_BUFFER tells the guest how much
 * is needed.
 *
 * <p>TEE outcomes travel as GP codes in the completion's results (r0 = return code, r1 = origin) with Ferry
 * status OK; the updated parameter block is the completion blob. Failures of this mediator have origin COMMS.
 * Ferry-level errors (a reused or unknown handle) are {@link CallException}s.
 *
 * <p>Used by one thread: the guest's endpoint.
 */
final class TeeService implements SessionService {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    private static final VarHandle CANCEL_WORD = ValueLayout.JAVA_LONG.varHandle();

    private final SessionContext ctx;
    private final TeeBackend backend;
    private final TeePolicy policy;
    private final TeeLimits limits;
    private final Semaphore inFlight;
    private final Semaphore guestInFlight;
    private final int perGuest;
    /** How long a call waits for a TEE thread before it answers BUSY. */
    static long busyWaitMillis = 10_000;
    private final MemorySegment heap;
    private final long heapSize;
    private final Map<Long, OpenSession> sessions = new HashMap<>();
    private final Map<Long, SharedMemory> shms = new HashMap<>();
    private long shmPages;
    private final TeeParams params = new TeeParams();
    private final MemorySegment[] staging = new MemorySegment[TeeParams.COUNT];
    private final long[] guestOffset = new long[TeeParams.COUNT];
    private final long[] guestSize = new long[TeeParams.COUNT];
    private final int[] wireType = new int[TeeParams.COUNT];
    private final MemorySegment block = Arena.ofAuto().allocate(TeeWire.BLOCK_LENGTH, 8);
    private final Calls.TeeOpenSession openView = new Calls.TeeOpenSession();
    private final Calls.TeeInvoke invokeView = new Calls.TeeInvoke();
    private final Calls.TeeCloseSession closeView = new Calls.TeeCloseSession();
    private final Calls.TeeShmRegister registerView = new Calls.TeeShmRegister();
    private final Calls.TeeShmRelease releaseView = new Calls.TeeShmRelease();
    private final Calls.TeeDirect directView = new Calls.TeeDirect();
    private final TeeDirectLanes direct;
    private final CallRecord anyView = new CallRecord();

    private record OpenSession(long backendSession, UUID ta, int login, List<TeePolicy.Rule> granted) {
    }

    private record SharedMemory(long offset, long size, int flags, long pages) {
    }

    /** A TEE answer that ends the call early (bad parameter, limit, denial). */
    private static final class Answer extends Exception {
        final int code;

        Answer(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    TeeService(SessionContext ctx, TeeBackend backend, TeePolicy policy, TeeLimits limits, Semaphore inFlight) {
        this(ctx, backend, policy, limits, inFlight, new Semaphore(Integer.MAX_VALUE), Integer.MAX_VALUE, null, 0);
    }

    /** {@code region}, {@code heapOffset}: where the guest's heap lies in its sealed region (null: no direct lanes). */
    TeeService(SessionContext ctx, TeeBackend backend, TeePolicy policy, TeeLimits limits, Semaphore inFlight,
               Semaphore guestInFlight, int perGuest, java.nio.file.Path region, long heapOffset) {
        this.ctx = ctx;
        this.backend = backend;
        this.policy = policy;
        this.limits = limits;
        this.inFlight = inFlight;
        this.guestInFlight = guestInFlight;
        this.perGuest = perGuest;
        this.heap = ctx.heap();
        this.heapSize = heap.byteSize();
        this.direct = new TeeDirectLanes(region, heapOffset, heap, backend, ctx.guest(), ctx.sessionId());
    }

    @Override
    public void call(Op op, MemorySegment rec, long[] results, SessionContext session) throws CallException {
        switch (op) {
            case TEE_OPEN_SESSION -> openSession(rec, results);
            case TEE_INVOKE -> invoke(rec, results);
            case TEE_CLOSE_SESSION -> closeSession(closeView.wrap(rec, 0).session());
            case TEE_SHM_REGISTER -> register(rec, results);
            case TEE_SHM_RELEASE -> release(releaseView.wrap(rec, 0).shm());
            case TEE_DIRECT -> attachDirect(directView.wrap(rec, 0), results);
            default -> throw new CallException(Status.INVALID_ARGUMENT, op + " is not a TEE call");
        }
    }

    // ---- sessions ----

    private void openSession(MemorySegment rec, long[] results) throws CallException {
        Calls.TeeOpenSession c = openView.wrap(rec, 0);
        long handle = c.session();
        UUID ta = new UUID(c.uuidHigh(), c.uuidLow());
        long loginArg = c.login();
        long connection = c.connectionData();
        long cancelWord = c.cancelWord();
        TeeLimits.checkNewHandle(handle, sessions.containsKey(handle), "session");
        MemorySegment block = block(rec, Op.TEE_OPEN_SESSION);
        try {
            if (sessions.size() >= limits.maxSessions()) {
                throw new Answer(TeeWire.ERROR_OUT_OF_MEMORY, "guest has " + sessions.size() + " TEE sessions open, "
                        + "the limit is " + limits.maxSessions());
            }
            int login = (int) loginArg;
            UUID client = clientIdentity(loginArg, connection);
            List<TeePolicy.Rule> granted = policy.matching(ctx.guest(), ta, login, connection);
            if (granted.isEmpty()) {
                audit("open", ta, login, -1, "no rule allows it");
                throw new Answer(TeeWire.ERROR_ACCESS_DENIED, "policy denies opening TA " + ta);
            }
            TeeCancellation cancel = cancellation(cancelWord);
            decode(block);
            TeeReturn r = run(() -> backend.openSession(ctx.guest(), ta, login, client, params, cancel), cancel);
            writeBack(block, r.code());
            if (r.ok()) {
                sessions.put(handle, new OpenSession(r.session(), ta, login, granted));
                LOG.fine(() -> "guest " + ctx.guest() + " session " + ctx.sessionId() + ": TEE session " + handle
                        + " to TA " + ta + " (" + TeePolicy.loginName(login) + ")");
            }
            answer(results, r.code(), r.origin(), block);
        } catch (Answer a) {
            answer(results, a.code, TeeWire.ORIGIN_COMMS, block);
        }
    }

    private void invoke(MemorySegment rec, long[] results) throws CallException {
        Calls.TeeInvoke c = invokeView.wrap(rec, 0);
        long handle = c.session();
        long command = c.command();
        long cancelWord = c.cancelWord();
        OpenSession s = sessions.get(handle);
        if (s == null) {
            throw new CallException(Status.UNKNOWN_HANDLE, "TEE session " + handle + " is not open in this session");
        }
        MemorySegment block = block(rec, Op.TEE_INVOKE);
        try {
            if (command < 0 || command > 0xFFFF_FFFFL) {
                throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "command " + command + " is not a u32");
            }
            if (!TeePolicy.allowsCommand(s.granted(), command)) {
                audit("invoke", s.ta(), s.login(), command, "command outside the allowed range");
                throw new Answer(TeeWire.ERROR_ACCESS_DENIED, "policy denies command " + command);
            }
            TeeCancellation cancel = cancellation(cancelWord);
            decode(block);
            TeeReturn r = run(() -> backend.invoke(s.backendSession(), (int) command, params, cancel), cancel);
            writeBack(block, r.code());
            answer(results, r.code(), r.origin(), block);
        } catch (Answer a) {
            answer(results, a.code, TeeWire.ORIGIN_COMMS, block);
        }
    }

    private void closeSession(long handle) throws CallException {
        OpenSession s = sessions.remove(handle);
        if (s == null) {
            throw new CallException(Status.UNKNOWN_HANDLE, "TEE session " + handle + " is not open in this session");
        }
        backend.closeSession(s.backendSession());
        direct.closed(handle);
    }

    private void attachDirect(Calls.TeeDirect c, long[] results) throws CallException {
        OpenSession s = sessions.get(c.session());
        if (s == null) {
            throw new CallException(Status.UNKNOWN_HANDLE, "TEE session " + c.session() + " is not open in this session");
        }
        TeeReturn r = direct.attach(c, s.backendSession(), s.granted());
        answer(results, r.code(), r.origin(), null);
    }

    /** Who the client is, as the host vouches for it (the guest cannot prove a Unix uid or gid inside it). */
    private UUID clientIdentity(long login, long connection) throws Answer {
        if (login == TeeWire.LOGIN_PUBLIC) {
            return new UUID(0, 0);
        }
        if (login == TeeWire.LOGIN_USER) {
            return TeeWire.uuidV5(TeeWire.LOGIN_NAMESPACE, "guest=" + ctx.guest());
        }
        if (login == TeeWire.LOGIN_GROUP) {
            if (connection < 0 || connection > 0xFFFF_FFFFL) {
                throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "group id " + connection + " is not a u32");
            }
            return TeeWire.uuidV5(TeeWire.LOGIN_NAMESPACE, "guest=" + ctx.guest() + ":gid=" + Long.toHexString(connection));
        }
        if (login == TeeWire.LOGIN_APPLICATION || login == TeeWire.LOGIN_USER_APPLICATION
                || login == TeeWire.LOGIN_GROUP_APPLICATION) {
            throw new Answer(TeeWire.ERROR_NOT_SUPPORTED, "application logins are not supported (as on Linux)");
        }
        throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "unknown login method " + login);
    }

    // ---- shared memory ----

    private void register(MemorySegment rec, long[] results) throws CallException {
        Calls.TeeShmRegister c = registerView.wrap(rec, 0);
        long handle = c.shm();
        long offset = c.heapOffset();
        long size = c.size();
        long flags = c.memoryFlags();
        TeeLimits.checkNewHandle(handle, shms.containsKey(handle), "shared memory");
        int code = TeeWire.SUCCESS;
        long pages = 0;
        if (flags == 0 || (flags & ~(long) (TeeWire.MEM_INPUT | TeeWire.MEM_OUTPUT)) != 0) {
            code = TeeWire.ERROR_BAD_PARAMETERS;
        } else if (!inHeap(offset, size)) {
            code = TeeWire.ERROR_BAD_PARAMETERS;
        } else if (shms.size() >= limits.maxSharedMemory()) {
            code = TeeWire.ERROR_OUT_OF_MEMORY;
        } else {
            pages = TeeLimits.pages(offset, size);
            if (size > limits.maxBufferBytes() || shmPages + pages > limits.maxTotalPages()) {
                code = TeeWire.ERROR_OUT_OF_MEMORY;
            }
        }
        if (code == TeeWire.SUCCESS) {
            shms.put(handle, new SharedMemory(offset, size, (int) flags, pages));
            shmPages += pages;
        }
        results[0] = code & 0xFFFF_FFFFL;
        results[1] = code == TeeWire.SUCCESS ? TeeWire.ORIGIN_API : TeeWire.ORIGIN_COMMS;
    }

    private void release(long handle) throws CallException {
        SharedMemory m = shms.remove(handle);
        if (m == null) {
            throw new CallException(Status.UNKNOWN_HANDLE, "shared memory " + handle + " is not registered");
        }
        shmPages -= m.pages();
    }

    // ---- parameters ----

    private MemorySegment block(MemorySegment rec, Op op) throws CallException {
        CallRecord c = anyView.wrap(rec, 0);
        int blob = c.blobLength();
        if (blob != TeeWire.BLOCK_LENGTH) {
            throw new CallException(Status.INVALID_ARGUMENT, op + ": parameter block of " + blob + " bytes, expected "
                    + TeeWire.BLOCK_LENGTH);
        }
        // A copy: rec is the host's private copy, but the reply must not alias it. One block per service (one thread
        // uses it), reused: answer() copies it out before the next call.
        MemorySegment block = this.block;
        MemorySegment.copy(rec, c.blobOffset(), block, 0, TeeWire.BLOCK_LENGTH);
        return block;
    }

    /** Validates the parameter block (a private copy) and fills {@link #params}, copying input data in once. */
    private void decode(MemorySegment block) throws Answer {
        params.clear();
        int types = TeeWire.blockTypes(block);
        if ((types & ~0xFFFF) != 0) {
            throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "parameter types 0x" + Integer.toHexString(types));
        }
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = TeeWire.type(types, i);
            wireType[i] = t;
            guestOffset[i] = -1;
            guestSize[i] = 0;
            long a = TeeWire.field(block, i, TeeWire.A);
            long b = TeeWire.field(block, i, TeeWire.B);
            long c = TeeWire.field(block, i, TeeWire.C);
            if (!TeeWire.isKnownType(t)) {
                throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "parameter " + i + " has type 0x" + Integer.toHexString(t));
            }
            if (t == TeeWire.NONE) {
                continue;
            }
            if (TeeWire.isValue(t)) {
                if ((a >>> 32) != 0 || (b >>> 32) != 0) {
                    throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "value parameter " + i + " exceeds 32 bits");
                }
                params.value(i, t, a, b);
                continue;
            }
            long offset;
            long size;
            int kind;
            if (TeeWire.isTempMemref(t)) {
                kind = t;
                size = c;
                if (a == TeeWire.NULL_MEMREF) {
                    if (size < 0 || size > limits.maxBufferBytes()) {
                        throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "null memref " + i + " of size " + size);
                    }
                    params.memref(i, kind, null, size);
                    guestSize[i] = size;
                    continue;
                }
                offset = a;
                if (!inHeap(offset, size)) {
                    throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "memref " + i + " [" + offset + ", +" + size
                            + ") is outside the heap of " + heapSize + " bytes");
                }
            } else {
                SharedMemory m = shms.get(a);
                if (m == null) {
                    throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "memref " + i + " names unregistered memory " + a);
                }
                if (t == TeeWire.MEMREF_WHOLE) {
                    offset = m.offset();
                    size = m.size();
                    kind = (m.flags() & TeeWire.MEM_INPUT) != 0
                            ? ((m.flags() & TeeWire.MEM_OUTPUT) != 0 ? TeeParams.MEMREF_INOUT : TeeParams.MEMREF_INPUT)
                            : TeeParams.MEMREF_OUTPUT;
                } else {
                    if (b < 0 || c < 0 || b > m.size() || c > m.size() - b) {
                        throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "memref " + i + " [" + b + ", +" + c
                                + ") is outside its shared memory of " + m.size() + " bytes");
                    }
                    boolean in = TeeWire.isInput(t);
                    boolean out = TeeWire.isOutput(t);
                    if ((in && (m.flags() & TeeWire.MEM_INPUT) == 0) || (out && (m.flags() & TeeWire.MEM_OUTPUT) == 0)) {
                        throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "memref " + i + " direction does not match "
                                + "its shared memory's flags");
                    }
                    offset = m.offset() + b;
                    size = c;
                    kind = t - (TeeWire.MEMREF_PARTIAL_INPUT - TeeParams.MEMREF_INPUT);
                }
            }
            if (size > limits.maxBufferBytes()) {
                throw new Answer(TeeWire.ERROR_EXCESS_DATA, "memref " + i + " of " + size + " bytes exceeds the limit of "
                        + limits.maxBufferBytes() + " bytes");
            }
            MemorySegment buf = staging(i, size);
            if (kind != TeeParams.MEMREF_OUTPUT) {
                MemorySegment.copy(heap, offset, buf, 0, size);
            } else {
                buf.fill((byte) 0);
            }
            guestOffset[i] = offset;
            guestSize[i] = size;
            params.memref(i, kind, buf, size);
        }
    }

    private MemorySegment staging(int i, long size) {
        MemorySegment s = staging[i];
        if (s == null || s.byteSize() < size) {
            s = Arena.ofAuto().allocate(Math.max(size, 4096), 4096);
            staging[i] = s;
        }
        return s.asSlice(0, size);
    }

    /** Writes output values and sizes into the reply block; copies output data back within each buffer. */
    private void writeBack(MemorySegment block, int code) {
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int k = params.type(i);
            if (TeeParams.isValue(k) && (k & 2) != 0) {
                TeeWire.field(block, i, TeeWire.A, params.a(i));
                TeeWire.field(block, i, TeeWire.B, params.b(i));
            } else if (TeeParams.isMemref(k) && (k & 2) != 0) {
                long out = params.size(i);
                TeeWire.field(block, i, TeeWire.C, out);
                MemorySegment buf = params.buffer(i);
                if (code == TeeWire.SUCCESS && buf != null && guestOffset[i] >= 0) {
                    long n = Math.min(Math.max(out, 0), guestSize[i]);
                    MemorySegment.copy(buf, 0, heap, guestOffset[i], n);
                }
            }
        }
    }

    private void answer(long[] results, int code, int origin, MemorySegment block) {
        results[0] = code & 0xFFFF_FFFFL;
        results[1] = origin;
        ctx.replyBytes(block == null ? null : block.toArray(ValueLayout.JAVA_BYTE));
    }

    private interface BackendCall {
        TeeReturn call();
    }

    /**
     * Runs a backend call within the caps on calls in flight, this guest's first, then the TEE's; a cancel requested
     * before it starts answers CANCEL.
     */
    private TeeReturn run(BackendCall call, TeeCancellation cancel) throws Answer {
        if (cancel.requested()) {
            throw new Answer(TeeWire.ERROR_CANCEL, "cancelled before it started");
        }
        if (!acquire(guestInFlight)) {
            LOG.warning("guest " + ctx.guest() + " session " + ctx.sessionId() + ": a TEE call answers BUSY: the guest "
                    + "has " + perGuest + " TEE call(s) in flight, its cap (one less than the TEE's threads, so other "
                    + "guests always find one); finish or cancel a call first");
            throw new Answer(TeeWire.ERROR_BUSY, "the guest's TEE calls in flight are at the cap of " + perGuest);
        }
        try {
            if (!acquire(inFlight)) {
                throw new Answer(TeeWire.ERROR_BUSY, "every TEE thread is busy");
            }
            try {
                return callBackend(call);
            } finally {
                inFlight.release();
            }
        } finally {
            guestInFlight.release();
        }
    }

    private static boolean acquire(Semaphore s) {
        try {
            return s.tryAcquire() || s.tryAcquire(busyWaitMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private TeeReturn callBackend(BackendCall call) {
        try {
            return call.call();
        } catch (RuntimeException e) {
            LOG.warning("guest " + ctx.guest() + " session " + ctx.sessionId() + ": TEE backend " + backend.name()
                    + " failed: " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
    }

    private TeeCancellation cancellation(long word) throws Answer {
        if (word == TeeWire.NO_CANCEL_WORD) {
            return TeeCancellation.NEVER;
        }
        if (word < 0 || (word & 7) != 0 || word > heapSize - 8) {
            throw new Answer(TeeWire.ERROR_BAD_PARAMETERS, "cancel word at " + word + " is not an aligned heap word");
        }
        // The guest may write this word at any time: it is only ever a request, never validated data.
        return () -> (long) CANCEL_WORD.getAcquire(heap, word) != 0;
    }

    private boolean inHeap(long offset, long size) {
        return offset >= 0 && size >= 0 && offset <= heapSize && size <= heapSize - offset;
    }

    private void audit(String what, UUID ta, int login, long command, String reason) {
        ctx.teeDenied(what.equals("open"));
        AUDIT.warning("tee deny " + what + " guest=" + ctx.guest() + " session=" + ctx.sessionId() + " ta=" + ta
                + " login=" + TeePolicy.loginName(login) + (command >= 0 ? " command=" + command : "")
                + ": " + reason);
    }

    @Override
    public void close() {
        for (OpenSession s : sessions.values()) {
            backend.closeSession(s.backendSession());
        }
        int n = sessions.size();
        sessions.clear();
        shms.clear();
        shmPages = 0;
        if (n > 0) {
            LOG.info("guest " + ctx.guest() + " session " + ctx.sessionId() + ": closed " + n + " TEE session(s)");
        }
    }
}
