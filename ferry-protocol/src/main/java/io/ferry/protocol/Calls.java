package io.ferry.protocol;

import java.lang.foreign.MemorySegment;

/**
 * Named views of every call: one flyweight per {@link Op}, each a {@link CallRecord} whose
 * arguments have names ({@code Launch.kernel()}, {@code Launch.kernel(long)}). The index constants are the
 * catalogue's argument order; {@code CallsTest} checks every view against {@link Op#argNames()}, so encoders and
 * decoders on every side (guest library, host, device worker) share one layout per call.
 *
 * <p>Getters read, the same-named setters write and return the view. Wrap a record first:
 * {@code new Calls.Launch().wrap(segment, at)}.
 */
public final class Calls {
    private Calls() {
    }

    /** HELLO: magic, version, capabilities, pid, credential0–3; blob: guest name. */
    public static final class Hello extends CallRecord {
        public static final int MAGIC = 0, VERSION = 1, CAPABILITIES = 2, PID = 3,
                CREDENTIAL0 = 4, CREDENTIAL1 = 5, CREDENTIAL2 = 6, CREDENTIAL3 = 7;
        public Hello() { super(Op.HELLO); }
        @Override public Hello wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long magic() { return arg(MAGIC); }
        public Hello magic(long v) { return set(MAGIC, v); }
        public long version() { return arg(VERSION); }
        public Hello version(long v) { return set(VERSION, v); }
        public long capabilities() { return arg(CAPABILITIES); }
        public Hello capabilities(long v) { return set(CAPABILITIES, v); }
        public long pid() { return arg(PID); }
        public Hello pid(long v) { return set(PID, v); }
        /** Credential word {@code i} (0–3). */
        public long credential(int i) { return arg(CREDENTIAL0 + check(i, 4)); }
        public Hello credential(int i, long v) { return set(CREDENTIAL0 + check(i, 4), v); }
    }

    /** GOODBYE: no arguments. */
    public static final class Goodbye extends CallRecord {
        public Goodbye() { super(Op.GOODBYE); }
        @Override public Goodbye wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** NOP: value. */
    public static final class Nop extends CallRecord {
        public static final int VALUE = 0;
        public Nop() { super(Op.NOP); }
        @Override public Nop wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long value() { return arg(VALUE); }
        public Nop value(long v) { return set(VALUE, v); }
    }

    /** DEVICE_INFO: device. */
    public static final class DeviceInfo extends CallRecord {
        public static final int DEVICE = 0;
        public DeviceInfo() { super(Op.DEVICE_INFO); }
        @Override public DeviceInfo wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long device() { return arg(DEVICE); }
        public DeviceInfo device(long v) { return set(DEVICE, v); }
    }

    /** CONTEXT_CREATE: context, device. */
    public static final class ContextCreate extends CallRecord {
        public static final int CONTEXT = 0, DEVICE = 1;
        public ContextCreate() { super(Op.CONTEXT_CREATE); }
        @Override public ContextCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long context() { return arg(CONTEXT); }
        public ContextCreate context(long v) { return set(CONTEXT, v); }
        public long device() { return arg(DEVICE); }
        public ContextCreate device(long v) { return set(DEVICE, v); }
    }

    /** QUEUE_CREATE: queue, context, flags ({@link #queueFlags()}: the header has flags of its own), priority. */
    public static final class QueueCreate extends CallRecord {
        public static final int QUEUE = 0, CONTEXT = 1, FLAGS = 2, PRIORITY = 3;
        public QueueCreate() { super(Op.QUEUE_CREATE); }
        @Override public QueueCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public QueueCreate queue(long v) { return set(QUEUE, v); }
        public long context() { return arg(CONTEXT); }
        public QueueCreate context(long v) { return set(CONTEXT, v); }
        /** The queue's flags ({@link Wire#QUEUE_PROFILING}). */
        public long queueFlags() { return arg(FLAGS); }
        public QueueCreate queueFlags(long v) { return set(FLAGS, v); }
        public long priority() { return arg(PRIORITY); }
        public QueueCreate priority(long v) { return set(PRIORITY, v); }
    }

