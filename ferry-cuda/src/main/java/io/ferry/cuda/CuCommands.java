package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The queue commands of a {@link CudaSession}: transfers between the heap and device memory, copies, fills and
 * launches on the queue's stream, each optionally followed by a completion event (with a start event on profiling
 * queues), and waiting for queues and events.
 *
 * <p>Ranges arrive checked by the host: buffer ranges inside their buffers, heap ranges inside the heap, fill
 * patterns of 1..128 bytes (a power of two) dividing offset and size, launches of 1..3 dimensions. Heap addresses
 * come from {@link CudaSession#heapAddress}, bounds-checked by the FFM API first, so no copy is handed a host address
 * outside the heap (or outside the context's view of it). What only CUDA knows is checked here: objects of one device, offsets (CUDA has none), block and grid
 * limits and shared memory.
 */
final class CuCommands {
    private final CudaSession s;

    CuCommands(CudaSession session) {
        this.s = session;
    }

    void write(long queue, long buffer, long offset, long size, long heapOffset, long event) throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, s.object(buffer, CuObject.Buffer.class));
        long src = s.heapAddress(q.dc, heapOffset, size);
        s.bind(q.dc);
        long start = startEvent(q, event);
        int rc = CudaMemory.memcpyHtoDAsync(b.dptr + offset, src, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw s.exception("cuMemcpyHtoDAsync_v2", rc, size + " bytes from heap offset " + heapOffset);
        }
        endEvent(q, event, start);
    }

    void read(long queue, long buffer, long offset, long size, long heapOffset, long event) throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, s.object(buffer, CuObject.Buffer.class));
        long dst = s.heapAddress(q.dc, heapOffset, size);
        s.bind(q.dc);
        long start = startEvent(q, event);
        int rc = CudaMemory.memcpyDtoHAsync(dst, b.dptr + offset, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw s.exception("cuMemcpyDtoHAsync_v2", rc, size + " bytes to heap offset " + heapOffset);
        }
        endEvent(q, event, start);
    }

    void copy(long queue, long src, long dst, long srcOffset, long dstOffset, long size, long event)
            throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        CuObject.Buffer from = sameDevice(q, s.object(src, CuObject.Buffer.class));
        CuObject.Buffer to = sameDevice(q, s.object(dst, CuObject.Buffer.class));
        s.bind(q.dc);
        long start = startEvent(q, event);
        int rc = CudaMemory.memcpyDtoDAsync(to.dptr + dstOffset, from.dptr + srcOffset, size, q.stream);
        if (rc != 0) {
            destroyEvent(start);
            throw s.exception("cuMemcpyDtoDAsync_v2", rc, size + " bytes");
        }
        endEvent(q, event, start);
    }

    /**
     * Fills with a pattern of 1, 2 or 4 bytes by {@code cuMemsetD8/D16/D32Async}; a longer pattern that repeats a
     * 4-byte word likewise; any other pattern (8..128 bytes) by copying it into the buffer once and doubling it with
     * device-to-device copies (the one host-to-device copy of the pattern waits for the queue, since the pattern
     * lives in scratch memory).
     */
    void fill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
            throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        CuObject.Buffer b = sameDevice(q, s.object(buffer, CuObject.Buffer.class));
        long n = pattern.byteSize();
        MemorySegment values = s.values;
        MemorySegment.copy(pattern, 0, values, 0, n);
        s.bind(q.dc);
        long start = startEvent(q, event);
        long dst = b.dptr + offset;
        int rc;
        String fn;
        if (n == 1) {
            fn = "cuMemsetD8Async";
            rc = CudaMemory.memsetD8Async(dst, values.get(JAVA_BYTE, 0), size, q.stream);
        } else if (n == 2) {
            fn = "cuMemsetD16Async";
            rc = CudaMemory.memsetD16Async(dst, values.get(JAVA_SHORT, 0), size / 2, q.stream);
        } else if (repeatsWord(values, n)) {
            fn = "cuMemsetD32Async";
            rc = CudaMemory.memsetD32Async(dst, values.get(JAVA_INT, 0), size / 4, q.stream);
        } else {
            fn = "cuMemcpyHtoDAsync_v2";
            rc = CudaMemory.memcpyHtoDAsync(dst, values.address(), n, q.stream);
            if (rc == 0) {
                fn = "cuStreamSynchronize";
                rc = Cuda.streamSynchronize(q.stream);
            }
            for (long filled = n; rc == 0 && filled < size; ) {
                long chunk = Math.min(filled, size - filled);
                fn = "cuMemcpyDtoDAsync_v2";
                rc = CudaMemory.memcpyDtoDAsync(dst + filled, dst, chunk, q.stream);
                filled += chunk;
            }
        }
        if (rc != 0) {
            destroyEvent(start);
            throw s.exception(fn, rc, "fill of " + size + " bytes with a " + n + "-byte pattern");
        }
        endEvent(q, event, start);
    }

    private static boolean repeatsWord(MemorySegment pattern, long n) {
        int word = pattern.get(JAVA_INT, 0);
        for (long i = 4; i < n; i += 4) {
            if (pattern.get(JAVA_INT, i) != word) {
                return false;
            }
        }
        return n >= 4;
    }

    void launch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local, long event)
            throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        CuObject.Kernel k = s.object(kernel, CuObject.Kernel.class);
        if (k.dc != q.dc) {
            throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + k.args.kernelName
                    + "' and the queue belong to different devices");
        }
        if (offset != null) {
            for (long o : offset) {
                if (o != 0) {
                    throw new BackendException(Status.UNSUPPORTED, "kernel '" + k.args.kernelName + "': CUDA has no "
                            + "global offsets; add the offset in the kernel (pass it as an argument)");
                }
            }
        }
        LaunchGeometry g = LaunchGeometry.of(k.args.kernelName, dims, global, local, q.dc.device.limits(),
                k.maxThreadsPerBlock);
        long shared = k.args.prepareLaunch();
        int optIn = LaunchGeometry.sharedOptIn(k.args.kernelName, k.staticShared, shared,
                q.dc.device.maxSharedPerBlock(), k.maxDynamicShared);
        s.bind(q.dc);
        if (optIn > 0) {
            // More than the default 48 KiB: the kernel must opt in to the larger dynamic shared memory first.
            int rc = CudaModules.funcSetAttribute(k.function, Cuda.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, optIn);
            if (rc != 0) {
                throw s.exception("cuFuncSetAttribute", rc, "kernel '" + k.args.kernelName + "': opting in to "
                        + optIn + " bytes of dynamic shared memory");
            }
            k.maxDynamicShared = optIn;
        }
        long start = startEvent(q, event);
        int rc = CudaModules.launchKernel(k.function, g.grid()[0], g.grid()[1], g.grid()[2], g.block()[0],
                g.block()[1], g.block()[2], (int) shared, q.stream, k.args.pointers);
        if (rc != 0) {
            destroyEvent(start);
            throw s.exception("cuLaunchKernel", rc, "kernel '" + k.args.kernelName + "' grid "
                    + Arrays.toString(g.grid()) + " block " + Arrays.toString(g.block())
                    + (shared > 0 ? " shared " + shared + " bytes" : ""));
        }
        endEvent(q, event, start);
    }

    void finish(long queue) throws BackendException {
        CuObject.Queue q = s.object(queue, CuObject.Queue.class);
        s.bind(q.dc);
        int rc = Cuda.streamSynchronize(q.stream);
        if (rc != 0) {
            throw s.exception("cuStreamSynchronize", rc, "finishing the queue");
        }
    }

    long[] waitEvent(long event) throws BackendException {
        CuObject.Event e = s.object(event, CuObject.Event.class);
        s.bind(e.dc);
        int rc = Cuda.eventSynchronize(e.end);
        if (rc != 0) {
            throw s.exception("cuEventSynchronize", rc, "waiting for event " + event);
        }
        long[] times = new long[2];
        if (e.start != 0 && e.anchor != null) {
            long t0 = e.dc.clock.nanos(e.anchor, e.start);
            long t1 = e.dc.clock.nanos(e.anchor, e.end);
            if (t0 >= 0 && t1 >= 0) {
                times[0] = t0;
                times[1] = t1;
            }
        }
        return times;
    }

    // ---- events ----

    /** On a profiling queue with an event requested: a timing event recorded before the command; else 0. */
    private long startEvent(CuObject.Queue q, long event) throws BackendException {
        if (event == 0 || !q.profiling) {
            return 0;
        }
        long e = newEvent(Cuda.CU_EVENT_DEFAULT);
        int rc = Cuda.eventRecord(e, q.stream);
        if (rc != 0) {
            Cuda.eventDestroy(e);
            throw s.exception("cuEventRecord", rc, "start of event " + event);
        }
        return e;
    }

    private void endEvent(CuObject.Queue q, long event, long start) throws BackendException {
        if (event == 0) {
            return;
        }
        long e;
        try {
            e = newEvent(q.profiling ? Cuda.CU_EVENT_DEFAULT : Cuda.CU_EVENT_DISABLE_TIMING);
        } catch (BackendException ex) {
            destroyEvent(start);
            throw ex;
        }
        int rc = Cuda.eventRecord(e, q.stream);
        if (rc != 0) {
            Cuda.eventDestroy(e);
            destroyEvent(start);
            throw s.exception("cuEventRecord", rc, "event " + event);
        }
        EventClock.Anchor anchor = null;
        if (start != 0) {
            try {
                anchor = q.dc.clock.take(System.nanoTime());
            } catch (BackendException ex) {
                Cuda.eventDestroy(e);
                destroyEvent(start);
                throw ex;
            }
        }
        s.keep(event, new CuObject.Event(q.dc, start, e, anchor));
    }

    private long newEvent(int flags) throws BackendException {
        int rc = Cuda.eventCreate(s.slot, flags);
        if (rc != 0) {
            throw s.exception("cuEventCreate", rc, null);
        }
        return s.slot.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
    }

    static void destroyEvent(long e) {
        if (e != 0) {
            Cuda.eventDestroy(e);
        }
    }

    private static CuObject.Buffer sameDevice(CuObject.Queue q, CuObject.Buffer b) throws BackendException {
        if (b.dc != q.dc) {
            throw new BackendException(Status.INVALID_ARGUMENT, "the buffer and the queue belong to different devices");
        }
        return b;
    }
}
