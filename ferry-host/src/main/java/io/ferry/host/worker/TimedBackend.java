package io.ferry.host.worker;

import io.ferry.protocol.SourceLanguage;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * In a worker that serves its guest's session: the real backend, with every wait for device work (finish, event
 * wait) and every program build announced in {@link ServeWords}, so the host's watchdog can stop a worker whose
 * kernel never ends or whose build runs past {@code compileTimeLimit}, as it did when it timed the worker's answers.
 */
public final class TimedBackend implements ComputeBackend {
    private final ComputeBackend backend;
    private final ServeWords words;
    private final long waitLimitNanos;
    private final long compileLimitNanos;

    /** {@code waitLimitNanos}: the limit of a device wait (0: none, where the scheduler times each command). */
    public TimedBackend(ComputeBackend backend, ServeWords words, long waitLimitNanos, long compileLimitNanos) {
        this.backend = backend;
        this.words = words;
        this.waitLimitNanos = waitLimitNanos;
        this.compileLimitNanos = compileLimitNanos;
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public List<DeviceInfo> devices() {
        return backend.devices();
    }

    @Override
    public String unavailableReason() {
        return backend.unavailableReason();
    }

    @Override
    public BackendSession openSession(String guest, MemorySegment heap) throws BackendException {
        return new Timed(backend.openSession(guest, heap));
    }

    @Override
    public void close() {
        backend.close();
    }

    private final class Timed implements BackendSession {
        private final BackendSession s;

        Timed(BackendSession s) {
            this.s = s;
        }

        @Override
        public void createContext(long context, int deviceIndex) throws BackendException {
            s.createContext(context, deviceIndex);
        }

        @Override
        public void createQueue(long queue, long context, boolean profiling, int priority) throws BackendException {
            s.createQueue(queue, context, profiling, priority);
        }

        @Override
        public void createBuffer(long buffer, long context, long size, int accessFlags, long heapOffset)
                throws BackendException {
            s.createBuffer(buffer, context, size, accessFlags, heapOffset);
        }

        @Override
        public void createProgram(long program, long context, SourceLanguage language, String source)
                throws BackendException {
            s.createProgram(program, context, language, source);
        }

        @Override
        public String buildProgram(long program, String options) throws BackendException {
            words.busy(compileLimitNanos, true);
            try {
                return s.buildProgram(program, options);
            } finally {
                words.idle();
            }
        }

        @Override
        public int createKernel(long kernel, long program, String name) throws BackendException {
            return s.createKernel(kernel, program, name);
        }

        @Override
        public void setKernelArgBuffer(long kernel, int index, long buffer) throws BackendException {
            s.setKernelArgBuffer(kernel, index, buffer);
        }

        @Override
        public void setKernelArgValue(long kernel, int index, MemorySegment value) throws BackendException {
            s.setKernelArgValue(kernel, index, value);
        }

        @Override
        public void setKernelArgLocal(long kernel, int index, long bytes) throws BackendException {
            s.setKernelArgLocal(kernel, index, bytes);
        }

        @Override
        public void enqueueWrite(long queue, long buffer, long offset, long size, long heapOffset, long event)
                throws BackendException {
            s.enqueueWrite(queue, buffer, offset, size, heapOffset, event);
        }

        @Override
        public void enqueueRead(long queue, long buffer, long offset, long size, long heapOffset, long event)
                throws BackendException {
            s.enqueueRead(queue, buffer, offset, size, heapOffset, event);
        }

        @Override
        public void enqueueCopy(long queue, long src, long dst, long srcOffset, long dstOffset, long size,
                                long event) throws BackendException {
            s.enqueueCopy(queue, src, dst, srcOffset, dstOffset, size, event);
        }

        @Override
        public void enqueueFill(long queue, long buffer, MemorySegment pattern, long offset, long size, long event)
                throws BackendException {
            s.enqueueFill(queue, buffer, pattern, offset, size, event);
        }

        @Override
        public void enqueueLaunch(long queue, long kernel, int dims, long[] offset, long[] global, long[] local,
                                  long event) throws BackendException {
            s.enqueueLaunch(queue, kernel, dims, offset, global, local, event);
        }

        @Override
        public void finish(long queue) throws BackendException {
            words.busy(waitLimitNanos);
            try {
                s.finish(queue);
            } finally {
                words.idle();
            }
        }

        @Override
        public long[] waitEvent(long event) throws BackendException {
            words.busy(waitLimitNanos);
            try {
                return s.waitEvent(event);
            } finally {
                words.idle();
            }
        }

        @Override
        public void release(long handle) throws BackendException {
            s.release(handle);
        }

        @Override
        public void callContext(long seq, int op, long firstArg) {
            s.callContext(seq, op, firstArg);
        }

        @Override
        public void sync() throws BackendException {
            s.sync();
        }

        @Override
        public List<DeferredFailure> drainFailures() {
            return s.drainFailures();
        }

        @Override
        public long deviceMemoryBytes() {
            return s.deviceMemoryBytes();
        }

        @Override
        public void close() {
            s.close();
        }
    }
}
