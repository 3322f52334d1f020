package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;

/**
 * Which bytes of its lane's heap a call reads (IN) and writes (OUT), from the {@link Op} catalogue. Over shared
 * memory nobody needs to know: host and guest see the same heap. Over a byte stream (docs/network.md) the heap is
 * two copies, one on each side, and these are the bytes that must travel: a guest's stream pump sends a call's IN
 * ranges before the call, and the host's proxy sends its OUT ranges before the completion that makes them certain.
 *
 * <p>Where the ranges are:
 * <table>
 * <caption>Heap ranges by opcode</caption>
 * <tr><th>op</th><th>range</th><th>direction</th></tr>
 * <tr><td>BUFFER_WRITE, BUFFER_READ</td><td>"heap offset", "size"</td><td>IN, OUT</td></tr>
 * <tr><td>BUFFER_WRITE_RECT, IMAGE_WRITE; BUFFER_READ_RECT, IMAGE_READ</td><td>"heap offset", "heap size"</td>
 *     <td>IN; OUT</td></tr>
 * <tr><td>PROGRAM_CREATE_BINARY</td><td>"heap offset", "size"</td><td>IN</td></tr>
 * <tr><td>PROGRAM_CREATE_HEAP</td><td>"heap offset", "size"</td><td>IN</td></tr>
 * <tr><td>INFO</td><td>"heap offset", "heap size" (when the size is nonzero)</td><td>OUT</td></tr>
 * <tr><td>TEE_OPEN_SESSION, TEE_INVOKE</td><td>each memref of the parameter block: a temporary memref's
 *     (heap offset, size); a registered one's window of its shared memory</td><td>by parameter type (WHOLE: by the
 *     shared memory's flags)</td></tr>
 * </table>
 * Three ops name a heap offset without moving data at the call: BUFFER_CREATE (a buffer that lives in the heap, used
 * in place by the device: {@link #heapResident}), TEE_SHM_REGISTER (registration; data moves at the invokes that
 * use it) and TEE_DIRECT (a direct TEE lane: shared memory between the guest and its TA instance, which a stream
 * client, having none, never offers). The TEE cancel word is not traffic either. {@code HeapTrafficTest} checks that every op whose arguments
 * name a heap offset is classified here.
 *
 * <p>The values are the caller's, unchecked: {@link Range#within} says whether a range lies inside a heap slice, and
 * a reader of untrusted records calls it before it touches anything.
 */
public final class HeapTraffic {
    private HeapTraffic() {
    }

    public enum Direction { IN, OUT }

    /** {@code length} bytes at {@code offset} of the lane's heap slice, read (IN) or written (OUT) by a call. */
    public record Range(long offset, long length, Direction direction) {
        /** Whether the range is a sane one inside a heap slice of {@code heapSize} bytes. */
        public boolean within(long heapSize) {
            return offset >= 0 && length > 0 && length <= heapSize && offset <= heapSize - length;
        }
    }

    /** A guest's registered TEE shared memory, by handle (the pumps track TEE_SHM_REGISTER and TEE_SHM_RELEASE). */
    public interface SharedMemory {
        /** Heap offset of shared memory {@code handle}, or -1 when it is unknown. */
        long offset(long handle);

        /** Size of shared memory {@code handle}, or -1 when it is unknown. */
        long size(long handle);

        /** Its TEEC_MEM_INPUT / TEEC_MEM_OUTPUT flags (a WHOLE memref moves data by them); both by default. */
        default int flags(long handle) {
            return TeeWire.MEM_INPUT | TeeWire.MEM_OUTPUT;
        }
    }

    /**
     * The registrations a pump has seen (TEE_SHM_REGISTER: handle, heap offset, size, flags; TEE_SHM_RELEASE), as the
     * {@link SharedMemory} its {@link #ranges} calls look up. Not thread safe.
     */
    public static final class Registrations implements SharedMemory {
        private final java.util.Map<Long, long[]> byHandle = new java.util.HashMap<>();