    /** BUFFER_CREATE: buffer, context, size, access, heap offset (-1: device memory only). */
    public static final class BufferCreate extends CallRecord {
        public static final int BUFFER = 0, CONTEXT = 1, SIZE = 2, ACCESS = 3, HEAP_OFFSET = 4;
        public BufferCreate() { super(Op.BUFFER_CREATE); }
        @Override public BufferCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long buffer() { return arg(BUFFER); }
        public BufferCreate buffer(long v) { return set(BUFFER, v); }
        public long context() { return arg(CONTEXT); }
        public BufferCreate context(long v) { return set(CONTEXT, v); }
        public long size() { return arg(SIZE); }
        public BufferCreate size(long v) { return set(SIZE, v); }
        public long access() { return arg(ACCESS); }
        public BufferCreate access(long v) { return set(ACCESS, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public BufferCreate heapOffset(long v) { return set(HEAP_OFFSET, v); }
    }

    /** PROGRAM_CREATE: program, context, language; blob: source. */
    public static final class ProgramCreate extends CallRecord {
        public static final int PROGRAM = 0, CONTEXT = 1, LANGUAGE = 2;
        public ProgramCreate() { super(Op.PROGRAM_CREATE); }
        @Override public ProgramCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramCreate program(long v) { return set(PROGRAM, v); }
        public long context() { return arg(CONTEXT); }
        public ProgramCreate context(long v) { return set(CONTEXT, v); }
        public long language() { return arg(LANGUAGE); }
        public ProgramCreate language(long v) { return set(LANGUAGE, v); }
    }

    /** PROGRAM_BUILD: program; blob: build options. */
    public static final class ProgramBuild extends CallRecord {
        public static final int PROGRAM = 0;
        public ProgramBuild() { super(Op.PROGRAM_BUILD); }
        @Override public ProgramBuild wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramBuild program(long v) { return set(PROGRAM, v); }
    }

    /** KERNEL_CREATE: kernel, program; blob: kernel name. */
    public static final class KernelCreate extends CallRecord {
        public static final int KERNEL = 0, PROGRAM = 1;
        public KernelCreate() { super(Op.KERNEL_CREATE); }
        @Override public KernelCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelCreate kernel(long v) { return set(KERNEL, v); }
        public long program() { return arg(PROGRAM); }
        public KernelCreate program(long v) { return set(PROGRAM, v); }
    }

    /** RELEASE: handle. */
    public static final class Release extends CallRecord {
        public static final int HANDLE = 0;
        public Release() { super(Op.RELEASE); }
        @Override public Release wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long handle() { return arg(HANDLE); }
        public Release handle(long v) { return set(HANDLE, v); }
    }

    /** KERNEL_ARG_BUFFER: kernel, index, buffer. */
    public static final class KernelArgBuffer extends CallRecord {
        public static final int KERNEL = 0, INDEX = 1, BUFFER = 2;
        public KernelArgBuffer() { super(Op.KERNEL_ARG_BUFFER); }
        @Override public KernelArgBuffer wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelArgBuffer kernel(long v) { return set(KERNEL, v); }
        public long index() { return arg(INDEX); }
        public KernelArgBuffer index(long v) { return set(INDEX, v); }
        public long buffer() { return arg(BUFFER); }
        public KernelArgBuffer buffer(long v) { return set(BUFFER, v); }
    }

    /** KERNEL_ARG_VALUE: kernel, index; blob: value bytes. */
    public static final class KernelArgValue extends CallRecord {
        public static final int KERNEL = 0, INDEX = 1;
        public KernelArgValue() { super(Op.KERNEL_ARG_VALUE); }
        @Override public KernelArgValue wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelArgValue kernel(long v) { return set(KERNEL, v); }
        public long index() { return arg(INDEX); }
        public KernelArgValue index(long v) { return set(INDEX, v); }
    }

    /** KERNEL_ARG_LOCAL: kernel, index, bytes. */
    public static final class KernelArgLocal extends CallRecord {
        public static final int KERNEL = 0, INDEX = 1, BYTES = 2;
        public KernelArgLocal() { super(Op.KERNEL_ARG_LOCAL); }
        @Override public KernelArgLocal wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelArgLocal kernel(long v) { return set(KERNEL, v); }
        public long index() { return arg(INDEX); }
        public KernelArgLocal index(long v) { return set(INDEX, v); }
        public long bytes() { return arg(BYTES); }
        public KernelArgLocal bytes(long v) { return set(BYTES, v); }
    }

    /**
     * BUFFER_WRITE and BUFFER_READ share this shape: queue, buffer, offset, size, heap offset, event, waits; blob:
     * the wait list ({@link WaitList}).
     */
    public abstract static sealed class Transfer<V extends Transfer<V>> extends CallRecord permits BufferWrite, BufferRead {
        public static final int QUEUE = 0, BUFFER = 1, OFFSET = 2, SIZE = 3, HEAP_OFFSET = 4, EVENT = 5, WAITS = 6;
        Transfer(Op op) { super(op); }
        public long waits() { return arg(WAITS); }
        public V waits(long v) { return set(WAITS, v); }
        public long queue() { return arg(QUEUE); }
        public V queue(long v) { return set(QUEUE, v); }
        public long buffer() { return arg(BUFFER); }
        public V buffer(long v) { return set(BUFFER, v); }
        public long offset() { return arg(OFFSET); }
        public V offset(long v) { return set(OFFSET, v); }
        public long size() { return arg(SIZE); }
        public V size(long v) { return set(SIZE, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public V heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long event() { return arg(EVENT); }
        public V event(long v) { return set(EVENT, v); }
    }

    /** BUFFER_WRITE: heap → buffer. */
    public static final class BufferWrite extends Transfer<BufferWrite> {
        public BufferWrite() { super(Op.BUFFER_WRITE); }
        @Override public BufferWrite wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** BUFFER_READ: buffer → heap. */
    public static final class BufferRead extends Transfer<BufferRead> {
        public BufferRead() { super(Op.BUFFER_READ); }
        @Override public BufferRead wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** BUFFER_COPY: queue, source, destination, source offset, destination offset, size, event, waits; blob: waits. */
    public static final class BufferCopy extends CallRecord {
        public static final int QUEUE = 0, SOURCE = 1, DESTINATION = 2, SOURCE_OFFSET = 3, DESTINATION_OFFSET = 4,
                SIZE = 5, EVENT = 6, WAITS = 7;
        public BufferCopy() { super(Op.BUFFER_COPY); }
        public long waits() { return arg(WAITS); }
        public BufferCopy waits(long v) { return set(WAITS, v); }
        @Override public BufferCopy wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public BufferCopy queue(long v) { return set(QUEUE, v); }
        public long source() { return arg(SOURCE); }
        public BufferCopy source(long v) { return set(SOURCE, v); }
        public long destination() { return arg(DESTINATION); }
        public BufferCopy destination(long v) { return set(DESTINATION, v); }
        public long sourceOffset() { return arg(SOURCE_OFFSET); }
        public BufferCopy sourceOffset(long v) { return set(SOURCE_OFFSET, v); }
        public long destinationOffset() { return arg(DESTINATION_OFFSET); }
        public BufferCopy destinationOffset(long v) { return set(DESTINATION_OFFSET, v); }
        public long size() { return arg(SIZE); }
        public BufferCopy size(long v) { return set(SIZE, v); }
        public long event() { return arg(EVENT); }
        public BufferCopy event(long v) { return set(EVENT, v); }
    }

    /** BUFFER_FILL: queue, buffer, offset, size, event, waits; blob: the wait list, then the pattern. */
    public static final class BufferFill extends CallRecord {
        public static final int QUEUE = 0, BUFFER = 1, OFFSET = 2, SIZE = 3, EVENT = 4, WAITS = 5;
        public BufferFill() { super(Op.BUFFER_FILL); }
        public long waits() { return arg(WAITS); }
        public BufferFill waits(long v) { return set(WAITS, v); }
        @Override public BufferFill wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public BufferFill queue(long v) { return set(QUEUE, v); }
        public long buffer() { return arg(BUFFER); }
        public BufferFill buffer(long v) { return set(BUFFER, v); }
        public long offset() { return arg(OFFSET); }
        public BufferFill offset(long v) { return set(OFFSET, v); }
        public long size() { return arg(SIZE); }
        public BufferFill size(long v) { return set(SIZE, v); }
        public long event() { return arg(EVENT); }
        public BufferFill event(long v) { return set(EVENT, v); }
    }

    /**
     * LAUNCH: queue, kernel, dimensions, offset0–2, global0–2, local0–2, event, waits; blob: the wait list. An
     * all-zero offset means none; an all-zero local size lets the device choose.
     */
    public static final class Launch extends CallRecord {
        public static final int QUEUE = 0, KERNEL = 1, DIMENSIONS = 2, OFFSET0 = 3, OFFSET1 = 4, OFFSET2 = 5,
                GLOBAL0 = 6, GLOBAL1 = 7, GLOBAL2 = 8, LOCAL0 = 9, LOCAL1 = 10, LOCAL2 = 11, EVENT = 12, WAITS = 13;
        /** Most dimensions a launch has. */
        public static final int MAX_DIMENSIONS = 3;
        public Launch() { super(Op.LAUNCH); }
        @Override public Launch wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public Launch queue(long v) { return set(QUEUE, v); }
        public long kernel() { return arg(KERNEL); }
        public Launch kernel(long v) { return set(KERNEL, v); }
        public long dimensions() { return arg(DIMENSIONS); }
        public Launch dimensions(long v) { return set(DIMENSIONS, v); }
        public long offset(int i) { return arg(OFFSET0 + check(i, MAX_DIMENSIONS)); }
        public Launch offset(int i, long v) { return set(OFFSET0 + check(i, MAX_DIMENSIONS), v); }
        public long global(int i) { return arg(GLOBAL0 + check(i, MAX_DIMENSIONS)); }
        public Launch global(int i, long v) { return set(GLOBAL0 + check(i, MAX_DIMENSIONS), v); }
        public long local(int i) { return arg(LOCAL0 + check(i, MAX_DIMENSIONS)); }
        public Launch local(int i, long v) { return set(LOCAL0 + check(i, MAX_DIMENSIONS), v); }
        public long event() { return arg(EVENT); }
        public Launch event(long v) { return set(EVENT, v); }
        public long waits() { return arg(WAITS); }
        public Launch waits(long v) { return set(WAITS, v); }

        /**
         * Writes dimensions and the three ranges: {@code offset} and {@code local} may be null (written as zeros);
         * unused dimensions are zero.
         */
        public Launch range(int dims, long[] offset, long[] global, long[] local) {
            dimensions(dims);
            for (int i = 0; i < MAX_DIMENSIONS; i++) {
                boolean used = i < dims;
                offset(i, used && offset != null ? offset[i] : 0);
                global(i, used ? global[i] : 0);
                local(i, used && local != null ? local[i] : 0);
            }
            return this;
        }

        /** The first {@code dims} offsets, or null when all are zero (no offset). */
        public long[] offsets(int dims) {
            return words(OFFSET0, dims, true);
        }

        /** The first {@code dims} global sizes. */
        public long[] globals(int dims) {
            return words(GLOBAL0, dims, false);
        }

        /** The first {@code dims} local sizes, or null when all are zero (the device chooses). */
        public long[] locals(int dims) {
            return words(LOCAL0, dims, true);
        }

        private long[] words(int first, int dims, boolean nullWhenZero) {
            long[] out = new long[check(dims - 1, MAX_DIMENSIONS) + 1];
            boolean any = false;
            for (int i = 0; i < dims; i++) {
                out[i] = arg(first + i);
                any |= out[i] != 0;
            }
            return nullWhenZero && !any ? null : out;
        }
    }

    /** FINISH: queue. */
    public static final class Finish extends CallRecord {
        public static final int QUEUE = 0;
        public Finish() { super(Op.FINISH); }
        @Override public Finish wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public Finish queue(long v) { return set(QUEUE, v); }
    }

    /** EVENT_WAIT: event. */
    public static final class EventWait extends CallRecord {
        public static final int EVENT = 0;
        public EventWait() { super(Op.EVENT_WAIT); }
        @Override public EventWait wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long event() { return arg(EVENT); }
        public EventWait event(long v) { return set(EVENT, v); }
    }

    /** QUEUE_HINT: queue, priority, deadline ns, scope. */
    public static final class QueueHint extends CallRecord {
        public static final int QUEUE = 0, PRIORITY = 1, DEADLINE_NS = 2, SCOPE = 3;
        public QueueHint() { super(Op.QUEUE_HINT); }
        @Override public QueueHint wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public QueueHint queue(long v) { return set(QUEUE, v); }
        public long priority() { return arg(PRIORITY); }
        public QueueHint priority(long v) { return set(PRIORITY, v); }
        public long deadlineNs() { return arg(DEADLINE_NS); }
        public QueueHint deadlineNs(long v) { return set(DEADLINE_NS, v); }
        public long scope() { return arg(SCOPE); }
        public QueueHint scope(long v) { return set(SCOPE, v); }
    }

    /** QUEUE_RELEASE: queue, period ns, offset ns, budget ns. */
    public static final class QueueRelease extends CallRecord {
        public static final int QUEUE = 0, PERIOD_NS = 1, OFFSET_NS = 2, BUDGET_NS = 3;
        public QueueRelease() { super(Op.QUEUE_RELEASE); }
        @Override public QueueRelease wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long queue() { return arg(QUEUE); }
        public QueueRelease queue(long v) { return set(QUEUE, v); }
        public long periodNs() { return arg(PERIOD_NS); }
        public QueueRelease periodNs(long v) { return set(PERIOD_NS, v); }
        public long offsetNs() { return arg(OFFSET_NS); }
        public QueueRelease offsetNs(long v) { return set(OFFSET_NS, v); }
        public long budgetNs() { return arg(BUDGET_NS); }
        public QueueRelease budgetNs(long v) { return set(BUDGET_NS, v); }
    }

    static int check(int i, int n) {
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("index " + i + " outside 0.." + (n - 1));
        }
        return i;
    }

    // ---- the TEE's calls (the parameter block in the blob is TeeWire's) ----

    /** TEE_OPEN_SESSION: session, uuid high, uuid low, login, connection data, cancel word; blob: parameter block. */
    public static final class TeeOpenSession extends CallRecord {
        public static final int SESSION = 0, UUID_HIGH = 1, UUID_LOW = 2, LOGIN = 3, CONNECTION_DATA = 4,
                CANCEL_WORD = 5;
        public TeeOpenSession() { super(Op.TEE_OPEN_SESSION); }
        @Override public TeeOpenSession wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long session() { return arg(SESSION); }
        public TeeOpenSession session(long v) { return set(SESSION, v); }
        public long uuidHigh() { return arg(UUID_HIGH); }
        public TeeOpenSession uuidHigh(long v) { return set(UUID_HIGH, v); }
        public long uuidLow() { return arg(UUID_LOW); }
        public TeeOpenSession uuidLow(long v) { return set(UUID_LOW, v); }
        public long login() { return arg(LOGIN); }
        public TeeOpenSession login(long v) { return set(LOGIN, v); }
        public long connectionData() { return arg(CONNECTION_DATA); }
        public TeeOpenSession connectionData(long v) { return set(CONNECTION_DATA, v); }
        public long cancelWord() { return arg(CANCEL_WORD); }
        public TeeOpenSession cancelWord(long v) { return set(CANCEL_WORD, v); }
    }

    /** TEE_INVOKE: session, command, cancel word; blob: parameter block. */
    public static final class TeeInvoke extends CallRecord {
        public static final int SESSION = 0, COMMAND = 1, CANCEL_WORD = 2;
        public TeeInvoke() { super(Op.TEE_INVOKE); }
        @Override public TeeInvoke wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long session() { return arg(SESSION); }
        public TeeInvoke session(long v) { return set(SESSION, v); }
        public long command() { return arg(COMMAND); }
        public TeeInvoke command(long v) { return set(COMMAND, v); }
        public long cancelWord() { return arg(CANCEL_WORD); }
        public TeeInvoke cancelWord(long v) { return set(CANCEL_WORD, v); }
    }

    /** TEE_CLOSE_SESSION: session. */
    public static final class TeeCloseSession extends CallRecord {
        public static final int SESSION = 0;
        public TeeCloseSession() { super(Op.TEE_CLOSE_SESSION); }
        @Override public TeeCloseSession wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long session() { return arg(SESSION); }
        public TeeCloseSession session(long v) { return set(SESSION, v); }
    }

    /** TEE_SHM_REGISTER: shm, heap offset, size, flags (the memory's TeeWire.MEM_* flags). */
    public static final class TeeShmRegister extends CallRecord {
        public static final int SHM = 0, HEAP_OFFSET = 1, SIZE = 2, FLAGS = 3;
        public TeeShmRegister() { super(Op.TEE_SHM_REGISTER); }
        @Override public TeeShmRegister wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long shm() { return arg(SHM); }
        public TeeShmRegister shm(long v) { return set(SHM, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public TeeShmRegister heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long size() { return arg(SIZE); }
        public TeeShmRegister size(long v) { return set(SIZE, v); }
        public long memoryFlags() { return arg(FLAGS); }
        public TeeShmRegister memoryFlags(long v) { return set(FLAGS, v); }
    }

    /** TEE_SHM_RELEASE: shm. */
    public static final class TeeShmRelease extends CallRecord {
        public static final int SHM = 0;
        public TeeShmRelease() { super(Op.TEE_SHM_RELEASE); }
        @Override public TeeShmRelease wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long shm() { return arg(SHM); }
        public TeeShmRelease shm(long v) { return set(SHM, v); }
    }

    /**
     * TEE_DIRECT: session, heap offset, size: a heap block the guest gives its open session as a direct lane to the
     * TA instance ({@link TeeLane}, "Direct lanes").
     */
    public static final class TeeDirect extends CallRecord {
        public static final int SESSION = 0, HEAP_OFFSET = 1, SIZE = 2;
        public TeeDirect() { super(Op.TEE_DIRECT); }
        @Override public TeeDirect wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long session() { return arg(SESSION); }
        public TeeDirect session(long v) { return set(SESSION, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public TeeDirect heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long size() { return arg(SIZE); }
        public TeeDirect size(long v) { return set(SIZE, v); }
    }
}
