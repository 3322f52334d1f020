package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The events of one session beyond a command's own: wait lists (validated here), user events, event status and the
 * kernel work-group query; and the <b>gates</b>, which keep a session from waiting forever.
 *
 * <p>A session is served in order, on one thread. A device command that waits for a user event the guest has not
 * set yet cannot complete before the guest's USER_EVENT_SET, which comes later on the same ring; so the host must
 * never block on such a command. Each queue and event remembers the unset user events it may wait for (directly,
 * through other events, or through earlier commands of its queue, which counts for out-of-order queues too, to stay
 * simple and safe). While that set is not empty: a device turn only enqueues the command (it does not finish the
 * queue, so the turn ends and the device goes on to others), and FINISH of the queue or EVENT_WAIT of the event is
 * refused with a message that names the user event. Once every such user event is set (or failed, or released,
 * which fails it), the gate opens. Nothing is allocated while the session has no unset user event.
 */
final class EventGates {
    private static final long[] NONE = new long[0];

    private final HandleTable handles;
    /** Every user event of the session: true once set. */
    private final Map<Long, Boolean> userEvents = new HashMap<>();
    /** User events not yet set. */
    private final Set<Long> unset = new HashSet<>();
    /** Queue or event handle → the user events it may wait for (some may be set by now: see {@link #open}). */
    private final Map<Long, long[]> gates = new HashMap<>();
    private final EventCalls.UserEventCreate userEventCreate = new EventCalls.UserEventCreate();
    private final EventCalls.UserEventSet userEventSet = new EventCalls.UserEventSet();
    private final EventCalls.EventStatus eventStatus = new EventCalls.EventStatus();
    private final EventCalls.KernelWorkGroupInfo workGroupInfo = new EventCalls.KernelWorkGroupInfo();

    EventGates(HandleTable handles) {
        this.handles = handles;
    }

    /** USER_EVENT_CREATE, USER_EVENT_SET, EVENT_STATUS and KERNEL_WORK_GROUP_INFO. */
    void serve(Op op, MemorySegment rec, long[] results) throws CallException, BackendException {
        switch (op) {
            case USER_EVENT_CREATE -> {
                var c = userEventCreate.wrap(rec, 0);
                long event = c.event();
                handles.checkNew(event, "user event");
                Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
                ctx.backend.createUserEvent(event, ctx.handle);
                handles.put(event, Kind.EVENT, ctx.backend, 0, 0);
                userEvents.put(event, false);
                unset.add(event);
            }
            case USER_EVENT_SET -> {
                var c = userEventSet.wrap(rec, 0);
                long status = c.executionStatus();
                Entry ev = handles.get(c.event(), Kind.EVENT, "user event");
                Boolean set = userEvents.get(ev.handle);
                if (set == null) {
                    throw new CallException(Status.INVALID_ARGUMENT, "event " + ev.handle + " is not a user event: "
                            + "only events made by createUserEvent are set by the guest");
                }
                if (set) {
                    throw new CallException(Status.INVALID_ARGUMENT, "user event " + ev.handle + " was already set "
                            + "(OpenCL: CL_INVALID_OPERATION); a user event is completed or failed once");
                }
                if (status > 0 || status < Integer.MIN_VALUE) {
                    throw new CallException(Status.INVALID_ARGUMENT, "user event status " + status + ": give 0 "
                            + "(complete) or a negative 32-bit error code (failed)");
                }
                ev.backend.setUserEventStatus(ev.handle, (int) status);
                userEvents.put(ev.handle, true);
                unset.remove(ev.handle);
            }
            case EVENT_STATUS -> {
                Entry ev = handles.get(eventStatus.wrap(rec, 0).event(), Kind.EVENT, "event");
                results[0] = ev.backend.eventStatus(ev.handle);
            }
            case KERNEL_WORK_GROUP_INFO -> {
                Entry k = handles.get(workGroupInfo.wrap(rec, 0).kernel(), Kind.KERNEL, "kernel");
                long[] info = k.backend.kernelWorkGroupInfo(k.handle);
                System.arraycopy(info, 0, results, 0, Math.min(4, info.length));
            }
            default -> throw new IllegalStateException("not an event call: " + op);
        }
    }

    /**
     * The wait list of a call on {@code queue}: {@code count} handles at the start of the blob, each an event of
     * this session made by the queue's backend. {@code payload}: whether the op's own bytes follow the list (else
     * the blob is the list exactly).
     */
    long[] waits(CallRecord call, long count, Entry queue, boolean payload) throws CallException {
        Op op = call.spec();
        int blob = call.blobLength();
        String problem = WaitList.problem(op.name(), count, blob);
        if (problem == null && !payload && blob != 8 * count) {
            problem = op + ": a blob of " + blob + " bytes for a wait list of " + count + " events (" + 8 * count
                    + " bytes)";
        }
        if (problem != null) {
            throw new CallException(Status.INVALID_ARGUMENT, problem + "; see docs/protocol.md, wait lists");
        }
        long[] list = WaitList.handles(call, count);
        for (int i = 0; i < list.length; i++) {
            Entry e = handles.get(list[i], Kind.EVENT, op + " wait list entry " + i);
            if (e.backend != queue.backend) {
                throw new CallException(Status.INVALID_ARGUMENT, op + " wait list entry " + i + ": event " + e.handle
                        + " belongs to a device of another backend than queue " + queue.handle);
            }
        }
        return list;
    }

    /** The unset user events a command on {@code queue} waiting for {@code waits} may wait for (usually none). */
    long[] gatesFor(Entry queue, long[] waits) {
        if (unset.isEmpty()) {
            gates.clear();
            return NONE;
        }
        Set<Long> out = new HashSet<>();
        add(out, gates.get(queue.handle));
        for (long w : waits) {
            if (unset.contains(w)) {
                out.add(w);
            } else {
                add(out, gates.get(w));
            }
        }
        return out.isEmpty() ? NONE : out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Records the gates of a command just enqueued on {@code queue} with {@code event} (0: none). */
    void enqueued(Entry queue, long event, long[] gate) {
        if (gate.length == 0) {
            return;
        }
        gates.put(queue.handle, gate); // gatesFor included the queue's own
        if (event != 0) {
            gates.put(event, gate);
        }
    }

    /** Whether waiting for {@code handle} (a queue or an event) could wait for an unset user event. */
    boolean gated(long handle) {
        return open(handle) != 0;
    }

    /** Refuses to wait for {@code handle} while it waits for an unset user event: that wait would never end. */
    void checkOpen(long handle, String what) throws CallException {
        long user = open(handle);
        if (user != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, what + " would wait forever: it waits for user event "
                    + user + ", which is not set yet; complete or fail the user event first (the session serves its "
                    + "calls in order, so the host cannot wait for it)");
        }
    }

    /** Forgets a released object. A user event released unset is failed by its backend, which opens its gates. */
    void released(long handle) {
        userEvents.remove(handle);
        unset.remove(handle);
        gates.remove(handle);
    }

    /** The first unset user event {@code handle} may wait for, or 0. */
    private long open(long handle) {
        if (unset.isEmpty()) {
            return 0;
        }
        if (unset.contains(handle)) {
            return handle;
        }
        long[] g = gates.get(handle);
        if (g == null) {
            return 0;
        }
        for (long u : g) {
            if (unset.contains(u)) {
                return u;
            }
        }
        gates.remove(handle);
        return 0;
    }

    private void add(Set<Long> out, long[] gate) {
        if (gate != null) {
            for (long u : gate) {
                if (unset.contains(u)) {
                    out.add(u);
                }
            }
        }
    }
}