        /** Records TEE_SHM_REGISTER's handle, heap offset, size and flags (a later one for the handle replaces it). */
        public void register(long handle, long offset, long size, long flags) {
            byHandle.put(handle, new long[] {offset, size, flags});
        }

        public void release(long handle) {
            byHandle.remove(handle);
        }

        public boolean contains(long handle) {
            return byHandle.containsKey(handle);
        }

        public int count() {
            return byHandle.size();
        }

        public void clear() {
            byHandle.clear();
        }

        @Override
        public long offset(long handle) {
            long[] r = byHandle.get(handle);
            return r == null ? -1 : r[0];
        }

        @Override
        public long size(long handle) {
            long[] r = byHandle.get(handle);
            return r == null ? -1 : r[1];
        }

        @Override
        public int flags(long handle) {
            long[] r = byHandle.get(handle);
            return r == null ? SharedMemory.super.flags(handle) : (int) r[2];
        }
    }

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    // per opcode: argument indexes of the range's offset and length, and its direction; -1: none
    private static final int[] OFFSET_ARG = new int[128];
    private static final int[] LENGTH_ARG = new int[128];
    private static final Direction[] DIRECTION = new Direction[128];
    private static final int[] QUEUE_ARG = new int[128];
    private static final int[] EVENT_ARG = new int[128];

    static {
        java.util.Arrays.fill(OFFSET_ARG, -1);
        java.util.Arrays.fill(LENGTH_ARG, -1);
        for (Op op : Op.values()) {
            QUEUE_ARG[op.code()] = op.argNames().indexOf("queue");
            EVENT_ARG[op.code()] = op.argNames().indexOf("event");
        }
        range(Op.BUFFER_WRITE, "size", Direction.IN);
        range(Op.BUFFER_READ, "size", Direction.OUT);
        range(Op.BUFFER_WRITE_RECT, "heap size", Direction.IN);
        range(Op.BUFFER_READ_RECT, "heap size", Direction.OUT);
        range(Op.IMAGE_WRITE, "heap size", Direction.IN);
        range(Op.IMAGE_READ, "heap size", Direction.OUT);
        range(Op.PROGRAM_CREATE_BINARY, "size", Direction.IN);
        range(Op.PROGRAM_CREATE_HEAP, "size", Direction.IN);
        range(Op.INFO, "heap size", Direction.OUT);
    }

    private static void range(Op op, String length, Direction direction) {
        OFFSET_ARG[op.code()] = op.argNames().indexOf("heap offset");
        LENGTH_ARG[op.code()] = op.argNames().indexOf(length);
        DIRECTION[op.code()] = direction;
        if (OFFSET_ARG[op.code()] < 0 || LENGTH_ARG[op.code()] < 0) {
            throw new IllegalStateException(op + " lacks its heap range arguments");
        }
    }

    /** Whether calls of {@code op} move heap bytes (an argument range, or TEE memrefs). */
    public static boolean hasHeapRanges(Op op) {
        return DIRECTION[op.code()] != null || op == Op.TEE_OPEN_SESSION || op == Op.TEE_INVOKE;
    }

    /** The argument index of {@code op}'s heap range offset, or -1 (for the generated C header). */
    public static int offsetArg(Op op) {
        return OFFSET_ARG[op.code()];
    }

    /** The argument index of {@code op}'s heap range length, or -1. */
    public static int lengthArg(Op op) {
        return LENGTH_ARG[op.code()];
    }

    /** The direction of {@code op}'s argument range, or null when it has none. */
    public static Direction direction(Op op) {
        return DIRECTION[op.code()];
    }

