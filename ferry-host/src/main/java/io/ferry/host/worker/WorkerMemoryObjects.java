package io.ferry.host.worker;

import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.MemoryObjects;
import io.ferry.spi.Rect;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The memory objects of a guest's device worker, both ends of the hop: {@link WorkerRequests}' side sends each call
 * as the guest call of the same name (wait list and rectangle in the blob, as on the guest's wire), and
 * {@link #serve} is {@link WorkerMain}'s side, which decodes the request and calls the worker's backend session.
 * The worker trusts what the host sends (the host validated the guest's call); the host trusts nothing the worker
 * answers, as in {@link WorkerClient}.
 */
final class WorkerMemoryObjects implements MemoryObjects {
    private final WorkerRequests client;

    WorkerMemoryObjects(WorkerRequests client) {
        this.client = client;
    }

    @Override
    public void createSubBuffer(long buffer, long parent, long offset, long size, int accessFlags)
            throws BackendException {
        client.call(new MemoryCalls.SubBufferCreate(), true, null, null,
                c -> c.buffer(buffer).parent(parent).offset(offset).size(size).access(accessFlags));
    }

    @Override
    public void enqueueRect(long queue, long buffer, boolean write, Rect rect, long heapOffset, long[] waits,
                            long event) throws BackendException {
        MemoryCalls.RectTransfer<?> call = write ? new MemoryCalls.BufferWriteRect() : new MemoryCalls.BufferReadRect();
        client.call(call, true, null, blob(waits, rect), c -> c.queue(queue).buffer(buffer).heapOffset(heapOffset)
                .heapSize(rect.endB()).event(event).waits(waits.length));
    }

    @Override
    public void enqueueCopyRect(long queue, long src, long dst, Rect rect, long[] waits, long event)
            throws BackendException {
        client.call(new MemoryCalls.BufferCopyRect(), true, null, blob(waits, rect),
                c -> c.queue(queue).source(src).destination(dst).event(event).waits(waits.length));
    }

    @Override
    public void createImage(long image, long context, int type, long width, long height, long depth,
                            int channelOrder, int channelType, int accessFlags) throws BackendException {
        client.call(new MemoryCalls.ImageCreate(), true, null, null, c -> c.image(image).context(context).width(width)
                .height(height).depth(io.ferry.protocol.ImageFormats.depthWord(depth, type)).channelOrder(channelOrder)
                .channelType(channelType).access(accessFlags));
        // the host counts the image's memory itself, as it does a buffer's (the host validated these figures)
        client.holdsDeviceMemory(image, width * height * Math.max(depth, 1)
                * io.ferry.protocol.ImageFormats.pixelBytes(channelOrder, channelType));
    }

    @Override
    public void enqueueImage(long queue, long image, boolean write, long[] origin, long[] region, long rowPitch,
                             long slicePitch, long heapOffset, long[] waits, long event) throws BackendException {
        // the heap side as a rectangle of its own: origin 0 at heapOffset, the pitches resolved, the region in pixels
        Rect r = new Rect(region, origin, 0, 0, new long[3], rowPitch, slicePitch);
        MemoryCalls.ImageTransfer<?> call = write ? new MemoryCalls.ImageWrite() : new MemoryCalls.ImageRead();
        client.call(call, true, null, blob(waits, r), c -> c.queue(queue).image(image).heapOffset(heapOffset)
                .event(event).waits(waits.length));
    }

    @Override
    public void createSampler(long sampler, long context, boolean normalized, int addressing, int filter)
            throws BackendException {
        client.call(new MemoryCalls.SamplerCreate(), true, null, null, c -> c.sampler(sampler).context(context)
                .normalized(normalized ? 1 : 0).addressing(addressing).filter(filter));
    }

    @Override
    public void setKernelArgSampler(long kernel, int index, long sampler) throws BackendException {
        client.call(new MemoryCalls.KernelArgSampler(), true, null, null,
                c -> c.kernel(kernel).index(index).sampler(sampler));
    }

    /** The wait list, then the rectangle with its pitches as the host resolved them. */
    private static MemorySegment blob(long[] waits, Rect r) {
        MemorySegment blob = MemorySegment.ofArray(new byte[8 * waits.length + RectLayout.LENGTH]);
        for (int i = 0; i < waits.length; i++) {
            blob.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, waits[i]);
        }
        RectLayout l = new RectLayout().wrap(blob, 8L * waits.length);
        for (int i = 0; i < 3; i++) {
            l.region(i, r.region()[i]).origin(RectLayout.A, i, r.originA()[i]).origin(RectLayout.B, i, r.originB()[i]);
        }
        l.rowPitch(RectLayout.A, r.rowPitchA()).slicePitch(RectLayout.A, r.slicePitchA());
        l.rowPitch(RectLayout.B, r.rowPitchB()).slicePitch(RectLayout.B, r.slicePitchB());
        return blob;
    }

    /** The worker's side: serves one memory-object request with {@code session}'s backend. */
    static void serve(Op op, MemorySegment rec, BackendSession session) throws BackendException {
        MemoryObjects m = session.memoryObjects();
        switch (op) {
            case SUB_BUFFER_CREATE -> {
                var c = new MemoryCalls.SubBufferCreate().wrap(rec, 0);
                m.createSubBuffer(c.buffer(), c.parent(), c.offset(), c.size(), (int) c.access());
            }
            case BUFFER_WRITE_RECT, BUFFER_READ_RECT -> {
                MemoryCalls.RectTransfer<?> c = op == Op.BUFFER_WRITE_RECT ? new MemoryCalls.BufferWriteRect().wrap(rec, 0)
                        : new MemoryCalls.BufferReadRect().wrap(rec, 0);
                long[] waits = waits(c.blob(), c.waits());
                m.enqueueRect(c.queue(), c.buffer(), op == Op.BUFFER_WRITE_RECT, rect(c.blob(), waits.length),
                        c.heapOffset(), waits, c.event());
            }
            case BUFFER_COPY_RECT -> {
                var c = new MemoryCalls.BufferCopyRect().wrap(rec, 0);
                long[] waits = waits(c.blob(), c.waits());
                m.enqueueCopyRect(c.queue(), c.source(), c.destination(), rect(c.blob(), waits.length), waits,
                        c.event());
            }
            case IMAGE_CREATE -> {
                var c = new MemoryCalls.ImageCreate().wrap(rec, 0);
                m.createImage(c.image(), c.context(), (int) io.ferry.protocol.ImageFormats.imageType(c.depth()),
                        c.width(), c.height(), io.ferry.protocol.ImageFormats.depth(c.depth()),
                        (int) c.channelOrder(), (int) c.channelType(), (int) c.access());
            }
            case IMAGE_WRITE, IMAGE_READ -> {
                MemoryCalls.ImageTransfer<?> c = op == Op.IMAGE_WRITE ? new MemoryCalls.ImageWrite().wrap(rec, 0)
                        : new MemoryCalls.ImageRead().wrap(rec, 0);
                long[] waits = waits(c.blob(), c.waits());
                Rect r = rect(c.blob(), waits.length);
                m.enqueueImage(c.queue(), c.image(), op == Op.IMAGE_WRITE, r.originA(), r.region(), r.rowPitchB(),
                        r.slicePitchB(), c.heapOffset(), waits, c.event());
            }
            case SAMPLER_CREATE -> {
                var c = new MemoryCalls.SamplerCreate().wrap(rec, 0);
                m.createSampler(c.sampler(), c.context(), c.normalized() == 1, (int) c.addressing(), (int) c.filter());
            }
            case KERNEL_ARG_SAMPLER -> {
                var c = new MemoryCalls.KernelArgSampler().wrap(rec, 0);
                m.setKernelArgSampler(c.kernel(), (int) c.index(), c.sampler());
            }
            default -> throw new BackendException(Status.PROTOCOL_VIOLATION, op + " is no memory-object request");
        }
    }

    private static long[] waits(MemorySegment blob, long count) throws BackendException {
        if (count < 0 || 8 * count + RectLayout.LENGTH != blob.byteSize()) {
            throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request: " + count + " waits in a blob of "
                    + blob.byteSize() + " bytes");
        }
        long[] out = new long[(int) count];
        for (int i = 0; i < out.length; i++) {
            out[i] = blob.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
        }
        return out;
    }

    private static Rect rect(MemorySegment blob, int waits) {
        RectLayout l = new RectLayout().wrap(blob, 8L * waits);
        long[] region = new long[3];
        long[] a = new long[3];
        long[] b = new long[3];
        for (int i = 0; i < 3; i++) {
            region[i] = l.region(i);
            a[i] = l.origin(RectLayout.A, i);
            b[i] = l.origin(RectLayout.B, i);
        }
        return new Rect(region, a, l.rowPitch(RectLayout.A), l.slicePitch(RectLayout.A), b,
                l.rowPitch(RectLayout.B), l.slicePitch(RectLayout.B));
    }
}
