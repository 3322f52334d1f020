package io.ferry.cuda;

import io.ferry.protocol.SourceLanguage;
import io.ferry.spi.DeviceObject;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** A CUDA object held by a session under a client handle. */
abstract sealed class CuObject extends DeviceObject {
    final DeviceContext dc;

    CuObject(DeviceContext dc) {
        this.dc = dc;
    }

    /**
     * The one {@code CUcontext} of a session on one device, shared by all the guest's contexts on that device, with
     * the guest's heap registered in it (when registration succeeded).
     */
    static final class DeviceContext {
        final CudaDevice device;
        final long ctx;
        final int leastPriority;
        final int greatestPriority;
        /** The times of this context's events. */
        final EventClock clock;
        /** Whether the guest's heap is registered (pinned, mapped) in this context: {@link #heapView} is. */
        final boolean heapRegistered;
        /** The heap as this context copies from and to it: the heap, or a view of its own (see {@link HeapAlias}). */
        final MemorySegment heapView;

        DeviceContext(CudaDevice device, long ctx, int leastPriority, int greatestPriority, EventClock clock,
                boolean heapRegistered, MemorySegment heapView) {
            this.device = device;
            this.ctx = ctx;
            this.leastPriority = leastPriority;
            this.greatestPriority = greatestPriority;
            this.clock = clock;
            this.heapRegistered = heapRegistered;
            this.heapView = heapView;
        }
    }

    /** A guest context handle: names the shared device context. */
    static final class Context extends CuObject {
        Context(DeviceContext dc) {
            super(dc);
        }
    }

    static final class Queue extends CuObject {
        final long stream;
        final boolean profiling;
        final int priority;

        Queue(DeviceContext dc, long stream, boolean profiling, int priority) {
            super(dc);
            this.stream = stream;
            this.profiling = profiling;
            this.priority = priority;
        }
    }

    static final class Buffer extends CuObject {
        final long dptr;
        final long size;
        final boolean heapBacked;

        Buffer(DeviceContext dc, long dptr, long size, boolean heapBacked) {
            super(dc);
            this.dptr = dptr;
            this.size = size;
            this.heapBacked = heapBacked;
        }
    }

    static final class Program extends CuObject {
        final SourceLanguage language;
        final String source;
        long module;
        String ptx;
        List<Ptx.Entry> entries = List.of();
        /** Kernels made from this program: the module stays loaded until the program and they are released. */
        int kernels;

        Program(DeviceContext dc, SourceLanguage language, String source) {
            super(dc);
            this.language = language;
            this.source = source;
        }
    }

    static final class Kernel extends CuObject {
        final Program program;
        final long function;
        final KernelParams args;
        final int maxThreadsPerBlock;
        /** The kernel's static shared memory ({@code CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES}). */
        final int staticShared;
        /** The dynamic shared memory it may use now ({@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}). */
        int maxDynamicShared;

        Kernel(DeviceContext dc, Program program, long function, KernelParams args, int maxThreadsPerBlock,
                int staticShared, int maxDynamicShared) {
            super(dc);
            this.program = program;
            this.function = function;
            this.args = args;
            this.maxThreadsPerBlock = maxThreadsPerBlock;
            this.staticShared = staticShared;
            this.maxDynamicShared = maxDynamicShared;
        }
    }

    /** A completion event: {@code end} is recorded after the command; {@code start} before it on profiling queues. */
    static final class Event extends CuObject {
        final long start;
        final long end;
        /** The clock's anchor for {@code start} and {@code end}; null without timing. */
        final EventClock.Anchor anchor;

        Event(DeviceContext dc, long start, long end, EventClock.Anchor anchor) {
            super(dc);
            this.start = start;
            this.end = end;
            this.anchor = anchor;
        }
    }
}
