package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.host.session.QuotaChecks;
import io.ferry.host.session.ServiceContext;
import io.ferry.protocol.ImageFormats;
import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.spi.BackendException;
import io.ferry.spi.Rect;
import java.lang.foreign.MemorySegment;

/**
 * The image and sampler calls of one session (IMAGE_CREATE, IMAGE_WRITE, IMAGE_READ, SAMPLER_CREATE), dispatched
 * by {@link MemoryObjectCalls}: read once, validated (sizes, formats, the pixel rectangle against the image and its
 * bytes against the heap range), then passed to the backend; the transfers run through {@link DeviceCommands#run} with their wait lists read by {@link EventGates#waits}. KERNEL_ARG_SAMPLER is
 * {@link KernelArgCalls}' (with the other kernel arguments' state).
 */
final class ImageCalls {
    /** Largest width or height of an image; depth at most {@link #MAX_DEPTH} (OpenCL's guaranteed minimums). */
    static final long MAX_SIDE = 65536, MAX_DEPTH = 2048;

    private final ServiceContext session;
    private final HandleTable handles;
    private final ComputeBackends backends;
    private final DeviceCommands commands;
    private final MemoryCalls.ImageCreate imageCreate = new MemoryCalls.ImageCreate();
    private final MemoryCalls.ImageWrite imageWrite = new MemoryCalls.ImageWrite();
    private final MemoryCalls.ImageRead imageRead = new MemoryCalls.ImageRead();
    private final MemoryCalls.SamplerCreate samplerCreate = new MemoryCalls.SamplerCreate();
    private final RectLayout rect = new RectLayout();

    ImageCalls(ServiceContext session, ComputeBackends backends, DeviceCommands commands) {
        this.session = session;
        this.handles = session.handles();
        this.backends = backends;
        this.commands = commands;
    }

    void serve(Op op, MemorySegment rec) throws CallException, BackendException {
        switch (op) {
            case IMAGE_CREATE -> create(imageCreate.wrap(rec, 0));
            case IMAGE_WRITE -> transfer(imageWrite.wrap(rec, 0), true);
            case IMAGE_READ -> transfer(imageRead.wrap(rec, 0), false);
            case SAMPLER_CREATE -> sampler(samplerCreate.wrap(rec, 0));
            default -> throw new IllegalStateException("not an image call: " + op);
        }
    }

    private void create(MemoryCalls.ImageCreate c) throws CallException, BackendException {
        long image = c.image();
        handles.checkNew(image, "image");
        Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
        long width = c.width();
        long height = c.height();
        long word = c.depth();
        long kind = ImageFormats.imageType(word);
        long depth = ImageFormats.depth(word);
        long order = c.channelOrder();
        long type = c.channelType();
        long access = c.access();
        if (width < 1 || width > MAX_SIDE || height < 1 || height > MAX_SIDE) {
            throw new CallException(Status.INVALID_ARGUMENT, "image of " + width + " x " + height
                    + " pixels: width and height must be 1.." + MAX_SIDE);
        }
        // each type in the form the transfers use: 1D as 2D of one row, a 1D array's layers as rows, a 2D array's
        // as slices (ImageFormats)
        String wrong = kind == ImageFormats.CL_MEM_OBJECT_IMAGE2D ? (depth == 0 ? null : "a 2D image has depth 0")
                : kind == ImageFormats.CL_MEM_OBJECT_IMAGE3D ? (depth >= 2 && depth <= MAX_DEPTH ? null
                        : "a 3D image's depth must be 2.." + MAX_DEPTH)
                : kind == ImageFormats.CL_MEM_OBJECT_IMAGE2D_ARRAY ? (depth >= 1 && depth <= MAX_DEPTH ? null
                        : "a 2D array's layers (the depth) must be 1.." + MAX_DEPTH)
                : kind == ImageFormats.CL_MEM_OBJECT_IMAGE1D ? (height == 1 && depth == 0 ? null
                        : "a 1D image has height 1 and depth 0")
                : kind == ImageFormats.CL_MEM_OBJECT_IMAGE1D_ARRAY ? (height <= MAX_DEPTH && depth == 0 ? null
                        : "a 1D array's layers (the height) must be 1.." + MAX_DEPTH + ", its depth 0")
                : null;
        if (wrong == null && (kind < ImageFormats.CL_MEM_OBJECT_IMAGE2D
                || kind > ImageFormats.CL_MEM_OBJECT_IMAGE1D_ARRAY)) {
            throw new CallException(Status.UNSUPPORTED, "image type 0x" + Long.toHexString(kind) + " (the depth "
                    + "word's bits 32-63) is not one Ferry carries: 2D, 3D, 1D, 1D array or 2D array (0x10F1..0x10F5; "
                    + "1D buffer images are not carried)");
        }
        if (wrong != null) {
            throw new CallException(Status.INVALID_ARGUMENT, ImageFormats.typeName(kind) + " image of " + width
                    + " x " + height + " x " + depth + " pixels: " + wrong);
        }
        int pixel = ImageFormats.pixelBytes(order, type);
        if (pixel == 0) {
            throw new CallException(Status.UNSUPPORTED, "image format (channel order 0x" + Long.toHexString(order)
                    + ", channel type 0x" + Long.toHexString(type) + ") is not one Ferry carries: use CL_R, CL_RG, "
                    + "CL_RGBA or CL_BGRA (8-bit types only) with CL_UNORM_INT8 .. CL_FLOAT");
        }
        if (access < 0 || access > 3) {
            throw new CallException(Status.INVALID_ARGUMENT, "image access " + access
                    + " is not one of 0 (read-write), 1 (read-only), 2 (write-only), 3 (read-write)");
        }
        long bytes = width * height * Math.max(depth, 1) * pixel; // at most 2^16 x 2^16 x 2^11 x 16: no overflow
        QuotaChecks.checkDeviceMemory(session.quotas(), backends.deviceMemoryBytes(), bytes);
        ctx.backend.memoryObjects().createImage(image, ctx.handle, (int) kind, width, height, depth, (int) order,
                (int) type, (int) access);
        Entry e = handles.put(image, Kind.IMAGE, ctx.backend, bytes, 0);
        e.device = ctx.device;
        e.image = new long[] {width, height, depth, pixel};
        backends.deviceMemoryChanged();
    }

