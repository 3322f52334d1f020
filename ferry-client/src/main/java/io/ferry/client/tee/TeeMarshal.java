package io.ferry.client.tee;

import io.ferry.client.FerryException;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * An operation's four parameters to the wire's parameter block and back. Every argument is checked before anything
 * is staged or sent (origin API); after the call, data is copied back only within each memref's window (the range
 * the call named), however many bytes the TA reported: an over-report sets the size and copies at most the window.
 */
final class TeeMarshal {
    private TeeMarshal() {
    }

    /** A temporary memref staged through the heap for one call: {@code size} bytes of {@code user}. */
    record Staged(int index, TeeTransport.HeapMemory block, MemorySegment user, long size) {
    }

    static TeeException bad(String message) {
        return new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, message);
    }

    /** Checks every parameter of {@code op} without touching memory or the connection. */
    static void check(TeeContext ctx, TeeOperation op) {
        for (int i = 0; i < 4; i++) {
            switch (op.param(i)) {
                case TeeParam.TempMemref m -> checkTemp(i, m);
                case TeeParam.RegisteredMemref m -> window(ctx, i, m);
                default -> {
                }
            }
        }
    }

    private static void checkTemp(int i, TeeParam.TempMemref m) {
        MemorySegment buf = m.buffer();
        if (m.size() < 0 || (buf != null && m.size() > buf.byteSize())) {
            throw bad("memref " + i + " size " + m.size() + " is negative or exceeds its buffer"
                    + (buf == null ? "" : " of " + buf.byteSize() + " bytes"));
        }
        if (buf == null) {
            return;
        }
        if (!buf.scope().isAlive()) {
            throw bad("memref " + i + ": its memory is closed");
        }
        if (buf.isReadOnly() && TeeWire.isOutput(m.type())) {
            throw bad("memref " + i + " is read-only memory, which can be a temporary INPUT only, not "
                    + (m.type() == TeeParam.MEMREF_TEMP_OUTPUT ? "OUTPUT" : "INOUT"));
        }
    }

    /** The checked [offset, size) of a registered memref within its shared memory, and its directions. */
    record Window(long offset, long size, boolean in, boolean out) {
    }

    static Window window(TeeContext ctx, int i, TeeParam.RegisteredMemref m) {
        TeeSharedMemory shm = m.parent();
        if (shm.context() != ctx || shm.released()) {
            throw bad("memref " + i + " names shared memory that is released or of another context");
        }
        boolean whole = m.type() == TeeParam.MEMREF_WHOLE;
        long offset = whole ? 0 : m.offset();
        long size = whole ? shm.size() : m.size();
        if (offset < 0 || size < 0 || offset > shm.size() || size > shm.size() - offset) {
            throw bad("memref " + i + " [" + offset + ", +" + size + ") exceeds its shared memory of " + shm.size()
                    + " bytes");
        }
        boolean in = whole ? (shm.flags() & TeeSharedMemory.INPUT) != 0 : TeeWire.isInput(m.type());
        boolean out = whole ? (shm.flags() & TeeSharedMemory.OUTPUT) != 0 : TeeWire.isOutput(m.type());
        if ((in && (shm.flags() & TeeSharedMemory.INPUT) == 0) || (out && (shm.flags() & TeeSharedMemory.OUTPUT) == 0)) {
            throw bad("memref " + i + " direction does not match its shared memory's flags");
        }
        return new Window(offset, size, in, out);
    }

    /** The parameter block of a checked operation; temporary memrefs outside the heap are staged into it. */
    static byte[] marshal(TeeContext ctx, TeeTransport transport, TeeOperation op, List<Staged> staged) {
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
                case TeeParam.TempMemref m -> marshalTemp(transport, b, i, m, staged);
                case TeeParam.RegisteredMemref m -> {
                    Window w = window(ctx, i, m);
                    TeeSharedMemory shm = m.parent();
                    if (shm.shadowed() && w.in() && w.size() > 0) {
                        MemorySegment.copy(shm.segment(), w.offset(), shm.shadow(), w.offset(), w.size());
                    }
                    TeeWire.field(b, i, TeeWire.A, shm.handle());
                    TeeWire.field(b, i, TeeWire.B, w.offset());
                    TeeWire.field(b, i, TeeWire.C, w.size());
                }
            }
        }
        return bytes;
    }

    private static void marshalTemp(TeeTransport transport, MemorySegment b, int i, TeeParam.TempMemref m,
                                    List<Staged> staged) {
        if (m.buffer() == null) {
            // The host bounds a null memref's size (TeeLimits): the client does not know the host's limit.
            TeeWire.field(b, i, TeeWire.A, TeeWire.NULL_MEMREF);
            TeeWire.field(b, i, TeeWire.C, m.size());
            return;
        }
        MemorySegment buf = m.buffer().asSlice(0, m.size());
        long off;
        try {
            off = m.size() == 0 ? 0 : transport.heapOffset(buf);
        } catch (IllegalStateException e) {
            throw bad("memref " + i + ": " + e.getMessage());
        }
        if (off < 0) {
            TeeTransport.HeapMemory block;
            try {
                block = transport.allocateStaging(m.size());
            } catch (FerryException | IllegalArgumentException e) {
                throw new TeeException(TeeResult.ERROR_OUT_OF_MEMORY, TeeResult.ORIGIN_API,
                        "cannot stage memref " + i + " of " + m.size() + " bytes in the region heap", e);
            }
            staged.add(new Staged(i, block, m.buffer(), m.size()));
            if (m.type() != TeeParam.MEMREF_TEMP_OUTPUT) {
                MemorySegment.copy(buf, 0, block.segment(), 0, m.size());
            }
            off = block.offset();
        }
        TeeWire.field(b, i, TeeWire.A, off);
        TeeWire.field(b, i, TeeWire.C, m.size());
    }

    /** What a call answered per parameter: an output value's words (a, b), an output memref's reported size (c). */
    interface Answer {
        long a(int i);

        long b(int i);

        long c(int i);
    }

    /**
     * Where a call path holds a memref's output data until it is copied back into the caller's memory: copies
     * {@code n} bytes (already bounded by the window) of memref {@code i} ({@code sent}, as the call was made) into
     * {@code to} at {@code at}, or does nothing where the data came back by reference.
     */
    interface Outputs {
        void copy(int i, TeeParam sent, MemorySegment to, long at, long n);
    }

    /** The ring's answer: the completion's parameter block. */
    static Answer answer(MemorySegment block) {
        return new Answer() {
            public long a(int i) {
                return TeeWire.field(block, i, TeeWire.A);
            }

            public long b(int i) {
                return TeeWire.field(block, i, TeeWire.B);
            }

            public long c(int i) {
                return TeeWire.field(block, i, TeeWire.C);
            }
        };
    }

    /**
     * The ring's output data: temporary memrefs staged through the heap, shadowed shared memory (memory in the heap
     * the host wrote itself).
     */
    static Outputs outputs(List<Staged> staged) {
        return (i, sent, to, at, n) -> {
            if (sent instanceof TeeParam.RegisteredMemref m) {
                if (m.parent().shadowed()) {
                    MemorySegment.copy(m.parent().shadow(), at, to, at, n);
                }
                return;
            }
            for (Staged s : staged) {
                if (s.index() == i) {
                    MemorySegment.copy(s.block().segment(), 0, to, at, n);
                }
            }
        };
    }

    /**
     * Output values and sizes of {@code answer} into {@code op}; on SUCCESS, output data from {@code outputs}, at most
     * each memref's window (a TA that reports more than it was given sets the size only). Both call paths, the ring
     * and a direct lane, come back through here.
     */
    static void unmarshal(TeeOperation op, Answer answer, int code, Outputs outputs) {
        for (int i = 0; i < 4; i++) {
            TeeParam p = op.param(i);
            switch (p) {
                case TeeParam.Value v when TeeWire.isOutput(v.type()) -> op.param(i, new TeeParam.Value(v.type(),
                        (int) answer.a(i), (int) answer.b(i)));
                case TeeParam.TempMemref m when TeeWire.isOutput(m.type()) -> {
                    long reported = answer.c(i);
                    op.param(i, new TeeParam.TempMemref(m.type(), m.buffer(), reported));
                    if (code == TeeResult.SUCCESS && m.buffer() != null) {
                        outputs.copy(i, p, m.buffer(), 0, within(reported, m.size()));
                    }
                }
                case TeeParam.RegisteredMemref m -> {
                    TeeSharedMemory shm = m.parent();
                    boolean whole = m.type() == TeeParam.MEMREF_WHOLE;
                    boolean out = whole ? (shm.flags() & TeeSharedMemory.OUTPUT) != 0 : TeeWire.isOutput(m.type());
                    if (out) {
                        // The window as marshal checked it (WHOLE: the shared memory's size, whatever m says).
                        long offset = whole ? 0 : m.offset();
                        long window = whole ? shm.size() : m.size();
                        long reported = answer.c(i);
                        op.param(i, new TeeParam.RegisteredMemref(m.type(), shm, offset, reported));
                        if (code == TeeResult.SUCCESS && !shm.released()) {
                            outputs.copy(i, p, shm.segment(), offset, within(reported, window));
                        }
                    }
                }
                default -> {
                }
            }
        }
    }

    /**
     * The type a direct lane carries for a registered memref (WHOLE, PARTIAL_*): the temporary memref type of its
     * window's directions, 5–7, as the host normalizes the parameter block's registered memrefs.
     */
    static int laneType(Window w) {
        return TeeWire.MEMREF_TEMP_INPUT - 1 + (w.in() ? 1 : 0) + (w.out() ? 2 : 0);
    }

    /** Bytes to copy back of a reported size into a window of {@code window} bytes: never beyond the window. */
    static long within(long reported, long window) {
        return Math.min(Math.max(reported, 0), window);
    }
}
