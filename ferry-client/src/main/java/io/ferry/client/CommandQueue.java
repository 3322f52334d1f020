package io.ferry.client;

import io.ferry.protocol.Calls;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * An in-order command queue. Enqueue calls are one-way: they return at once and their errors are reported by the
 * next {@link #finish()} (naming the failed call). Data given as heap memory ({@link Ferry#heap()}) moves straight
 * between the heap and the device; other memory is staged through a heap block, which costs one extra copy.
 */
public final class CommandQueue extends Remote {
    private final Context context;
    /** Staging blocks that must outlive the device's use of them: freed at the next finish. */
    private final List<HeapBlock> staging = new ArrayList<>();
    /** Heap blocks of the application used by one-way transfers since the last finish (see {@link Heap#pin}). */
    private final List<Long> pinned = new ArrayList<>();

    CommandQueue(Ferry ferry, long handle, Context context) {
        super(ferry, handle);
        this.context = context;
    }

    public Context context() {
        return context;
    }

    /** Copies {@code src} into {@code buffer} at {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, MemorySegment src) {
        long heapOffset = ferry.heap().offsetOf(src);
        if (heapOffset >= 0) {
            pin(heapOffset);
        }
        if (heapOffset < 0) {
            HeapBlock block = ferry.heap().allocate(src.byteSize());
            block.segment().copyFrom(src);
            synchronized (staging) {
                staging.add(block);
            }
            heapOffset = block.offset();
        }
        long at = heapOffset;
        channel().oneWay(new Calls.BufferWrite(), false, c -> c.queue(handle).buffer(buffer.handle).offset(offset)
                .size(src.byteSize()).heapOffset(at));
        return this;
    }

    /**
     * Copies {@code dst.byteSize()} bytes of {@code buffer} from {@code offset} into {@code dst}. When {@code dst} is
     * heap memory the call is one-way and the data is valid after {@link #finish()}; otherwise this waits for the
     * queue to finish and copies the data out before it returns.
     */
    public CommandQueue read(DeviceBuffer buffer, long offset, MemorySegment dst) {
        long heapOffset = ferry.heap().offsetOf(dst);
        if (heapOffset >= 0) {
            pin(heapOffset);
            sendRead(buffer, offset, dst.byteSize(), heapOffset);
            return this;
        }
        try (HeapBlock block = ferry.heap().allocate(dst.byteSize())) {
            sendRead(buffer, offset, dst.byteSize(), block.offset());
            finish();
            dst.copyFrom(block.segment());
        }
        return this;
    }

    private void sendRead(DeviceBuffer buffer, long offset, long size, long heapOffset) {
        channel().oneWay(new Calls.BufferRead(), false, c -> c.queue(handle).buffer(buffer.handle).offset(offset)
                .size(size).heapOffset(heapOffset));
    }

    public CommandQueue copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long size) {
        channel().oneWay(new Calls.BufferCopy(), false, c -> c.queue(handle).source(src.handle)
                .destination(dst.handle).sourceOffset(srcOffset).destinationOffset(dstOffset).size(size));
        return this;
    }

    /** Fills {@code size} bytes from {@code offset} with the repeated {@code pattern} (1, 2, 4 … 128 bytes). */
    public CommandQueue fill(DeviceBuffer buffer, MemorySegment pattern, long offset, long size) {
        channel().oneWay(new Calls.BufferFill(), false, pattern,
                c -> c.queue(handle).buffer(buffer.handle).offset(offset).size(size));
        return this;
    }

    /** Launches {@code kernel} over {@code global} work-items with an implementation-chosen local size. */
    public CommandQueue launch(Kernel kernel, NDRange global) {
        send(kernel, global, null, 0);
        return this;
    }

    /** Launches with work-groups of {@code local} (each global size must be a multiple of it). */
    public CommandQueue launch(Kernel kernel, NDRange global, NDRange local) {
        send(kernel, global, local, 0);
        return this;
    }

    /** Launches and returns an event that completes with the kernel (times need a profiling queue). */
    public Event launchWithEvent(Kernel kernel, NDRange global, NDRange local) {
        long e = ferry.newHandle();
        send(kernel, global, local, e);
        return new Event(ferry, e);
    }

    private void send(Kernel kernel, NDRange global, NDRange local, long event) {
        if (local != null && local.dimensions() != global.dimensions()) {
            throw new IllegalArgumentException("global " + global + " and local " + local
                    + " have different dimensions");
        }
        channel().oneWay(new Calls.Launch(), false, c -> {
            c.queue(handle).kernel(kernel.handle).dimensions(global.dimensions()).event(event);
            for (int i = 0; i < Calls.Launch.MAX_DIMENSIONS; i++) {
                c.global(i, global.get(i)).local(i, local == null ? 0 : local.get(i));
            }
        });
    }

    /**
     * Scheduling hint for every later device command of this queue: {@code priority} inside the guest's class
     * (higher first, -1000..1000) and a relative {@code deadline} (null for none). Hints reorder work only among
     * guests of the same class.
     */
    public CommandQueue hint(int priority, java.time.Duration deadline) {
        return sendHint(priority, deadline, 1);
    }

    /** As {@link #hint}, for the next device command of this queue only. */
    public CommandQueue hintNext(int priority, java.time.Duration deadline) {
        return sendHint(priority, deadline, 0);
    }

    private CommandQueue sendHint(int priority, java.time.Duration deadline, int scope) {
        channel().oneWay(new Calls.QueueHint(), true, c -> c.queue(handle).priority(priority)
                .deadlineNs(deadline == null ? 0L : Math.max(1, deadline.toNanos())).scope(scope));
        return this;
    }

    /** Publishes held-back calls so the host starts on them. */
    public CommandQueue flush() {
        channel().flush();
        return this;
    }

    /**
     * Waits until every command of this queue has completed. Throws the first error of an earlier one-way call on
     * this queue (or on the session), naming that call.
     */
    public void finish() {
        try {
            channel().call(new Calls.Finish(), null, c -> c.queue(handle));
        } finally {
            List<HeapBlock> done;
            List<Long> unpin;
            synchronized (staging) {
                done = new ArrayList<>(staging);
                staging.clear();
                unpin = new ArrayList<>(pinned);
                pinned.clear();
            }
            for (HeapBlock b : done) {
                b.close();
            }
            for (long block : unpin) {
                ferry.heap().unpin(block);
            }
        }
    }

    // ---- memory objects (MemoryCommands encodes them) ----

    /**
     * Copies a rectangle of {@code src} (at {@code srcAt}) into {@code dst} at {@code dstAt}
     * ({@code clEnqueueWriteBufferRect}). {@code src} outside the heap is staged through a heap block.
     */
    public CommandQueue writeRect(DeviceBuffer dst, Rect.At dstAt, MemorySegment src, Rect.At srcAt, Rect region) {
        MemoryCommands.transferRect(this, true, dst, dstAt, src, srcAt, region, 0, new Event[0]);
        return this;
    }

    /** As {@link #writeRect}, after {@code waitFor}; returns an event that completes with the copy. */
    public Event writeRectWithEvent(DeviceBuffer dst, Rect.At dstAt, MemorySegment src, Rect.At srcAt, Rect region,
                                    Event... waitFor) {
        return new Event(ferry, MemoryCommands.transferRect(this, true, dst, dstAt, src, srcAt, region,
                ferry.newHandle(), waitFor));
    }

    /**
     * Copies a rectangle of {@code src} (at {@code srcAt}) into {@code dst} at {@code dstAt}
     * ({@code clEnqueueReadBufferRect}). Into heap memory the call is one-way (data valid after {@link #finish()});
     * into other memory it waits for the queue and copies the data out before it returns.
     */
    public CommandQueue readRect(DeviceBuffer src, Rect.At srcAt, MemorySegment dst, Rect.At dstAt, Rect region) {
        MemoryCommands.transferRect(this, false, src, srcAt, dst, dstAt, region, 0, new Event[0]);
        return this;
    }

    /** As {@link #readRect}, after {@code waitFor}; returns an event that completes with the copy. */
    public Event readRectWithEvent(DeviceBuffer src, Rect.At srcAt, MemorySegment dst, Rect.At dstAt, Rect region,
                                   Event... waitFor) {
        return new Event(ferry, MemoryCommands.transferRect(this, false, src, srcAt, dst, dstAt, region,
                ferry.newHandle(), waitFor));
    }

    /** Copies a rectangle between buffers ({@code clEnqueueCopyBufferRect}); overlapping ones are refused. */
    public CommandQueue copyRect(DeviceBuffer src, Rect.At srcAt, DeviceBuffer dst, Rect.At dstAt, Rect region) {
        MemoryCommands.copyRect(this, src, srcAt, dst, dstAt, region, 0, new Event[0]);
        return this;
    }

    /** As {@link #copyRect}, after {@code waitFor}; returns an event that completes with the copy. */
    public Event copyRectWithEvent(DeviceBuffer src, Rect.At srcAt, DeviceBuffer dst, Rect.At dstAt, Rect region,
                                   Event... waitFor) {
        return new Event(ferry, MemoryCommands.copyRect(this, src, srcAt, dst, dstAt, region, ferry.newHandle(),
                waitFor));
    }

    /**
     * Maps {@code size} bytes of {@code buffer} from {@code offset} into the heap; see {@link Mapping} (zero copy for
     * a heap-backed buffer, a staging block otherwise). Its segment holds the data after {@link #finish()};
     * closing it writes back (for {@link MapAccess#WRITE} and the like) on this queue.
     */
    public Mapping map(DeviceBuffer buffer, long offset, long size, MapAccess access) {
        return MemoryCommands.map(this, buffer, offset, size, access);
    }

    /** Ends {@code mapping} (the same as closing it). */
    public CommandQueue unmap(Mapping mapping) {
        mapping.close();
        return this;
    }

    /**
     * Writes the pixels {@code [origin, origin + region)} of {@code image} from {@code src}
     * ({@code clEnqueueWriteImage}): rows of {@code region.widthBytes()} pixels, laid out in {@code src} as
     * {@code srcAt} says (in bytes). The region counts pixels; {@code origin}'s pitches are unused.
     */
    public CommandQueue writeImage(Image image, Rect.At origin, Rect region, MemorySegment src, Rect.At srcAt) {
        MemoryCommands.transferImage(this, true, image, origin, region, src, srcAt, 0, new Event[0]);
        return this;
    }

    /** As {@link #writeImage}, after {@code waitFor}; returns an event that completes with the copy. */
    public Event writeImageWithEvent(Image image, Rect.At origin, Rect region, MemorySegment src, Rect.At srcAt,
                                     Event... waitFor) {
        return new Event(ferry, MemoryCommands.transferImage(this, true, image, origin, region, src, srcAt,
                ferry.newHandle(), waitFor));
    }

    /**
     * Reads the pixels {@code [origin, origin + region)} of {@code image} into {@code dst}
     * ({@code clEnqueueReadImage}), as {@link #readRect} does (one-way into heap memory, else waits).
     */
    public CommandQueue readImage(Image image, Rect.At origin, Rect region, MemorySegment dst, Rect.At dstAt) {
        MemoryCommands.transferImage(this, false, image, origin, region, dst, dstAt, 0, new Event[0]);
        return this;
    }

    /** As {@link #readImage}, after {@code waitFor}; returns an event that completes with the copy. */
    public Event readImageWithEvent(Image image, Rect.At origin, Rect region, MemorySegment dst, Rect.At dstAt,
                                    Event... waitFor) {
        return new Event(ferry, MemoryCommands.transferImage(this, false, image, origin, region, dst, dstAt,
                ferry.newHandle(), waitFor));
    }

    /** Keeps a staging block until the next finish (the device may still use it). */
    void keepUntilFinish(HeapBlock block) {
        synchronized (staging) {
            staging.add(block);
        }
    }

    void pin(long heapOffset) {
        long block = ferry.heap().pin(heapOffset);
        if (block >= 0) {
            synchronized (staging) {
                pinned.add(block);
            }
        }
    }
}