    private void transfer(MemoryCalls.ImageTransfer<?> c, boolean write) throws CallException, BackendException {
        String call = write ? "IMAGE_WRITE" : "IMAGE_READ";
        Entry q = handles.get(c.queue(), Kind.QUEUE, "queue");
        Entry img = handles.get(c.image(), Kind.IMAGE, "image");
        ComputeCalls.sameBackend(q, img);
        long heapOffset = c.heapOffset();
        long heapRange = c.heapSize();
        commands.checkHeap(heapOffset, heapRange);
        long event = commands.newEvent(c.event());
        long[] waits = commands.waitsBefore(c, c.waits(), q, RectLayout.LENGTH);
        rect.wrap(WaitList.payload(c, waits.length), 0);
        long[] dims = img.image;
        long[] origin = new long[3];
        long[] region = new long[3];
        for (int i = 0; i < 3; i++) {
            origin[i] = rect.origin(RectLayout.A, i);
            region[i] = rect.region(i);
            long extent = i < 2 ? dims[i] : Math.max(dims[2], 1);
            // origin and region are each checked against the image's figure (at most 2^16): no overflow below
            if (origin[i] < 0 || region[i] < 1 || origin[i] > extent || region[i] > extent - origin[i]) {
                throw new CallException(Status.OUT_OF_RANGE, call + ": pixels [" + origin[i] + ", +" + region[i]
                        + ") in dimension " + i + " are outside image " + img.handle + " of " + dims[0] + " x "
                        + dims[1] + (dims[2] == 0 ? "" : " x " + dims[2]) + " pixels");
            }
        }
        if (rect.rowPitch(RectLayout.A) != 0 || rect.slicePitch(RectLayout.A) != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, call + ": the image side's pitches must be 0 (an image "
                    + "has no pitches a guest chooses)");
        }
        // the heap side in bytes: a row is region[0] pixels
        rect.region(0, region[0] * dims[3]);
        Rect bytes = RectChecks.read(rect, call, new RectChecks.Side("image", Long.MAX_VALUE, Status.OUT_OF_RANGE),
                new RectChecks.Side("heap range [" + heapOffset + ", +" + heapRange + ")", heapRange,
                        Status.HEAP_RANGE));
        long first = heapOffset + bytes.originB()[2] * bytes.slicePitchB() + bytes.originB()[1] * bytes.rowPitchB()
                + bytes.originB()[0];
        long row = bytes.rowPitchB();
        long slice = bytes.slicePitchB();
        commands.run(q, event, waits, () -> q.backend.memoryObjects().enqueueImage(q.handle, img.handle, write,
                origin, region, row, slice, first, waits, event));
    }

    private void sampler(MemoryCalls.SamplerCreate c) throws CallException, BackendException {
        long sampler = c.sampler();
        handles.checkNew(sampler, "sampler");
        Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
        long normalized = c.normalized();
        long addressing = c.addressing();
        long filter = c.filter();
        if ((normalized != 0 && normalized != 1) || !ImageFormats.knownAddressing(addressing)
                || !ImageFormats.knownFilter(filter)) {
            throw new CallException(Status.INVALID_ARGUMENT, "sampler: normalized " + normalized + " must be 0 or 1, "
                    + "addressing 0x" + Long.toHexString(addressing) + " one of 0x1130..0x1134 (CL_ADDRESS_*), filter 0x"
                    + Long.toHexString(filter) + " 0x1140 or 0x1141 (CL_FILTER_NEAREST, CL_FILTER_LINEAR)");
        }
        ctx.backend.memoryObjects().createSampler(sampler, ctx.handle, normalized == 1, (int) addressing,
                (int) filter);
        handles.put(sampler, Kind.SAMPLER, ctx.backend, 0, 0).device = ctx.device;
    }
}
