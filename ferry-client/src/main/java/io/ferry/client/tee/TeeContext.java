package io.ferry.client.tee;

import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A connection to the host's TEE (TEEC_Context): opens sessions to trusted applications and manages shared memory.
 *
 * <pre>{@code
 * try (TeeContext tee = TeeContext.initialize(null, transport);
 *      TeeSession s = tee.openSession(BuiltinTas.HELLO, LoginMethod.PUBLIC, 0, null)) {
 *     TeeOperation op = TeeOperation.of(TeeParam.valueInout(41, 0));
 *     s.invoke(0, op);                       // op.value(0).a() == 42
 * }
 * }</pre>
 * Every memref reaches the host as a (heap offset, size): region-heap memory is never copied on the guest side,
 * other memory is staged through a heap block. A session with a direct lane to its TA instance (see
 * {@link TeeSession}) copies a call's memrefs into the lane instead, where they fit, and the host is not in the call;
 * both paths answer by the same rules. Any number of contexts may share one connection: each has its own sessions
 * and shared memory (their handles are unique in the process), and closing one leaves the others' alone.
 *
 * <p>Errors: every public method of this package reports failure as a {@link TeeException} with a GP code and
 * origin, never another exception. Argument errors this library catches have origin API and are found before
 * anything is sent (BAD_PARAMETERS, BAD_STATE for a closed context or session, OUT_OF_MEMORY when the region heap
 * cannot stage memory); the host's checks have origin COMMS (ACCESS_DENIED when the host gives this guest no tee
 * service or its policy denies the call, NOT_SUPPORTED when the host runs no TEE, COMMUNICATION when the connection
 * is closed or broken); the TEE's TEE; the TA's TRUSTED_APP. Closing and releasing never throw. Thread-safe; an
 * operation is used by one call at a time.
 */
public final class TeeContext implements AutoCloseable {
    private static final int CANCEL_SLOTS = 512;
    /** Session and shared-memory handles: unique in the process, so contexts on one connection never collide. */
    private static final AtomicLong HANDLES = new AtomicLong();

    private final TeeTransport transport;
    private final Set<TeeSession> sessions = ConcurrentHashMap.newKeySet();
    private final Set<TeeSharedMemory> shms = ConcurrentHashMap.newKeySet();
    private final TeeTransport.HeapMemory cancelPage;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private volatile boolean closed;

    private TeeContext(TeeTransport transport) {
        this.transport = transport;
        this.cancelPage = transport.allocateStaging(8L * CANCEL_SLOTS);
        cancelPage.segment().fill((byte) 0);
        for (int i = 0; i < CANCEL_SLOTS; i++) {
            freeSlots.add(i);
        }
    }

