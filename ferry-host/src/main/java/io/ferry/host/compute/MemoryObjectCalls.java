package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.host.session.ServiceContext;
import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.spi.BackendException;
import io.ferry.spi.Rect;
import java.lang.foreign.MemorySegment;

/**
 * The memory-object calls of one session (opcodes 48–59): sub-buffers and rectangular transfers. Like
 * {@link ComputeCalls}, which dispatches them here, each reads its record once through its view, validates every
 * handle, range and figure, then calls the backend; device commands are counted, gated and run through
 * {@link DeviceCommands#run}, their wait lists read by {@link EventGates#waits} (so a command waiting for an unset
 * user event is only enqueued in its device turn, as any other).
 *
 * <p><b>Sub-buffers and release order.</b> A sub-buffer shares its parent's memory. Releasing the parent ends the
 * parent's handle at once (the guest can no longer name it), but not its memory: the backend keeps it until the last
 * sub-buffer is released (OpenCL does so by itself). A sub-buffer of a sub-buffer is refused, as in OpenCL.
 * Images and samplers are {@link ImageCalls}'.
 */
final class MemoryObjectCalls {
    private final HandleTable handles;
    private final DeviceCommands commands;
    private final MemoryCalls.SubBufferCreate subBufferCreate = new MemoryCalls.SubBufferCreate();
    private final MemoryCalls.BufferWriteRect writeRect = new MemoryCalls.BufferWriteRect();
    private final MemoryCalls.BufferReadRect readRect = new MemoryCalls.BufferReadRect();
    private final MemoryCalls.BufferCopyRect copyRect = new MemoryCalls.BufferCopyRect();
    private final RectLayout rect = new RectLayout();
    private final ImageCalls images;

    /** The session's memory-object calls; {@code commands}: its device-command path, which these share. */
    MemoryObjectCalls(ServiceContext session, ComputeBackends backends, DeviceCommands commands) {
        this.handles = session.handles();
        this.commands = commands;
        this.images = new ImageCalls(session, backends, commands);
    }

    void serve(Op op, MemorySegment rec) throws CallException, BackendException {
        switch (op) {
            case SUB_BUFFER_CREATE -> subBuffer(subBufferCreate.wrap(rec, 0));
            case BUFFER_WRITE_RECT -> transferRect(writeRect.wrap(rec, 0), true);
            case BUFFER_READ_RECT -> transferRect(readRect.wrap(rec, 0), false);
            case BUFFER_COPY_RECT -> copyRect(copyRect.wrap(rec, 0));
            case IMAGE_CREATE, IMAGE_WRITE, IMAGE_READ, SAMPLER_CREATE -> images.serve(op, rec);
            default -> throw new IllegalStateException("not a memory-object call: " + op);
        }
    }

    private void subBuffer(MemoryCalls.SubBufferCreate c) throws CallException, BackendException {
        long buf = c.buffer();
        handles.checkNew(buf, "sub-buffer");
        Entry parent = handles.get(c.parent(), Kind.BUFFER, "parent buffer");
        if (parent.parent != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, "buffer " + parent.handle + " is itself a sub-buffer (of "
                    + parent.parent + "); make the sub-buffer from that buffer, at the summed offset");
        }
        long offset = c.offset();
        long size = c.size();
        long access = c.access();
        if (offset < 0 || size <= 0 || size > parent.size - offset) {
            throw new CallException(Status.OUT_OF_RANGE, "sub-buffer [offset " + offset + ", size " + size
                    + ") is outside parent buffer " + parent.handle + " of " + parent.size + " bytes");
        }
        long align = ((Devices.Device) parent.device).info().baseAddressAlignment();
        if (align > 1 && offset % align != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, "sub-buffer offset " + offset + " is not a multiple of "
                    + "the device's base-address alignment of " + align + " bytes (CL_DEVICE_MEM_BASE_ADDR_ALIGN); "
                    + "start it at " + (offset / align * align) + " or " + (offset / align * align + align));
        }
        if (access < 0 || access > 3) {
            throw new CallException(Status.INVALID_ARGUMENT, "sub-buffer access " + access + " is not one of 0 (the "
                    + "parent's), 1 (read-only), 2 (write-only), 3 (read-write)");
        }
        parent.backend.memoryObjects().createSubBuffer(buf, parent.handle, offset, size, (int) access);
        Entry e = handles.put(buf, Kind.BUFFER, parent.backend, size, 0);
        e.device = parent.device;
        e.parent = parent.handle;
    }

    private void transferRect(MemoryCalls.RectTransfer<?> c, boolean write) throws CallException, BackendException {
        String call = write ? "BUFFER_WRITE_RECT" : "BUFFER_READ_RECT";
        Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
        Entry buf = handles.get(c.buffer(), Kind.BUFFER, "buffer");
        ComputeCalls.sameBackend(q, buf);
        long heapOffset = c.heapOffset();
        long heapRange = c.heapSize();
        commands.checkHeap(heapOffset, heapRange);
        long event = commands.newEvent(c.event());
        long[] waits = commands.waitsBefore(c, c.waits(), q, RectLayout.LENGTH);
        Rect r = RectChecks.read(rect.wrap(WaitList.payload(c, waits.length), 0), call,
                new RectChecks.Side("buffer " + buf.handle, buf.size, Status.OUT_OF_RANGE),
                new RectChecks.Side("heap range [" + heapOffset + ", +" + heapRange + ")", heapRange,
                        Status.HEAP_RANGE));
        commands.run(q, event, waits, () -> q.backend.memoryObjects().enqueueRect(q.handle, buf.handle, write, r,
                heapOffset, waits, event));
    }

    private void copyRect(MemoryCalls.BufferCopyRect c) throws CallException, BackendException {
        String call = "BUFFER_COPY_RECT";
        Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
        Entry src = handles.get(c.source(), Kind.BUFFER, "source buffer");
        Entry dst = handles.get(c.destination(), Kind.BUFFER, "destination buffer");
        ComputeCalls.sameBackend(q, src);
        ComputeCalls.sameBackend(q, dst);
        long event = commands.newEvent(c.event());
        long[] waits = commands.waitsBefore(c, c.waits(), q, RectLayout.LENGTH);
        Rect r = RectChecks.read(rect.wrap(WaitList.payload(c, waits.length), 0), call,
                new RectChecks.Side("source buffer " + src.handle, src.size, Status.OUT_OF_RANGE),
                new RectChecks.Side("destination buffer " + dst.handle, dst.size, Status.OUT_OF_RANGE));
        commands.run(q, event, waits, () -> q.backend.memoryObjects().enqueueCopyRect(q.handle, src.handle,
                dst.handle, r, waits, event));
    }
}
