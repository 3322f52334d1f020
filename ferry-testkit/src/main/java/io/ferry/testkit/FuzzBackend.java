package io.ferry.testkit;

import io.ferry.host.session.Session;

import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A compute backend in plain Java memory for the fuzz targets: one device, buffers as byte arrays, one kernel
 * ({@code k(global uchar* a, global const uchar* b, uchar s)}: {@code a[0] = b[0] + s}), so fuzzed calls create
 * real objects and reach every check of the host's call decoding ({@code io.ferry.host.compute.ComputeCalls}), not only the handle lookup.
 *
 * <p>It is also the oracle of the SPI contract: "the host validates every handle, range and size before calling
 * a backend". Every call checks what the host promised (handles known and of the right kind, ranges inside the
 * buffer and the heap, argument indices below the kernel's count, launch shapes valid, event handles new) and
 * throws {@link FuzzTargets.Finding} when the host let something through. What a real device refuses (an argument
 * of the wrong kind, a launch with arguments unset, a kernel name it does not have) is a {@link BackendException}.
 */
final class FuzzBackend implements ComputeBackend {
    static final long GLOBAL_MEMORY = 64L << 20;

    @Override
    public String name() {
        return "fuzz";
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.of(new DeviceInfo(0, "fuzz device", "ferry", "1", DeviceType.GPU, GLOBAL_MEMORY, 32 << 10, 1, 256,
                List.of(SourceLanguage.OPENCL_C)));
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public BackendSession openSession(String guest, MemorySegment heap) {
        return new Session(heap);
    }

    private static FuzzTargets.Finding broken(String what) {
        return new FuzzTargets.Finding("the host passed the backend " + what);
    }

    private static final class Session implements BackendSession {
        private final MemorySegment heap;
        private final Map<Long, String> kinds = new HashMap<>();
        private final Map<Long, byte[]> buffers = new HashMap<>();
        private final Map<Long, Boolean> built = new HashMap<>();
        private final Map<Long, Object[]> kernelArgs = new HashMap<>();
        private long memory;

        Session(MemorySegment heap) {
            this.heap = heap;
        }

        private void create(long handle, String kind) {
            if (handle == 0 || kinds.containsKey(handle)) {
                throw broken("handle " + handle + " for a new " + kind + " while it names a " + kinds.get(handle));
            }
            kinds.put(handle, kind);
        }

        private void need(long handle, String kind) {
            if (!kind.equals(kinds.get(handle))) {
                throw broken(kind + " handle " + handle + ", which names " + kinds.get(handle));
            }
        }

        private byte[] buffer(long handle, long offset, long size) {
            need(handle, "buffer");
            byte[] b = buffers.get(handle);
            if (offset < 0 || size <= 0 || offset + size > b.length) {
                throw broken("range [" + offset + ", +" + size + ") of a " + b.length + "-byte buffer");
            }
            return b;
        }

        private MemorySegment heapRange(long offset, long size) {
            if (offset < 0 || size <= 0 || size > heap.byteSize() - offset) {
                throw broken("heap range [" + offset + ", +" + size + ") of a " + heap.byteSize() + "-byte heap");
            }
            return heap.asSlice(offset, size);
        }

        private void event(long queue, long event) {
            need(queue, "queue");
            if (event != 0) {
                create(event, "event");
            }
        }

        @Override
        public void createContext(long context, int deviceIndex) {
            if (deviceIndex != 0) {
                throw broken("device index " + deviceIndex + " of a backend with one device");
            }
            create(context, "context");
        }

        @Override
        public void createQueue(long queue, long context, boolean profiling, int priority) {
            need(context, "context");
            create(queue, "queue");
        }

        @Override
        public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset)
                throws BackendException {
            need(context, "context");
            if (size <= 0 || accessFlags < 0 || accessFlags > 3) {
                throw broken("buffer size " + size + ", access " + accessFlags);
            }
            if (heapOffset != -1) {
                heapRange(heapOffset, size);
            }
            if (memory + size > GLOBAL_MEMORY) {
                throw new BackendException(Status.OUT_OF_DEVICE_MEMORY, "fuzz device: " + size + " bytes more than "
                        + (GLOBAL_MEMORY - memory) + " free");
            }
            create(buffer, "buffer");
            buffers.put(buffer, new byte[(int) size]);
            memory += size;
        }

        @Override
        public void createProgram(long program, long context, SourceLanguage language, String source) {
            need(context, "context");
            if (source == null || source.isBlank()) {
                throw broken("an empty program source");
            }
            create(program, "program");
            built.put(program, !source.contains("#error"));
        }

        @Override
        public String buildProgram(long program, String options) throws BackendException {
            need(program, "program");
            if (!built.get(program) || options.contains("-Werror")) {
                built.put(program, false);
                throw new BackendException(Status.BUILD_FAILED, "fuzz device: #error in the source");
            }
            return "";
        }

        @Override
        public int createKernel(long kernel, long program, String name) throws BackendException {
            need(program, "program");
            if (!built.get(program) || !name.equals("k")) {
                throw new BackendException(Status.KERNEL_NOT_FOUND, "fuzz device: no kernel '" + name + "'");
            }
            create(kernel, "kernel");
            kernelArgs.put(kernel, new Object[3]);
            return 3;
        }

        private Object[] args(long kernel, int index) {
            need(kernel, "kernel");
            Object[] a = kernelArgs.get(kernel);
            if (index < 0 || index >= a.length) {
                throw broken("argument index " + index + " of a kernel of " + a.length);
            }
            return a;
        }

        @Override
        public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
            Object[] a = args(kernel, index);
            if (buffer != 0) { // 0: a NULL buffer argument, which OpenCL allows
                need(buffer, "buffer");
            }
            if (index == 2) {
                throw new BackendException(Status.INVALID_KERNEL_ARGS, "fuzz device: argument 2 is a uchar");
            }
            a[index] = buffer;
        }