    /**
     * TEEC_InitializeContext. {@code name} selects the TEE; null or {@code "ferry"} is the host's TEE.
     *
     * @throws TeeException ITEM_NOT_FOUND (origin API) for another name; BAD_PARAMETERS for no transport;
     *                      COMMUNICATION (origin COMMS) when the connection is closed; OUT_OF_MEMORY (origin API) when
     *                      the region heap cannot hold the context's cancel words
     */
    public static TeeContext initialize(String name, TeeTransport transport) {
        if (name != null && !name.equals("ferry")) {
            throw new TeeException(TeeResult.ERROR_ITEM_NOT_FOUND, TeeResult.ORIGIN_API, "no TEE named '" + name + "'");
        }
        if (transport == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "no transport");
        }
        checkConnection(transport);
        try {
            return new TeeContext(transport);
        } catch (FerryException | IllegalArgumentException | IllegalStateException e) {
            checkConnection(transport);
            throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API, e.getMessage(), e);
        }
    }

    /** TEEC_OpenSession with PUBLIC login and no parameters. */
    public TeeSession openSession(UUID ta) {
        return openSession(ta, LoginMethod.PUBLIC, 0, null);
    }

    /**
     * TEEC_OpenSession.
     *
     * @param connectionData the group id for {@link LoginMethod#GROUP}, else ignored
     * @param op             parameters for the TA's OpenSession entry point, or null
     * @throws TeeException when the session could not be opened (code and origin, see the class comment)
     */
    public TeeSession openSession(UUID ta, LoginMethod login, long connectionData, TeeOperation op) {
        checkOpen();
        if (ta == null || login == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "null destination or login");
        }
        long handle = HANDLES.incrementAndGet();
        TeeOperation operation = op == null ? new TeeOperation() : op;
        long group = login == LoginMethod.GROUP ? connectionData : 0;
        call(Op.TEE_OPEN_SESSION, operation, handle, ta.getMostSignificantBits(), ta.getLeastSignificantBits(),
                login.code(), group);
        // A process guest's session asks for a direct lane to its TA instance; any refusal keeps the ring.
        DirectLane lane = DirectLane.attach(transport, handle, ta, login, group);
        TeeSession s = new TeeSession(this, handle, lane);
        sessions.add(s);
        return s;
    }

    void invoke(long session, DirectLane lane, int command, TeeOperation op) {
        checkOpen();
        if (lane != null && direct(lane, command, op)) {
            return;
        }
        call(Op.TEE_INVOKE, op, session, command & 0xFFFF_FFFFL);
    }

    /** The call on a session's direct lane; false where the ring must make it. Fails as the ring's call would. */
    private boolean direct(DirectLane lane, int command, TeeOperation op) {
        TeeMarshal.check(this, op);
        try {
            return lane.invoke(this, command, op);
        } catch (FerryException e) {
            throw failure(e);
        } catch (IllegalStateException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw memoryFailure(e);
        }
    }

    /**
     * Closes the session through the host, then frees its direct lane: once the host has closed it (no process reads
     * the lane any more), or with the connection (its heap goes too). Where the connection broke under the close the
     * block stays allocated: a TA process the host no longer governs might still write it.
     */
    void closeSession(TeeSession s, long handle, DirectLane lane) {
        sessions.remove(s);
        boolean free = true;
        if (!closed && transport.isOpen()) {
            try {
                transport.call(Op.TEE_CLOSE_SESSION, null, handle);
            } catch (RuntimeException e) {
                // The session is gone with the connection: nothing left to close. A host that answered (an unknown
                // session) serves no lane for it either.
                free = !transport.isOpen() || alive();
            }
        }
        if (lane != null) {
            lane.close(free);
        }
    }

    private boolean alive() {
        try {
            transport.checkAlive();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * TEEC_AllocateSharedMemory: {@code size} bytes of the region heap, shared with the TEE by reference.
     *
     * @throws TeeException OUT_OF_MEMORY (origin API) when the heap cannot hold it; BAD_PARAMETERS for bad flags or a
     *                      negative size; the host's refusal (origin COMMS: OUT_OF_MEMORY over its limits)
     */
    public TeeSharedMemory allocateSharedMemory(long size, int flags) {
        checkOpen();
        checkFlags(flags);
        if (size < 0) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "negative size " + size);
        }
        TeeTransport.HeapMemory block = null;
        if (size > 0) {
            try {
                block = transport.allocate(size);
            } catch (FerryException | IllegalArgumentException | IllegalStateException e) {
                checkOpen();
                throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                        "cannot allocate " + size + " bytes of shared memory: " + e.getMessage(), e);
            }
        }
        MemorySegment seg = block == null ? MemorySegment.NULL : block.segment();
        return register(flags, size, seg, block, block == null ? 0 : block.offset(), false);
    }

    /**
     * TEEC_RegisterSharedMemory: shares {@code memory} with the TEE. Memory in the region heap is shared by
     * reference; other memory (also read-only memory, for INPUT) through a heap shadow. The host limits one
     * registration to 1 MiB (at any offset) and a guest's registrations together.
     *
     * @throws TeeException BAD_PARAMETERS (origin API) for null, closed or read-only memory with OUTPUT, or bad flags;
     *                      OUT_OF_MEMORY (origin API) when the heap cannot hold a shadow; the host's refusal (origin
     *                      COMMS: OUT_OF_MEMORY over its limits)
     */
    public TeeSharedMemory registerSharedMemory(MemorySegment memory, int flags) {
        checkOpen();
        checkFlags(flags);
        if (memory == null || !memory.scope().isAlive()) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, memory == null
                    ? "null memory" : "the memory is closed");
        }
        if (memory.isReadOnly() && (flags & TeeSharedMemory.OUTPUT) != 0) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                    "read-only memory can be registered for INPUT only");
        }
        long size = memory.byteSize();
        long off;
        try {
            off = size == 0 ? 0 : transport.heapOffset(memory);
        } catch (IllegalStateException e) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, e.getMessage(), e);
        }
        if (off >= 0) {
            return register(flags, size, memory, null, off, false);
        }
        TeeTransport.HeapMemory shadow;
        try {
            shadow = transport.allocateStaging(size);
        } catch (FerryException | IllegalArgumentException | IllegalStateException e) {
            checkOpen();
            throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                    "cannot shadow " + size + " bytes in the region heap: " + e.getMessage(), e);
        }
        return register(flags, size, memory, shadow, shadow.offset(), true);
    }

    private TeeSharedMemory register(int flags, long size, MemorySegment seg, TeeTransport.HeapMemory block,
                                     long heapOffset, boolean shadowed) {
        long handle = HANDLES.incrementAndGet();
        TeeTransport.Reply r;
        try {
            r = transport.call(Op.TEE_SHM_REGISTER, null, handle, heapOffset, size, flags);
        } catch (FerryException | IllegalStateException e) {
            closeQuietly(block);
            throw failure(e);
        }
        if ((int) r.r0() != TeeResult.SUCCESS) {
            closeQuietly(block);
            throw new TeeException((int) r.r0(), (int) r.r1(), "the host refused to register " + size + " bytes"
                    + ((int) r.r0() == TeeResult.ERROR_OUT_OF_MEMORY ? " (one registration may hold 1 MiB, and a "
                    + "guest's registrations together are limited: release some)" : ""));
        }
        TeeSharedMemory m = new TeeSharedMemory(this, handle, flags, size, seg, block, heapOffset, shadowed);
        shms.add(m);
        return m;
    }

    void release(TeeSharedMemory m) {
        shms.remove(m);
        if (!closed && transport.isOpen()) {
            try {
                transport.send(Op.TEE_SHM_RELEASE, m.handle());
            } catch (RuntimeException e) {
                // the connection is gone, and with it the registration
            }
        }
    }

    static void closeQuietly(TeeTransport.HeapMemory block) {
        if (block != null) {
            try {
                block.close();
            } catch (RuntimeException e) {
                // the heap went with the connection
            }
        }
    }

    private static void checkFlags(int flags) {
        if (flags == 0 || (flags & ~(TeeSharedMemory.INPUT | TeeSharedMemory.OUTPUT)) != 0) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                    "shared memory flags 0x" + Integer.toHexString(flags) + " must be INPUT, OUTPUT or both");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new TeeException(TeeResult.ERROR_BAD_STATE, TeeResult.ORIGIN_API, "the context is finalized");
        }
        checkConnection(transport);
    }

    private static void checkConnection(TeeTransport transport) {
        if (!transport.isOpen()) {
            throw new TeeException(TeeResult.ERROR_COMMUNICATION, TeeResult.ORIGIN_COMMS,
                    "the connection to the host is closed (Ferry.close()); connect again and initialize a new context");
        }
    }

    /**
     * A Ferry-level failure of a TEE call as a TeeException: a guest the host gives no tee service learns so and how
     * to get it; anything else is COMMUNICATION (origin COMMS).
     */
    TeeException failure(RuntimeException e) {
        if (e instanceof FerryException f && (f.status() == Status.NOT_GRANTED || f.status() == Status.UNSUPPORTED)) {
            String host = f.getMessage();
            // NOT_GRANTED: the guest's config lacks the service (Session.allowed); UNSUPPORTED: the host has no TEE.
            if (f.status() == Status.NOT_GRANTED) {
                return new TeeException(TeeResult.ERROR_ACCESS_DENIED, TeeResult.ORIGIN_COMMS, "this guest has no tee "
                        + "service on the host (" + host + "); the operator grants it by adding tee to the guest's "
                        + "services in the host's ferry.yaml (services: [compute, tee]) and reloading the host "
                        + "(kill -HUP, or systemctl reload ferry-host; docs/operations.md)", e, false);
            }
            return new TeeException(TeeResult.ERROR_NOT_SUPPORTED, TeeResult.ORIGIN_COMMS, "the host runs no TEE ("
                    + host + "); the operator enables it with a tee: section in the host's ferry.yaml "
                    + "(tee: {dir: ..., policy: ...}) and grants it to guests (services: [compute, tee])", e, false);
        }
        if (!transport.isOpen()) {
            return new TeeException(TeeResult.ERROR_COMMUNICATION, TeeResult.ORIGIN_COMMS, "the connection to the host "
                    + "is closed (Ferry.close()); connect again and initialize a new context", e);
        }
        return new TeeException(TeeResult.ERROR_COMMUNICATION, TeeResult.ORIGIN_COMMS, String.valueOf(e.getMessage()),
                e);
    }

    // ---- one call ----

    private void call(Op op, TeeOperation operation, long... args) {
        TeeMarshal.check(this, operation);
        List<TeeMarshal.Staged> staged = new ArrayList<>(0);
        int slot = takeSlot();
        try {
            MemorySegment word = cancelPage.segment().asSlice(8L * slot, 8);
            byte[] block = TeeMarshal.marshal(this, transport, operation, staged);
            long[] all = new long[args.length + 1];
            System.arraycopy(args, 0, all, 0, args.length);
            all[args.length] = cancelPage.offset() + 8L * slot;
            TeeTransport.Reply r;
            operation.started(word);
            try {
                r = transport.call(op, block, all);
            } finally {
                operation.finished();
            }
            int code = (int) r.r0();
            int origin = (int) r.r1();
            if (r.blob() != null && r.blob().length == TeeWire.BLOCK_LENGTH) {
                TeeMarshal.unmarshal(operation, TeeMarshal.answer(MemorySegment.ofArray(r.blob())), code,
                        TeeMarshal.outputs(staged));
            }
            if (code != TeeResult.SUCCESS) {
                throw new TeeException(code, origin, op == Op.TEE_OPEN_SESSION ? "OpenSession failed"
                        : "InvokeCommand failed");
            }
        } catch (FerryException e) {
            throw failure(e);
        } catch (IllegalStateException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw memoryFailure(e);
        } finally {
            for (TeeMarshal.Staged s : staged) {
                closeQuietly(s.block());
            }
            giveSlot(slot);
        }
    }

    /** Memory closed under a call: the connection's (Ferry.close() from another thread) or the caller's. */
    private TeeException memoryFailure(RuntimeException e) {
        if (!transport.isOpen()) {
            return failure(e);
        }
        return new TeeException(TeeResult.ERROR_BAD_STATE, TeeResult.ORIGIN_API, "memory of the operation was closed "
                + "or became unusable during the call: " + e.getMessage(), e);
    }

    private int takeSlot() {
        synchronized (freeSlots) {
            Integer s = freeSlots.poll();
            if (s == null) {
                throw new TeeException(TeeResult.ERROR_BUSY, TeeResult.ORIGIN_API, CANCEL_SLOTS
                        + " calls are in flight on this context");
            }
            return s;
        }
    }

    private void giveSlot(int slot) {
        synchronized (freeSlots) {
            freeSlots.push(slot);
        }
    }

    /** TEEC_FinalizeContext: closes every session and releases every shared memory of this context. Never throws. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        for (TeeSession s : List.copyOf(sessions)) {
            s.close();
        }
        for (TeeSharedMemory m : List.copyOf(shms)) {
            m.close();
        }
        closed = true;
        closeQuietly(cancelPage);
    }

    /**
     * Bytes of a memory segment as a new array (a convenience for small outputs): the first {@code size} bytes, or
     * all of them where the segment is smaller.
     *
     * @throws TeeException BAD_PARAMETERS (origin API) for a null or closed segment or a negative size
     */
    public static byte[] bytes(MemorySegment s, long size) {
        if (s == null || size < 0 || !s.scope().isAlive()) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, s == null ? "null segment"
                    : size < 0 ? "negative size " + size : "the segment is closed");
        }
        return s.asSlice(0, Math.min(size, s.byteSize())).toArray(ValueLayout.JAVA_BYTE);
    }
}
