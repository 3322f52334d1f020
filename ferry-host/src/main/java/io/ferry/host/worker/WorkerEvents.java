package io.ferry.host.worker;

import io.ferry.protocol.EventCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import java.lang.foreign.MemorySegment;

/** The event and queue requests a device worker serves ({@link WorkerMain}): opcodes 38–47, in their own records. */
final class WorkerEvents {
    private WorkerEvents() {
    }

    /** Serves one request of {@code op} from {@code rec} (framing already checked); results into {@code r}. */
    static void serve(BackendSession session, Op op, MemorySegment rec, long[] r) throws BackendException {
        switch (op) {
            case MARKER, BARRIER -> {
                EventCalls.Sync<?> c = op == Op.MARKER ? new EventCalls.Marker().wrap(rec, 0)
                        : new EventCalls.Barrier().wrap(rec, 0);
                long count = c.waits();
                String problem = WaitList.problem(op.name(), count, c.blobLength());
                if (problem != null) {
                    throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request: " + problem);
                }
                session.enqueueMarker(c.queue(), c.event(), WaitList.handles(c, count), op == Op.BARRIER);
            }
            case USER_EVENT_CREATE -> {
                var c = new EventCalls.UserEventCreate().wrap(rec, 0);
                session.createUserEvent(c.event(), c.context());
            }
            case USER_EVENT_SET -> {
                var c = new EventCalls.UserEventSet().wrap(rec, 0);
                session.setUserEventStatus(c.event(), (int) c.executionStatus());
            }
            case EVENT_STATUS -> r[0] = session.eventStatus(new EventCalls.EventStatus().wrap(rec, 0).event());
            case KERNEL_WORK_GROUP_INFO -> {
                long[] info = session.kernelWorkGroupInfo(new EventCalls.KernelWorkGroupInfo().wrap(rec, 0).kernel());
                System.arraycopy(info, 0, r, 0, Math.min(info.length, 4));
            }
            default -> throw new BackendException(Status.PROTOCOL_VIOLATION, op + " is no event request");
        }
    }
}
