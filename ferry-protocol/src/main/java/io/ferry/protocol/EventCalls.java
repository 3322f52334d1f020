package io.ferry.protocol;

import java.lang.foreign.MemorySegment;

/**
 * Named views of the event and queue calls (opcodes 38–47), as {@link Calls} has for the others; {@code CallsTest}
 * checks both against the catalogue.
 */
public final class EventCalls {
    private EventCalls() {
    }

    /** MARKER and BARRIER share this shape: queue, event, waits; blob: the wait list ({@link WaitList}). */
    public abstract static sealed class Sync<V extends Sync<V>> extends CallRecord permits Marker, Barrier {
        public static final int QUEUE = 0, EVENT = 1, WAITS = 2;
        Sync(Op op) { super(op); }
        public long queue() { return arg(QUEUE); }
        public V queue(long v) { return set(QUEUE, v); }
        public long event() { return arg(EVENT); }
        public V event(long v) { return set(EVENT, v); }
        public long waits() { return arg(WAITS); }
        public V waits(long v) { return set(WAITS, v); }
    }

    /** MARKER: completes when the listed events (none: every earlier command of the queue) have completed. */
    public static final class Marker extends Sync<Marker> {
        public Marker() { super(Op.MARKER); }
        @Override public Marker wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** BARRIER: as MARKER, and later commands of the queue wait for it. */
    public static final class Barrier extends Sync<Barrier> {
        public Barrier() { super(Op.BARRIER); }
        @Override public Barrier wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
    }

    /** USER_EVENT_CREATE: event, context. */
    public static final class UserEventCreate extends CallRecord {
        public static final int EVENT = 0, CONTEXT = 1;
        public UserEventCreate() { super(Op.USER_EVENT_CREATE); }
        @Override public UserEventCreate wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long event() { return arg(EVENT); }
        public UserEventCreate event(long v) { return set(EVENT, v); }
        public long context() { return arg(CONTEXT); }
        public UserEventCreate context(long v) { return set(CONTEXT, v); }
    }

    /** USER_EVENT_SET: event, execution status (0 complete, negative: failed with that code). */
    public static final class UserEventSet extends CallRecord {
        public static final int EVENT = 0, EXECUTION_STATUS = 1;
        public UserEventSet() { super(Op.USER_EVENT_SET); }
        @Override public UserEventSet wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long event() { return arg(EVENT); }
        public UserEventSet event(long v) { return set(EVENT, v); }
        public long executionStatus() { return arg(EXECUTION_STATUS); }
        public UserEventSet executionStatus(long v) { return set(EXECUTION_STATUS, v); }
    }

    /** EVENT_STATUS: event; result: its execution status. */
    public static final class EventStatus extends CallRecord {
        public static final int EVENT = 0;
        public EventStatus() { super(Op.EVENT_STATUS); }
        @Override public EventStatus wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long event() { return arg(EVENT); }
        public EventStatus event(long v) { return set(EVENT, v); }
    }

    /** KERNEL_WORK_GROUP_INFO: kernel; results: the kernel's limits on its device. */
    public static final class KernelWorkGroupInfo extends CallRecord {
        public static final int KERNEL = 0;
        public KernelWorkGroupInfo() { super(Op.KERNEL_WORK_GROUP_INFO); }
        @Override public KernelWorkGroupInfo wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kernel() { return arg(KERNEL); }
        public KernelWorkGroupInfo kernel(long v) { return set(KERNEL, v); }
    }
}
