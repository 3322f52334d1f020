package io.ferry.client;

import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;

/**
 * Encodes the memory-object calls (sub-buffers, rectangular transfers) and builds mappings; {@link DeviceBuffer} and
 * {@link CommandQueue} delegate here so that each keeps only its thin public methods. Data not in the heap is staged
 * through a heap block, as {@link CommandQueue#write} does.
 */
final class MemoryCommands {
    private MemoryCommands() {
    }

    static DeviceBuffer subBuffer(DeviceBuffer parent, long offset, long size, DeviceBuffer.Access access) {
        if (offset < 0 || size <= 0 || size > parent.size() - offset) {
            throw new FerryException(Status.OUT_OF_RANGE, "subBuffer: [offset " + offset + ", size " + size
                    + ") is outside the parent buffer of " + parent.size() + " bytes");
        }
        Ferry ferry = parent.ferry;
        long h = ferry.newHandle();
        // 0 inherits the parent's access; READ_WRITE (code 0 in BUFFER_CREATE) is sent as 3
        int code = access == null ? 0 : access == DeviceBuffer.Access.READ_WRITE ? 3 : access.code();
        ferry.channel().oneWay(new MemoryCalls.SubBufferCreate(), true, c -> c.buffer(h).parent(parent.handle)
                .offset(offset).size(size).access(code));
        MemorySegment heapMemory = parent.heapMemory() == null ? null : parent.heapMemory().asSlice(offset, size);
        return new DeviceBuffer(ferry, h, size, parent.backing(), heapMemory); // the parent's block outlives it
    }

    static Image image(Context ctx, Image.Format format, long width, long height, long depth,
                       DeviceBuffer.Access access) {
        if (format.pixelBytes() == 0) {
            throw new FerryException(Status.UNSUPPORTED, "createImage: format " + format + " is not one Ferry carries "
                    + "(BGRA takes 8-bit channel types only)");
        }
        Ferry ferry = ctx.ferry;
        long h = ferry.newHandle();
        ferry.channel().oneWay(new MemoryCalls.ImageCreate(), true, c -> c.image(h).context(ctx.handle).width(width)
                .height(height).depth(depth).channelOrder(format.order().code).channelType(format.type().code)
                .access(access.code()));
        return new Image(ferry, h, format, width, height, depth);
    }

    /** Heap memory ↔ image pixels; as {@link #transferRect}, the region in pixels. */
    static long transferImage(CommandQueue q, boolean write, Image image, Rect.At origin, Rect region,
                              MemorySegment host, Rect.At hostAt, long event, Event[] waitFor) {
        Rect.At pixels = new Rect.At(origin.x(), origin.y(), origin.z(), 0, 0);
        return transfer(q, write, host, write ? new MemoryCalls.ImageWrite() : new MemoryCalls.ImageRead(),
                blob(waitFor, region, pixels, hostAt), (c, at) -> ((MemoryCalls.ImageTransfer<?>) c)
                        .queue(q.handle).image(image.handle).heapOffset(at).heapSize(host.byteSize()).event(event)
                        .waits(waitFor.length), event, waitFor);
    }

    /** Heap memory ↔ buffer rectangle; returns {@code event}. A read into other memory waits and copies it out. */
    static long transferRect(CommandQueue q, boolean write, DeviceBuffer buffer, Rect.At bufferAt,
                             MemorySegment host, Rect.At hostAt, Rect region, long event, Event[] waitFor) {
        MemoryCalls.RectTransfer<?> call = write ? new MemoryCalls.BufferWriteRect() : new MemoryCalls.BufferReadRect();
        return transfer(q, write, host, call, blob(waitFor, region, bufferAt, hostAt), (c, at) ->
                ((MemoryCalls.RectTransfer<?>) c).queue(q.handle).buffer(buffer.handle).heapOffset(at)
                        .heapSize(host.byteSize()).event(event).waits(waitFor.length), event, waitFor);
    }

