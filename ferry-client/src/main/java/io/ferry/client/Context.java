package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;

/** A device context: the scope of queues, buffers and programs on one device. */
public final class Context extends Remote {
    private final Device device;

    Context(Ferry ferry, long handle, Device device) {
        super(ferry, handle);
        this.device = device;
    }

    public Device device() {
        return device;
    }

    /** An in-order queue. */
    public CommandQueue createQueue() {
        return createQueue(false, 0);
    }

    /** An in-order queue; {@code profiling} records event times; {@code priority} is a hint (0 normal). */
    public CommandQueue createQueue(boolean profiling, int priority) {
        long h = ferry.newHandle();
        channel().oneWay(new Calls.QueueCreate(), true, c -> c.queue(h).context(handle)
                .queueFlags(profiling ? Wire.QUEUE_PROFILING : 0).priority(priority));
        return new CommandQueue(ferry, h, this);
    }

    /**
     * A queue as {@code options} say: out-of-order (refused with {@code UNSUPPORTED} where the device has none),
     * profiling, priority.
     */
    public CommandQueue createQueue(QueueOptions options) {
        long h = ferry.newHandle();
        channel().oneWay(new Calls.QueueCreate(), true, c -> c.queue(h).context(handle)
                .queueFlags((options.profiling() ? Wire.QUEUE_PROFILING : 0)
                        | (options.outOfOrder() ? Wire.QUEUE_OUT_OF_ORDER : 0))
                .priority(options.priority()));
        return new CommandQueue(ferry, h, this);
    }

    /** A user event of this context: the application completes or fails it ({@link UserEvent}). */
    public UserEvent createUserEvent() {
        long h = ferry.newHandle();
        channel().oneWay(new io.ferry.protocol.EventCalls.UserEventCreate(), true, c -> c.event(h).context(handle));
        return new UserEvent(ferry, h);
    }

    /** A device buffer of {@code size} bytes. */
    public DeviceBuffer createBuffer(long size) {
        return createBuffer(size, DeviceBuffer.Access.READ_WRITE);
    }

    public DeviceBuffer createBuffer(long size, DeviceBuffer.Access access) {
        if (size <= 0) {
            throw new FerryException(Status.INVALID_ARGUMENT, "buffer size " + size + " must be positive");
        }
        long h = ferry.newHandle();
        channel().oneWay(new Calls.BufferCreate(), true, c -> c.buffer(h).context(handle).size(size)
                .access(access.code()).heapOffset(-1L));
        return new DeviceBuffer(ferry, h, size);
    }

    /**
     * A buffer backed by heap memory, used in place where the device allows it (a CPU device reads and writes the
     * block directly). Keep the block open while the buffer lives (the buffer keeps it reachable).
     *
     * @throws IllegalStateException if the block is closed
     * @throws FerryException        UNSUPPORTED on a network connection (docs/network.md): the heap is not shared
     *                               memory there, so a buffer cannot live in it
     */
    public DeviceBuffer createBuffer(HeapBlock block, DeviceBuffer.Access access) {
        if (ferry.stream() != null) {
            throw new FerryException(Status.UNSUPPORTED, "a buffer in heap memory (createBuffer(HeapBlock, ...)) "
                    + "needs the host to share this guest's memory, which a network connection (" + ferry.stream()
                    .target() + ") does not: use createBuffer(size) and move data with CommandQueue.write/read or "
                    + "map (docs/network.md)", null, false);
        }
        long h = ferry.newHandle();
        long at = block.offset();
        channel().oneWay(new Calls.BufferCreate(), true, c -> c.buffer(h).context(handle).size(block.size())
                .access(access.code()).heapOffset(at));
        return new DeviceBuffer(ferry, h, block.size(), block);
    }

    /**
     * A 2D image of {@code width x height} pixels ({@code clCreateImage}); {@code access} as a buffer's. Fails with
     * {@code UNSUPPORTED} (at the next synchronous call) on a device without image support.
     */
    public Image createImage(Image.Format format, long width, long height, DeviceBuffer.Access access) {
        return MemoryCommands.image(this, format, width, height, 0, access);
    }

    /** A 3D image of {@code width x height x depth} pixels ({@code depth >= 2}). */
    public Image createImage(Image.Format format, long width, long height, long depth, DeviceBuffer.Access access) {
        return MemoryCommands.image(this, format, width, height, depth, access);
    }

    /** A sampler ({@code clCreateSampler}): normalized or pixel coordinates, addressing and filter. */
    public Sampler createSampler(boolean normalizedCoordinates, Sampler.Addressing addressing, Sampler.Filter filter) {
        long h = ferry.newHandle();
        channel().oneWay(new io.ferry.protocol.MemoryCalls.SamplerCreate(), true, c -> c.sampler(h).context(handle)
                .normalized(normalizedCoordinates ? 1 : 0).addressing(addressing.code).filter(filter.code));
        return new Sampler(ferry, h);
    }

    /** Sources up to this size travel in the call's record, larger ones through the heap. */
    static final int INLINE_SOURCE_MAX = 32 << 10;

    /** Creates and builds an OpenCL C program. */
    public Program buildProgram(String source) {
        return buildProgram(SourceLanguage.OPENCL_C, source, "");
    }

    public Program buildProgram(String source, String options) {
        return buildProgram(SourceLanguage.OPENCL_C, source, options);
    }

    /**
     * Creates and builds a program. A build failure throws {@link FerryException} with
     * {@link Status#BUILD_FAILED} whose message holds the compiler's log.
     */
    public Program buildProgram(SourceLanguage language, String source, String options) {
        if (!device.accepts(language)) {
            throw new FerryException(Status.UNSUPPORTED, device.name() + " accepts " + device.languages()
                    + ", not " + language);
        }
        long h = ferry.newHandle();
        byte[] text = Wire.utf8(source);
        // A source larger than a record carries goes through the heap (PROGRAM_CREATE_HEAP); the host copies it out
        // when it serves the call, so the block is free again once the build (a later synchronous call) is answered.
        HeapBlock staged = text.length > INLINE_SOURCE_MAX ? ferry.heap().allocate(text.length) : null;
        try {
            if (staged == null) {
                channel().oneWay(new Calls.ProgramCreate(), true, text,
                        c -> c.program(h).context(handle).language(language.code()));
            } else {
                staged.segment().copyFrom(MemorySegment.ofArray(text));
                channel().oneWay(new ProgramCalls.ProgramCreateHeap(), true, c -> c.program(h)
                        .context(handle).language(language.code()).heapOffset(staged.offset()).size(text.length));
            }
            Program p = new Program(ferry, h, device);
            try {
                p.log = channel().call(new Calls.ProgramBuild(), Wire.utf8(options == null ? "" : options),
                        c -> c.program(h)).text();
            } catch (FerryException e) {
                p.close();
                throw e;
            }
            return p;
        } finally {
            if (staged != null) {
                staged.close();
            }
        }
    }
}
