package io.ferry.client;

import io.ferry.protocol.Calls;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A command queue: in-order unless created out-of-order ({@link QueueOptions}). Enqueue calls are one-way: they
 * return at once and their errors are reported by the next {@link #finish()} (naming the failed call). Each enqueue
 * method has a twin named {@code ...WithEvent} that returns an {@link Event} and waits for the events given as
 * {@code waitFor}.
 *
 * <p><b>Data.</b> {@code write} and {@code read} take a {@link MemorySegment}, a {@code ByteBuffer} (its bytes
 * between position and limit; the position does not move) or a Java array (all of it, or {@code count} elements
 * from index {@code from}); buffer offsets are in bytes, array values travel in the platform's byte order. Heap
 * memory ({@link Ferry#heap()} blocks) moves straight between the heap and the device, with no copy. Other memory
 * is staged through the heap in chunks, one extra copy, so a transfer of any size works with a heap of any size.
 * A read's data is valid once {@link #finish()} returns, whatever memory it goes to: keep the destination alive
 * and untouched until then.
 *
 * <p>An {@link Event} returned by a {@code ...WithEvent} method holds a host object (one of the guest's object quota)
 * until it is closed, even after its command completed: close every event (try-with-resources); see
 * docs/client.md#lifetimes.
 */
public final class CommandQueue extends ScheduledQueue {
    /** Over a stream, heap writes go in pieces of this size, so the host's device copy overlaps the transfer. */
    static final long STREAM_PIECE = Math.max(64 << 10, Long.getLong("ferry.stream.piece", 4L << 20));
    private final Context context;
    /** Non-heap data on its way through the heap: staging blocks, staged reads to copy out at the next finish. */
    final Staging staging;
    /** Heap blocks of the application used by one-way transfers since the last finish (see {@link Heap#pin}). */
    private final Pins pinned;
    /** The encoders of the commands that return events and take wait lists. */
    private final Enqueues enqueues;

    CommandQueue(Ferry ferry, long handle, Context context) {
        super(ferry, handle);
        this.context = context;
        this.staging = new Staging(ferry.heap());
        this.pinned = new Pins(ferry.heap());
        this.enqueues = new Enqueues(this, ferry);
        // If this queue dies unclosed: free its staging blocks and unpin once the host has finished it. Captures
        // the staging state, the pins and the heap, never this queue (see Lifetimes).
        Staging stagingState = staging;
        Pins pins = pinned;
        lifetime.settleAfterRelease(() -> settle(stagingState.take(), false, pins));
    }

    public Context context() {
        return context;
    }

    /**
     * Copies {@code src} into {@code buffer} from byte {@code offset}. One-way. Heap memory goes to the device
     * without a copy: keep it unchanged until {@link #finish()}. Other memory is copied into heap blocks first, so
     * it may change once this returns; data larger than the staging the heap allows goes in chunks, and this call
     * then waits for the device between them (finishing the queue when the heap is full or every 256 chunks, so it
     * may report an earlier call's error as finish does).
     */
    public CommandQueue write(DeviceBuffer buffer, long offset, MemorySegment src) {
        long heapOffset = ferry.heap().offsetOf(src);
        if (heapOffset < 0) {
            staging.write(this, buffer, offset, src);
            return this;
        }
        staging.checkNotPending(this, src, "write from");
        pin(heapOffset);
        // over a stream, in pieces: the device copies one while the next is on the wire (the queue is in order);
        // a range the host will refuse goes whole, so that it is refused whole and nothing of it is written
        long total = src.byteSize();
        boolean pieces = ferry.stream() != null && offset >= 0 && offset <= buffer.size() - total;
        long piece = pieces ? STREAM_PIECE : total;
        long done = 0;
        do {
            long n = Math.min(piece, total - done);
            long at = heapOffset + done;
            long to = offset + done;
            channel().oneWay(new Calls.BufferWrite(), false, c -> c.queue(handle).buffer(buffer.handle).offset(to)
                    .size(n).heapOffset(at));
            done += n;
        } while (done < total);
        return this;
    }

    /**
     * Copies {@code dst.byteSize()} bytes of {@code buffer} from byte {@code offset} into {@code dst}. One-way
     * whatever {@code dst} is: the data is valid after {@link #finish()} returns without error, and unspecified
     * before (and if finish throws). Heap memory is written by the device directly; other memory through heap
     * blocks, copied into {@code dst} before finish returns (a read larger than the staging the heap allows also
     * waits for the device between chunks in this call). In debug mode ({@link Ferry#debug}) this queue's
     * {@code write}, {@code read} and {@code fill} throw {@link IllegalStateException} on memory that overlaps an
     * unfinished read's destination; other accesses are not checked.
     */
    public CommandQueue read(DeviceBuffer buffer, long offset, MemorySegment dst) {
        long heapOffset = ferry.heap().offsetOf(dst);
        if (heapOffset < 0) {
            staging.read(this, buffer, offset, dst);
            return this;
        }
        staging.checkNotPending(this, dst, "read into");
        pin(heapOffset);
        sendRead(buffer, offset, dst.byteSize(), heapOffset);
        staging.pendingRead(this, dst, buffer, offset);
        return this;
    }

    /** As {@link #write(DeviceBuffer, long, MemorySegment)}, from the bytes between position and limit. */
    public CommandQueue write(DeviceBuffer buffer, long offset, ByteBuffer src) {
        return write(buffer, offset, MemorySegment.ofBuffer(src));
    }

    /** As {@link #read(DeviceBuffer, long, MemorySegment)}, into the bytes between position and limit. */
    public CommandQueue read(DeviceBuffer buffer, long offset, ByteBuffer dst) {
        return read(buffer, offset, MemorySegment.ofBuffer(dst));
    }

    /** Writes all of {@code src} into {@code buffer} from byte {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, byte[] src) {
        return write(buffer, offset, MemorySegment.ofArray(src));
    }

    /** Writes {@code count} elements of {@code src} from index {@code from}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, byte[] src, int from, int count) {
        return write(buffer, offset, Staging.elements(MemorySegment.ofArray(src), from, count, Byte.BYTES));
    }

    /** Writes all of {@code src} into {@code buffer} from byte {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, int[] src) {
        return write(buffer, offset, MemorySegment.ofArray(src));
    }

    /** Writes {@code count} elements of {@code src} from index {@code from}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, int[] src, int from, int count) {
        return write(buffer, offset, Staging.elements(MemorySegment.ofArray(src), from, count, Integer.BYTES));
    }

    /** Writes all of {@code src} into {@code buffer} from byte {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, long[] src) {
        return write(buffer, offset, MemorySegment.ofArray(src));
    }

    /** Writes {@code count} elements of {@code src} from index {@code from}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, long[] src, int from, int count) {
        return write(buffer, offset, Staging.elements(MemorySegment.ofArray(src), from, count, Long.BYTES));
    }

    /** Writes all of {@code src} into {@code buffer} from byte {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, float[] src) {
        return write(buffer, offset, MemorySegment.ofArray(src));
    }

    /** Writes {@code count} elements of {@code src} from index {@code from}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, float[] src, int from, int count) {
        return write(buffer, offset, Staging.elements(MemorySegment.ofArray(src), from, count, Float.BYTES));
    }

    /** Writes all of {@code src} into {@code buffer} from byte {@code offset}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, double[] src) {
        return write(buffer, offset, MemorySegment.ofArray(src));
    }

    /** Writes {@code count} elements of {@code src} from index {@code from}. */
    public CommandQueue write(DeviceBuffer buffer, long offset, double[] src, int from, int count) {
        return write(buffer, offset, Staging.elements(MemorySegment.ofArray(src), from, count, Double.BYTES));
    }

    /** Reads into all of {@code dst} from byte {@code offset} of {@code buffer}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, byte[] dst) {
        return read(buffer, offset, MemorySegment.ofArray(dst));
    }

    /** Reads into {@code count} elements of {@code dst} from index {@code from}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, byte[] dst, int from, int count) {
        return read(buffer, offset, Staging.elements(MemorySegment.ofArray(dst), from, count, Byte.BYTES));
    }

    /** Reads into all of {@code dst} from byte {@code offset} of {@code buffer}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, int[] dst) {
        return read(buffer, offset, MemorySegment.ofArray(dst));
    }

    /** Reads into {@code count} elements of {@code dst} from index {@code from}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, int[] dst, int from, int count) {
        return read(buffer, offset, Staging.elements(MemorySegment.ofArray(dst), from, count, Integer.BYTES));
    }

    /** Reads into all of {@code dst} from byte {@code offset} of {@code buffer}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, long[] dst) {
        return read(buffer, offset, MemorySegment.ofArray(dst));
    }

    /** Reads into {@code count} elements of {@code dst} from index {@code from}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, long[] dst, int from, int count) {
        return read(buffer, offset, Staging.elements(MemorySegment.ofArray(dst), from, count, Long.BYTES));
    }

    /** Reads into all of {@code dst} from byte {@code offset} of {@code buffer}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, float[] dst) {
        return read(buffer, offset, MemorySegment.ofArray(dst));
    }

    /** Reads into {@code count} elements of {@code dst} from index {@code from}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, float[] dst, int from, int count) {
        return read(buffer, offset, Staging.elements(MemorySegment.ofArray(dst), from, count, Float.BYTES));
    }

    /** Reads into all of {@code dst} from byte {@code offset} of {@code buffer}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, double[] dst) {
        return read(buffer, offset, MemorySegment.ofArray(dst));
    }

    /** Reads into {@code count} elements of {@code dst} from index {@code from}; valid after {@link #finish()}. */
    public CommandQueue read(DeviceBuffer buffer, long offset, double[] dst, int from, int count) {
        return read(buffer, offset, Staging.elements(MemorySegment.ofArray(dst), from, count, Double.BYTES));
    }

    /**
     * In debug mode ({@link Ferry#debug}): throws {@link IllegalStateException} if {@code memory} overlaps the
     * destination of a read of this queue that no finish has completed. For the library's own calls that read or
     * fill memory.
     */
    void checkNotPending(MemorySegment memory) {
        staging.checkNotPending(this, memory, "use of");
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
        staging.checkNotPending(this, pattern, "fill pattern from");
        channel().oneWay(new Calls.BufferFill(), false, pattern,
                c -> c.queue(handle).buffer(buffer.handle).offset(offset).size(size));
        return this;
    }

    /** Launches {@code kernel} over {@code global} work-items with an implementation-chosen local size. */
    public CommandQueue launch(Kernel kernel, NDRange global) {
        enqueues.launch(kernel, global, null);
        return this;
    }

    /** Launches with work-groups of {@code local} (each global size must be a multiple of it). */
    public CommandQueue launch(Kernel kernel, NDRange global, NDRange local) {
        enqueues.launch(kernel, global, local);
        return this;
    }

    /**
     * Launches after the events of {@code waitFor} and returns an event that completes with the kernel (times need a
     * profiling queue). {@code local} may be null (the device chooses).
     */
    public Event launchWithEvent(Kernel kernel, NDRange global, NDRange local, Event... waitFor) {
        return enqueues.launch(kernel, null, global, local, true, waitFor);
    }

    /**
     * Launches with a global work offset: work-item ids start at {@code globalOffset} (one non-negative value per
     * dimension of {@code global}; OpenCL's {@code global_work_offset}). {@code local} may be null.
     */
    public CommandQueue launch(Kernel kernel, long[] globalOffset, NDRange global, NDRange local) {
        enqueues.launch(kernel, globalOffset, global, local, false);
        return this;
    }

    /** As {@link #launch(Kernel, long[], NDRange, NDRange)}, after {@code waitFor}, returning the kernel's event. */
    public Event launchWithEvent(Kernel kernel, long[] globalOffset, NDRange global, NDRange local, Event... waitFor) {
        return enqueues.launch(kernel, globalOffset, global, local, true, waitFor);
    }

    /**
     * Copies {@code src} into {@code buffer} at {@code offset} after the events of {@code waitFor}; the returned event
     * completes with the copy. Memory that is not in the heap is staged (and its staging block freed at the next
     * {@link #finish()}).
     */
    public Event writeWithEvent(DeviceBuffer buffer, long offset, MemorySegment src, Event... waitFor) {
        return enqueues.write(buffer, offset, src.byteSize(), stage(src), waitFor);
    }

    /**
     * Reads {@code dst.byteSize()} bytes of {@code buffer} from {@code offset} into {@code dst}, which must be heap
     * memory ({@link Ferry#heap()}): the data is there once the returned event completes.
     */
    public Event readWithEvent(DeviceBuffer buffer, long offset, MemorySegment dst, Event... waitFor) {
        long heapOffset = ferry.heap().offsetOf(dst);
        if (heapOffset < 0) {
            throw new IllegalArgumentException("readWithEvent reads into heap memory only (the device fills it "
                    + "later): allocate dst from Ferry.heap(), or use read(), which copies it out for you");
        }
        pin(heapOffset);
        return enqueues.read(buffer, offset, dst.byteSize(), heapOffset, waitFor);
    }

    /** Copies {@code size} bytes between buffers after {@code waitFor}; the event completes with the copy. */
    public Event copyWithEvent(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long size,
                               Event... waitFor) {
        return enqueues.copy(src, srcOffset, dst, dstOffset, size, waitFor);
    }

    /** As {@link #fill}, after {@code waitFor}; the event completes with the fill. */
    public Event fillWithEvent(DeviceBuffer buffer, MemorySegment pattern, long offset, long size, Event... waitFor) {
        return enqueues.fill(buffer, pattern, offset, size, waitFor);
    }

    /**
     * A marker: its event completes when the events of {@code waitFor} have (none given: every earlier command of
     * this queue). OpenCL's {@code clEnqueueMarkerWithWaitList}.
     */
    public Event marker(Event... waitFor) {
        return enqueues.marker(false, waitFor);
    }

    /**
     * A barrier: as {@link #marker}, and later commands of this queue wait for it (what orders an out-of-order
     * queue). OpenCL's {@code clEnqueueBarrierWithWaitList}.
     */
    public Event barrier(Event... waitFor) {
        return enqueues.marker(true, waitFor);
    }

    /** The heap offset of {@code src}: in place where it is heap memory (pinned), else a staging block's. */
    long stage(MemorySegment src) {
        return staging.stage(src, pinned);
    }

    /** Publishes held-back calls so the host starts on them. */
    public CommandQueue flush() {
        channel().flush();
        return this;
    }

    /**
     * Waits until every command of this queue has completed, then copies staged reads into their destinations:
     * when this returns, every read enqueued before it holds its data. Throws the first failure of an earlier one-way
     * call on this queue or the session, naming that call and, where known, the line that made it (later failures
     * before this call are counted in its message and cleared; {@link Ferry#debug(boolean)} throws at the call
     * instead); the destinations of those reads are then unspecified.
     */
    public void finish() {
        Staging.Batch batch = staging.take();
        boolean finished = false;
        try {
            channel().call(new Calls.Finish(), null, c -> c.queue(handle));
            finished = true;
        } finally {
            settle(batch, finished, pinned);
        }
    }

    /**
     * After a finish: copies staged reads out if it succeeded, frees the staging blocks and undoes the pins of the
     * transfers it completed.
     */
    private static void settle(Staging.Batch batch, boolean finished, Pins pinned) {
        try {
            batch.settle(finished);
        } finally {
            pinned.unpinAll();
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
     * ({@code clEnqueueReadBufferRect}). One-way, as {@link #read}: the data is valid after {@link #finish()} returns,
     * whatever {@code dst} is (other than heap memory, it goes through a heap block and is copied out at the finish).
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
     * ({@code clEnqueueReadImage}), as {@link #readRect} does (one-way; the data is valid after {@link #finish()}).
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
        staging.keepUntilFinish(block);
    }

    /**
     * Releases the queue on the host. Transfers still in flight are finished first, so their staging blocks are
     * freed only once the device is done with them (an error of theirs is not reported: nobody waits for it).
     */
    @Override
    public void close() {
        if (pinned.any() || staging.holdsAny()) {
            try {
                finish();
            } catch (FerryException e) {
                // The queue is being dropped: the failed command's error has no one left to report to.
            }
        }
        super.close();
    }

    /** Pins the application's heap block at {@code heapOffset} until the next finish (a one-way transfer uses it). */
    void pin(long heapOffset) {
        pinned.pin(heapOffset);
    }
}
