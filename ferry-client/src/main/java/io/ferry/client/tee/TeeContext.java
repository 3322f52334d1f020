package io.ferry.client.tee;

import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
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
 * other memory is staged through a heap block. Argument errors this library catches have origin API; the host's
 * checks have origin COMMS; the TEE's TEE; the TA's TRUSTED_APP. Thread-safe; an operation is used by one call at
 * a time.
 */
public final class TeeContext implements AutoCloseable {
    private static final int CANCEL_SLOTS = 512;

    private final TeeTransport transport;
    private final AtomicLong handles = new AtomicLong();
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
     * TEEC_InitializeContext. {@code name} selects the TEE; null or {@code "ferry"} is the host's TEE, anything
     * else answers ITEM_NOT_FOUND.
     */
    public static TeeContext initialize(String name, TeeTransport transport) {
        if (name != null && !name.equals("ferry")) {
            throw new TeeException(TeeResult.ERROR_ITEM_NOT_FOUND, TeeResult.ORIGIN_API, "no TEE named '" + name + "'");
        }
        if (transport == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "no transport");
        }
        try {
            return new TeeContext(transport);
        } catch (FerryException e) {
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
     * @throws TeeException when the session could not be opened (code and origin)
     */
    public TeeSession openSession(UUID ta, LoginMethod login, long connectionData, TeeOperation op) {
        checkOpen();
        if (ta == null || login == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "null destination or login");
        }
        long handle = handles.incrementAndGet();
        TeeOperation operation = op == null ? new TeeOperation() : op;
        call(Op.TEE_OPEN_SESSION, operation, handle, ta.getMostSignificantBits(), ta.getLeastSignificantBits(),
                login.code(), login == LoginMethod.GROUP ? connectionData : 0);
        TeeSession s = new TeeSession(this, handle);
        sessions.add(s);
        return s;
    }

    void invoke(long session, int command, TeeOperation op) {
        checkOpen();
        call(Op.TEE_INVOKE, op, session, command & 0xFFFF_FFFFL);
    }

    void closeSession(TeeSession s, long handle) {
        sessions.remove(s);
        if (closed) {
            return;
        }
        try {
            transport.call(Op.TEE_CLOSE_SESSION, null, handle);
        } catch (FerryException e) {
            // The session is gone with the connection: nothing left to close.
        }
    }