    /**
     * Reports each heap range of the call record at the start of {@code rec} (whose framing the caller checked:
     * a known op, a length that matches its arguments and blob) to {@code out}. Empty ranges and null memrefs are
     * left out; registered memrefs whose shared memory {@code shm} does not know are left out too (the host refuses
     * the call). Values are unchecked: see {@link Range#within}.
     */
    public static void ranges(MemorySegment rec, SharedMemory shm, Consumer<Range> out) {
        Op op = Op.of(rec.get(INT, CallRecord.OP_OFFSET));
        if (op == null) {
            return;
        }
        int code = op.code();
        if (DIRECTION[code] != null) {
            long offset = arg(rec, OFFSET_ARG[code]);
            long length = arg(rec, LENGTH_ARG[code]);
            if (length != 0) {
                out.accept(new Range(offset, length, DIRECTION[code]));
            }
        } else if (op == Op.TEE_OPEN_SESSION || op == Op.TEE_INVOKE) {
            long blob = CallRecord.HEADER_LENGTH + 8L * op.argCount();
            int blobLength = rec.get(INT, CallRecord.BLOB_LENGTH_OFFSET);
            if (blobLength < TeeWire.BLOCK_LENGTH || blob + TeeWire.BLOCK_LENGTH > rec.byteSize()) {
                return;
            }
            memrefs(rec.asSlice(blob, TeeWire.BLOCK_LENGTH), shm, out);
        }
    }

    /** The memref ranges of a TEE parameter block (as sent by the guest). */
    public static void memrefs(MemorySegment block, SharedMemory shm, Consumer<Range> out) {
        int types = TeeWire.blockTypes(block);
        for (int i = 0; i < TeeWire.PARAMS; i++) {
            int type = TeeWire.type(types, i);
            long a = TeeWire.field(block, i, TeeWire.A);
            long b = TeeWire.field(block, i, TeeWire.B);
            long c = TeeWire.field(block, i, TeeWire.C);
            boolean in = TeeWire.isInput(type);
            boolean outgoing = TeeWire.isOutput(type);
            long offset;
            long length;
            if (TeeWire.isTempMemref(type)) {
                if (a == TeeWire.NULL_MEMREF || c == 0) {
                    continue;
                }
                offset = a;
                length = c;
            } else if (TeeWire.isRegisteredMemref(type)) {
                long base = shm == null ? -1 : shm.offset(a);
                long size = shm == null ? -1 : shm.size(a);
                if (base < 0 || size <= 0) {
                    continue;
                }
                if (type == TeeWire.MEMREF_WHOLE) {
                    int flags = shm.flags(a);
                    in = (flags & TeeWire.MEM_INPUT) != 0;
                    outgoing = (flags & TeeWire.MEM_OUTPUT) != 0;
                    offset = base;
                    length = size;
                } else {
                    if (b < 0 || c <= 0 || b > size || c > size - b) {
                        continue; // outside its shared memory: the host refuses the call
                    }
                    offset = base + b;
                    length = c;
                }
            } else {
                continue;
            }
            if (in) {
                out.accept(new Range(offset, length, Direction.IN));
            }
            if (outgoing) {
                out.accept(new Range(offset, length, Direction.OUT));
            }
        }
    }

    /** The heap offset of a BUFFER_CREATE record (a buffer used in place in the heap when it is not negative). */
    public static long heapResident(MemorySegment rec) {
        Op op = Op.of(rec.get(INT, CallRecord.OP_OFFSET));
        if (op != Op.BUFFER_CREATE) {
            return -1;
        }
        return arg(rec, op.argNames().indexOf("heap offset"));
    }

    /** The record's "queue" argument, or 0 when its op has none. */
    public static long queue(MemorySegment rec) {
        Op op = Op.of(rec.get(INT, CallRecord.OP_OFFSET));
        return op == null || QUEUE_ARG[op.code()] < 0 ? 0 : arg(rec, QUEUE_ARG[op.code()]);
    }

    /** The record's "event" argument (the event the call signals; 0 for none), or 0 when its op has none. */
    public static long event(MemorySegment rec) {
        Op op = Op.of(rec.get(INT, CallRecord.OP_OFFSET));
        return op == null || EVENT_ARG[op.code()] < 0 ? 0 : arg(rec, EVENT_ARG[op.code()]);
    }

    private static long arg(MemorySegment rec, int index) {
        return rec.get(LONG, CallRecord.ARGS_OFFSET + 8L * index);
    }
}
