package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.WaitList;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/**
 * The encoders of {@link CommandQueue}'s commands that return an event and wait for others: each writes the
 * command's wait list ({@link WaitList}: {@code waits} handles at the start of the blob) and a new event handle.
 * Also the plain launch, which has neither (the hot path: nothing allocated but its record).
 */
final class Enqueues {
    private final CommandQueue queue;
    private final Ferry ferry;

    Enqueues(CommandQueue queue, Ferry ferry) {
        this.queue = queue;
        this.ferry = ferry;
    }

    private Channel channel() {
        return ferry.channel();
    }

    Event write(DeviceBuffer buffer, long offset, long size, long heapOffset, Event... waitFor) {
        long[] waits = waits(waitFor);
        long e = ferry.newHandle();
        channel().oneWay(new Calls.BufferWrite(), false, WaitList.encode(waits, null), c -> c.queue(queue.handle)
                .buffer(buffer.handle).offset(offset).size(size).heapOffset(heapOffset).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor); // their handles went into the blob: released only after it was sent
        return new Event(ferry, e);
    }

    Event read(DeviceBuffer buffer, long offset, long size, long heapOffset, Event... waitFor) {
        long[] waits = waits(waitFor);
        long e = ferry.newHandle();
        channel().oneWay(new Calls.BufferRead(), false, WaitList.encode(waits, null), c -> c.queue(queue.handle)
                .buffer(buffer.handle).offset(offset).size(size).heapOffset(heapOffset).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor); // their handles went into the blob: released only after it was sent
        return new Event(ferry, e);
    }

    Event copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long size, Event... waitFor) {
        long[] waits = waits(waitFor);
        long e = ferry.newHandle();
        channel().oneWay(new Calls.BufferCopy(), false, WaitList.encode(waits, null), c -> c.queue(queue.handle)
                .source(src.handle).destination(dst.handle).sourceOffset(srcOffset).destinationOffset(dstOffset)
                .size(size).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor);
        return new Event(ferry, e);
    }

    Event fill(DeviceBuffer buffer, MemorySegment pattern, long offset, long size, Event... waitFor) {
        long[] waits = waits(waitFor);
        long e = ferry.newHandle();
        channel().oneWay(new Calls.BufferFill(), false, WaitList.encode(waits, pattern), c -> c.queue(queue.handle)
                .buffer(buffer.handle).offset(offset).size(size).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor);
        return new Event(ferry, e);
    }

    /** A launch without event, wait list or offset; {@code local} may be null (the device chooses). */
    void launch(Kernel kernel, NDRange global, NDRange local) {
        if (local != null && local.dimensions() != global.dimensions()) {
            throw new IllegalArgumentException("global " + global + " and local " + local
                    + " have different dimensions");
        }
        channel().oneWay(new Calls.Launch(), false, c -> {
            c.queue(queue.handle).kernel(kernel.handle).dimensions(global.dimensions()).event(0);
            for (int i = 0; i < Calls.Launch.MAX_DIMENSIONS; i++) {
                c.global(i, global.get(i)).local(i, local == null ? 0 : local.get(i));
            }
        });
    }

    /** A launch; {@code event} false sends none (and returns null). */
    Event launch(Kernel kernel, long[] offset, NDRange global, NDRange local, boolean event, Event... waitFor) {
        int dims = global.dimensions();
        if ((local != null && local.dimensions() != dims) || (offset != null && offset.length != dims)) {
            throw new IllegalArgumentException("global " + global + (local == null ? "" : ", local " + local)
                    + (offset == null ? "" : ", offset " + java.util.Arrays.toString(offset))
                    + " have different dimensions");
        }
        for (int i = 0; offset != null && i < dims; i++) {
            if (offset[i] < 0) {
                throw new IllegalArgumentException("global offset " + java.util.Arrays.toString(offset)
                        + " has a negative component");
            }
        }
        long[] waits = waits(waitFor);
        long e = event ? ferry.newHandle() : 0;
        long[] o = offset == null ? null : offset.clone();
        long[] l = local == null ? null : local.sizes();
        channel().oneWay(new Calls.Launch(), false, WaitList.encode(waits, null), c -> c.queue(queue.handle)
                .kernel(kernel.handle).range(dims, o, global.sizes(), l).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor);
        return event ? new Event(ferry, e) : null;
    }

    Event marker(boolean barrier, Event... waitFor) {
        long[] waits = waits(waitFor);
        long e = ferry.newHandle();
        EventCalls.Sync<?> view = barrier ? new EventCalls.Barrier() : new EventCalls.Marker();
        channel().oneWay(view, false, WaitList.encode(waits, null),
                c -> c.queue(queue.handle).event(e).waits(waits.length));
        Reference.reachabilityFence(waitFor);
        return new Event(ferry, e);
    }

    private static long[] waits(Event... waitFor) {
        long[] w = Event.handles(waitFor);
        if (w == null) {
            return new long[0];
        }
        if (w.length > WaitList.MAX) {
            throw new IllegalArgumentException("a command waits for at most " + WaitList.MAX + " events, not "
                    + w.length + ": wait for a marker of them instead");
        }
        return w;
    }
}