    /** Sends {@code call} with {@code blob} over {@code host}'s heap range, staging memory outside the heap. */
    private static long transfer(CommandQueue q, boolean write, MemorySegment host,
                                 io.ferry.protocol.CallRecord call, MemorySegment blob,
                                 java.util.function.ObjLongConsumer<io.ferry.protocol.CallRecord> args, long event,
                                 Event[] waitFor) {
        Heap heap = q.ferry.heap();
        long heapOffset = heap.offsetOf(host);
        HeapBlock block = null;
        if (heapOffset >= 0) {
            q.pin(heapOffset);
        } else {
            // the whole segment goes through the block, so bytes outside the rectangle keep their values
            block = heap.allocateStaging(host.byteSize());
            block.segment().copyFrom(host);
            heapOffset = block.offset();
        }
        long at = heapOffset;
        q.channel().oneWay(call, false, blob, c -> args.accept(c, at));
        Reference.reachabilityFence(waitFor); // their handles went into the blob: released only after it was sent
        if (block != null) {
            if (write) {
                q.keepUntilFinish(block);
            } else {
                q.staging.copyOutAtFinish(block, host); // as read does: the data is valid after finish()
            }
        }
        return event;
    }

    static long copyRect(CommandQueue q, DeviceBuffer src, Rect.At srcAt, DeviceBuffer dst, Rect.At dstAt,
                         Rect region, long event, Event[] waitFor) {
        MemorySegment blob = blob(waitFor, region, srcAt, dstAt);
        q.channel().oneWay(new MemoryCalls.BufferCopyRect(), false, blob, c -> c.queue(q.handle).source(src.handle)
                .destination(dst.handle).event(event).waits(waitFor.length));
        Reference.reachabilityFence(waitFor); // their handles went into the blob: released only after it was sent
        return event;
    }

    static Mapping map(CommandQueue q, DeviceBuffer buffer, long offset, long size, MapAccess access) {
        if (offset < 0 || size <= 0 || size > buffer.size() - offset) {
            throw new FerryException(Status.OUT_OF_RANGE, "map: [offset " + offset + ", size " + size
                    + ") is outside the buffer of " + buffer.size() + " bytes");
        }
        MemorySegment own = buffer.heapMemory();
        if (own != null) {
            MemorySegment segment = own.asSlice(offset, size);
            if (access.reads()) {
                // a read onto the buffer's own host memory: OpenCL's way to make it current (no copy on PoCL)
                q.read(buffer, offset, segment);
            }
            return new Mapping(q, buffer, offset, access, segment, null);
        }
        HeapBlock block = q.ferry.heap().allocate(size);
        if (access.reads()) {
            q.read(buffer, offset, block.segment());
        }
        return new Mapping(q, buffer, offset, access, block.segment(), block);
    }

    private static MemorySegment blob(Event[] waitFor, Rect region, Rect.At a, Rect.At b) {
        if (waitFor.length > WaitList.MAX) {
            throw new FerryException(Status.INVALID_ARGUMENT, "a command waits for at most " + WaitList.MAX
                    + " events, not " + waitFor.length);
        }
        MemorySegment blob = MemorySegment.ofArray(new byte[8 * waitFor.length + RectLayout.LENGTH]);
        for (int i = 0; i < waitFor.length; i++) {
            blob.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, waitFor[i].handle);
        }
        RectLayout l = new RectLayout().wrap(blob, 8L * waitFor.length);
        l.region(0, region.widthBytes()).region(1, region.height()).region(2, region.depth());
        side(l, RectLayout.A, a);
        side(l, RectLayout.B, b);
        return blob;
    }

    private static void side(RectLayout l, int side, Rect.At at) {
        l.origin(side, 0, at.x()).origin(side, 1, at.y()).origin(side, 2, at.z())
                .rowPitch(side, at.rowPitch()).slicePitch(side, at.slicePitch());
    }
}
