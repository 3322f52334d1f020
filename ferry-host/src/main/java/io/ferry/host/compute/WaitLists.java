package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendSession;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The wait list of a call that enqueues a device command: its {@code waits} argument counts the event handles
 * (u64, little endian) at the start of its blob. Read once from the private copy of the record and validated here:
 * the count against the limit and the blob's length, each handle as an event of this session on the queue's
 * backend.
 */
final class WaitLists {
    /** Most events one command waits for. */
    static final int MAX_WAITS = 64;
    static final long[] NONE = new long[0];

    private WaitLists() {
    }

    /**
     * The events of the wait list that opens {@code blob}, checked; {@code payload} more bytes must follow it
     * exactly (the call's own payload). {@code call} names the call for messages.
     */
    static long[] read(HandleTable handles, BackendSession backend, MemorySegment blob, long count, long payload,
                       String call) throws CallException {
        if (count < 0 || count > MAX_WAITS) {
            throw new CallException(Status.INVALID_ARGUMENT, call + ": a wait list of " + count + " events: give 0 to "
                    + MAX_WAITS + " events (wait for more with a marker command first)");
        }
        long expected = 8 * count + payload;
        if (blob.byteSize() != expected) {
            throw new CallException(Status.INVALID_ARGUMENT, call + ": a blob of " + blob.byteSize() + " bytes where "
                    + count + " waited events and the call's " + payload + " bytes make " + expected);
        }
        if (count == 0) {
            return NONE;
        }
        long[] events = new long[(int) count];
        for (int i = 0; i < events.length; i++) {
            long h = blob.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
            HandleTable.Entry e = handles.get(h, HandleTable.Kind.EVENT, call + ": waited event " + i);
            if (e.backend != backend) {
                throw new CallException(Status.INVALID_ARGUMENT, call + ": waited event " + h
                        + " belongs to a device of another backend than the queue's");
            }
            events[i] = h;
        }
        return events;
    }
}
