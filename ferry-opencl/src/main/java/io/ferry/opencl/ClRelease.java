package io.ferry.opencl;

import java.util.Comparator;
import java.util.List;

/** The end of a session's OpenCL objects: user events failed first, queues finished, then everything released. */
final class ClRelease {
    private ClRelease() {
    }

    /** A user event never set is failed before it goes: nothing may wait for it forever. */
    static void failIfUnset(ClObject o) {
        if (o instanceof ClObject.Event e && e.user && !e.userSet) {
            e.userSet = true;
            OpenCL.setUserEventStatus(e.ptr, OpenClSession.USER_EVENT_ABANDONED);
        }
    }

    /** Releases every object of an ending session, in an order OpenCL accepts, whatever fails on the way. */
    static void closeAll(List<ClObject> all) {
        for (ClObject o : all) {
            failIfUnset(o); // commands waiting for it fail now, so finishing their queues below cannot hang
        }
        for (ClObject o : all) {
            if (o instanceof ClObject.Queue q) {
                try {
                    OpenCL.finish(q.ptr);
                } catch (RuntimeException ignored) {
                    // release it anyway
                }
            }
        }
        all.sort(Comparator.comparingInt(ClObject::closeOrder));
        for (ClObject o : all) {
            try {
                o.kind().call(o.ptr);
            } catch (RuntimeException ignored) {
                // keep releasing the rest
            }
        }
    }
}