    /**
     * TEEC_AllocateSharedMemory: {@code size} bytes of the region heap, shared with the TEE by reference.
     *
     * @throws TeeException OUT_OF_MEMORY (origin API) when the heap cannot hold it; BAD_PARAMETERS for bad flags
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
            } catch (FerryException | IllegalArgumentException e) {
                throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                        "cannot allocate " + size + " bytes of shared memory: " + e.getMessage(), e);
            }
        }
        MemorySegment seg = block == null ? MemorySegment.NULL : block.segment();
        return register(flags, size, seg, block, block == null ? 0 : block.offset(), false);
    }

    /**
     * TEEC_RegisterSharedMemory: shares {@code memory} with the TEE. Memory in the region heap is shared by
     * reference; other memory (also read-only memory, for INPUT) through a heap shadow.
     */
    public TeeSharedMemory registerSharedMemory(MemorySegment memory, int flags) {
        checkOpen();
        checkFlags(flags);
        if (memory == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "null memory");
        }
        if (memory.isReadOnly() && (flags & TeeSharedMemory.OUTPUT) != 0) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                    "read-only memory can be registered for INPUT only");
        }
        long size = memory.byteSize();
        long off = size == 0 ? 0 : transport.heapOffset(memory);
        if (off >= 0) {
            return register(flags, size, memory, null, off, false);
        }
        TeeTransport.HeapMemory shadow;
        try {
            shadow = transport.allocateStaging(size);
        } catch (FerryException | IllegalArgumentException e) {
            throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                    "cannot shadow " + size + " bytes in the region heap: " + e.getMessage(), e);
        }
        return register(flags, size, memory, shadow, shadow.offset(), true);
    }

    private TeeSharedMemory register(int flags, long size, MemorySegment seg, TeeTransport.HeapMemory block,
                                     long heapOffset, boolean shadowed) {
        long handle = handles.incrementAndGet();
        TeeTransport.Reply r;
        try {
            r = transport.call(Op.TEE_SHM_REGISTER, null, handle, heapOffset, size, flags);
        } catch (FerryException e) {
            if (block != null) {
                block.close();
            }
            throw new TeeException(TeeResult.ERROR_COMMUNICATION, TeeResult.ORIGIN_COMMS, e.getMessage(), e);
        }
        if ((int) r.r0() != TeeResult.SUCCESS) {
            if (block != null) {
                block.close();
            }
            throw new TeeException((int) r.r0(), (int) r.r1(), "the host refused to register " + size + " bytes");
        }
        TeeSharedMemory m = new TeeSharedMemory(this, handle, flags, size, seg, block, heapOffset, shadowed);
        shms.add(m);
        return m;
    }

    void release(TeeSharedMemory m) {
        shms.remove(m);
        if (!closed) {
            try {
                transport.send(Op.TEE_SHM_RELEASE, m.handle());
            } catch (FerryException e) {
                // the connection is gone, and with it the registration
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
    }

    // ---- one call ----

    /** A temporary memref staged through the heap for one call. */
    private record Staged(int index, TeeTransport.HeapMemory block, MemorySegment user) {
    }

    private void call(Op op, TeeOperation operation, long... args) {
        List<Staged> staged = new ArrayList<>(0);
        int slot = takeSlot();
        MemorySegment word = cancelPage.segment().asSlice(8L * slot, 8);
        try {
            byte[] block = marshal(operation, staged);
            long[] all = new long[args.length + 1];
            System.arraycopy(args, 0, all, 0, args.length);
            all[args.length] = cancelPage.offset() + 8L * slot;
            operation.started(word);
            TeeTransport.Reply r;
            try {
                r = transport.call(op, block, all);
            } catch (FerryException e) {
                throw new TeeException(TeeResult.ERROR_COMMUNICATION, TeeResult.ORIGIN_COMMS, e.getMessage(), e);
            } finally {
                operation.finished();
            }
            int code = (int) r.r0();
            int origin = (int) r.r1();
            if (r.blob() != null && r.blob().length == TeeWire.BLOCK_LENGTH) {
                unmarshal(operation, MemorySegment.ofArray(r.blob()), staged, code);
            }
            if (code != TeeResult.SUCCESS) {
                throw new TeeException(code, origin, op == Op.TEE_OPEN_SESSION ? "OpenSession failed"
                        : "InvokeCommand failed");
            }
        } finally {
            for (Staged s : staged) {
                s.block().close();
            }
            giveSlot(slot);
        }
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

    private byte[] marshal(TeeOperation op, List<Staged> staged) {
        byte[] bytes = new byte[TeeWire.BLOCK_LENGTH];
        MemorySegment b = MemorySegment.ofArray(bytes);
        TeeWire.blockTypes(b, op.paramTypes());
        for (int i = 0; i < 4; i++) {
            switch (op.param(i)) {
                case TeeParam.None n -> {
                }
                case TeeParam.Value v -> {
                    TeeWire.field(b, i, TeeWire.A, v.a() & 0xFFFF_FFFFL);
                    TeeWire.field(b, i, TeeWire.B, v.b() & 0xFFFF_FFFFL);
                }
                case TeeParam.TempMemref m -> marshalTemp(b, i, m, staged);
                case TeeParam.RegisteredMemref m -> marshalRegistered(b, i, m);
            }
        }
        return bytes;
    }

    private void marshalTemp(MemorySegment b, int i, TeeParam.TempMemref m, List<Staged> staged) {
        if (m.size() < 0 || (m.buffer() != null && m.size() > m.buffer().byteSize())) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "memref " + i + " size "
                    + m.size() + " is negative or exceeds its buffer");
        }
        if (m.buffer() == null) {
            TeeWire.field(b, i, TeeWire.A, TeeWire.NULL_MEMREF);
            TeeWire.field(b, i, TeeWire.C, m.size());
            return;
        }
        MemorySegment buf = m.buffer().asSlice(0, m.size());
        long off = m.size() == 0 ? 0 : transport.heapOffset(buf);
        if (off < 0) {
            TeeTransport.HeapMemory block;
            try {
                block = transport.allocateStaging(m.size());
            } catch (FerryException | IllegalArgumentException e) {
                throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                        "cannot stage memref " + i + " of " + m.size() + " bytes in the region heap", e);
            }
            staged.add(new Staged(i, block, m.buffer()));
            if (m.type() != TeeParam.MEMREF_TEMP_OUTPUT) {
                MemorySegment.copy(buf, 0, block.segment(), 0, m.size());
            }
            off = block.offset();
        }
        TeeWire.field(b, i, TeeWire.A, off);
        TeeWire.field(b, i, TeeWire.C, m.size());
    }

    private void marshalRegistered(MemorySegment b, int i, TeeParam.RegisteredMemref m) {
        TeeSharedMemory shm = m.parent();
        if (shm.context() != this || shm.released()) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "memref " + i
                    + " names shared memory that is released or of another context");
        }
        long offset = m.type() == TeeParam.MEMREF_WHOLE ? 0 : m.offset();
        long size = m.type() == TeeParam.MEMREF_WHOLE ? shm.size() : m.size();
        if (offset < 0 || size < 0 || offset > shm.size() || size > shm.size() - offset) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "memref " + i + " ["
                    + offset + ", +" + size + ") exceeds its shared memory of " + shm.size() + " bytes");
        }
        boolean in = m.type() == TeeParam.MEMREF_WHOLE ? (shm.flags() & TeeSharedMemory.INPUT) != 0 : TeeWire.isInput(m.type());
        boolean out = m.type() == TeeParam.MEMREF_WHOLE ? (shm.flags() & TeeSharedMemory.OUTPUT) != 0 : TeeWire.isOutput(m.type());
        if ((in && (shm.flags() & TeeSharedMemory.INPUT) == 0) || (out && (shm.flags() & TeeSharedMemory.OUTPUT) == 0)) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "memref " + i
                    + " direction does not match its shared memory's flags");
        }
        if (shm.shadowed() && in && size > 0) {
            MemorySegment.copy(shm.segment(), offset, shm.shadow(), offset, size);
        }
        TeeWire.field(b, i, TeeWire.A, shm.handle());
        TeeWire.field(b, i, TeeWire.B, offset);
        TeeWire.field(b, i, TeeWire.C, size);
    }

    private static void unmarshal(TeeOperation op, MemorySegment b, List<Staged> staged, int code) {
        for (int i = 0; i < 4; i++) {
            TeeParam p = op.param(i);
            switch (p) {
                case TeeParam.Value v when TeeWire.isOutput(v.type()) -> op.param(i, new TeeParam.Value(v.type(),
                        (int) TeeWire.field(b, i, TeeWire.A), (int) TeeWire.field(b, i, TeeWire.B)));
                case TeeParam.TempMemref m when TeeWire.isOutput(m.type()) -> {
                    long out = TeeWire.field(b, i, TeeWire.C);
                    op.param(i, new TeeParam.TempMemref(m.type(), m.buffer(), out));
                    if (code == TeeResult.SUCCESS) {
                        for (Staged s : staged) {
                            if (s.index() == i) {
                                long n = Math.min(Math.max(out, 0), s.user().byteSize());
                                MemorySegment.copy(s.block().segment(), 0, s.user(), 0, n);
                            }
                        }
                    }
                }
                case TeeParam.RegisteredMemref m -> {
                    TeeSharedMemory shm = m.parent();
                    boolean out = m.type() == TeeParam.MEMREF_WHOLE ? (shm.flags() & TeeSharedMemory.OUTPUT) != 0
                            : TeeWire.isOutput(m.type());
                    if (out) {
                        long size = TeeWire.field(b, i, TeeWire.C);
                        long offset = m.type() == TeeParam.MEMREF_WHOLE ? 0 : m.offset();
                        op.param(i, new TeeParam.RegisteredMemref(m.type(), shm, offset, size));
                        if (code == TeeResult.SUCCESS && shm.shadowed()) {
                            long n = Math.min(Math.max(size, 0), shm.size() - offset);
                            MemorySegment.copy(shm.shadow(), offset, shm.segment(), offset, n);
                        }
                    }
                }
                default -> {
                }
            }
        }
    }

    /** TEEC_FinalizeContext: closes every session and releases every shared memory of this context. */
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
        cancelPage.close();
    }

    /** Bytes of a memory segment as a new array (a convenience for small outputs). */
    public static byte[] bytes(MemorySegment s, long size) {
        return s.asSlice(0, Math.min(size, s.byteSize())).toArray(ValueLayout.JAVA_BYTE);
    }
}