        @Override
        public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
            Object[] a = args(kernel, index);
            if (value.byteSize() <= 0) {
                throw broken("a kernel argument value of " + value.byteSize() + " bytes");
            }
            if (index != 2 || value.byteSize() != 1) {
                throw new BackendException(Status.INVALID_KERNEL_ARGS, "fuzz device: argument " + index
                        + " takes " + (index == 2 ? "1 byte" : "a buffer") + ", not " + value.byteSize() + " bytes");
            }
            a[index] = value.get(ValueLayout.JAVA_BYTE, 0);
        }

        @Override
        public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
            args(kernel, index);
            if (bytes <= 0) {
                throw broken("local memory of " + bytes + " bytes");
            }
            throw new BackendException(Status.INVALID_KERNEL_ARGS, "fuzz device: kernel k has no local argument");
        }

        @Override
        public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event,
                                 long[] waits) throws BackendException {
            requireNoWaits(waits);
            byte[] b = buffer(buffer, offset, size);
            MemorySegment.copy(heapRange(heapOffset, size), ValueLayout.JAVA_BYTE, 0, b, (int) offset, (int) size);
            event(queue, event);
        }

        @Override
        public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event,
                                long[] waits) throws BackendException {
            requireNoWaits(waits);
            byte[] b = buffer(buffer, offset, size);
            MemorySegment.copy(b, (int) offset, heapRange(heapOffset, size), ValueLayout.JAVA_BYTE, 0, (int) size);
            event(queue, event);
        }

        @Override
        public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size,
                                long event, long[] waits) throws BackendException {
            requireNoWaits(waits);
            byte[] s = buffer(src, srcOffset, size);
            byte[] d = buffer(dst, dstOffset, size);
            System.arraycopy(s, (int) srcOffset, d, (int) dstOffset, (int) size);
            event(queue, event);
        }

        @Override
        public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event,
                                long[] waits) throws BackendException {
            requireNoWaits(waits);
            byte[] b = buffer(buffer, offset, size);
            long n = pattern.byteSize();
            if (n <= 0 || offset % n != 0 || size % n != 0) {
                throw broken("a fill of " + size + " bytes at " + offset + " with a " + n + "-byte pattern");
            }
            for (long i = 0; i < size; i++) {
                b[(int) (offset + i)] = pattern.get(ValueLayout.JAVA_BYTE, i % n);
            }
            event(queue, event);
        }

        @Override
        public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local,
                                  long event, long[] waits) throws BackendException {
            requireNoWaits(waits);
            need(queue, "queue");
            need(kernel, "kernel");
            if (dims < 1 || dims > 3 || global.length != dims || (offset != null && offset.length != dims)
                    || (local != null && local.length != dims)) {
                throw broken("a launch of " + dims + " dimensions with sizes of the wrong length");
            }
            for (int i = 0; i < dims; i++) {
                if (global[i] <= 0 || (offset != null && offset[i] < 0)
                        || (local != null && (local[i] <= 0 || global[i] % local[i] != 0))) {
                    throw broken("launch dimension " + i + ": global " + global[i] + ", local "
                            + (local == null ? "-" : local[i]));
                }
            }
            Object[] a = kernelArgs.get(kernel);
            for (int i = 0; i < a.length; i++) {
                if (a[i] == null) {
                    throw new BackendException(Status.INVALID_KERNEL_ARGS, "fuzz device: argument " + i + " not set");
                }
            }
            byte[] out = buffers.get((Long) a[0]);
            byte[] in = buffers.get((Long) a[1]);
            if (out == null || in == null) {
                throw new BackendException(Status.INVALID_KERNEL_ARGS, "fuzz device: a buffer argument was released");
            }
            out[0] = (byte) (in[0] + (Byte) a[2]);
            event(queue, event);
        }

        @Override
        public void finish(long queue) {
            need(queue, "queue");
        }

        @Override
        public long[] waitEvent(long event) {
            need(event, "event");
            return new long[] {1, 2};
        }

        @Override
        public void release(long handle) {
            String kind = kinds.remove(handle);
            if (kind == null) {
                throw broken("a release of handle " + handle + ", which names nothing");
            }
            byte[] b = buffers.remove(handle);
            if (b != null) {
                memory -= b.length;
            }
            built.remove(handle);
            kernelArgs.remove(handle);
        }

        @Override
        public long deviceMemoryBytes() {
            return memory;
        }

        @Override
        public void close() {
            kinds.clear();
            buffers.clear();
            memory = 0;
        }
    }
}
