package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import java.lang.foreign.MemorySegment;

/**
 * The kernel-argument calls: KERNEL_ARG_BUFFER (a buffer, an image or NULL), KERNEL_ARG_VALUE, KERNEL_ARG_LOCAL and
 * KERNEL_ARG_SAMPLER. Each is validated here, then
 * set by the backend; its outcome is kept in the kernel's {@link KernelArgState}: a failed set marks the argument (the
 * LAUNCH that follows names this call as the cause), a {@code __local} size is kept for the launch's local-memory
 * check. A {@code __local} size over the device's local memory is refused here and never reaches the backend (a
 * device given one may crash its worker).
 */
final class KernelArgCalls {
    /** Largest by-value kernel argument (OpenCL guarantees 1 KiB of arguments in all). */
    static final int MAX_ARG_VALUE = 1024;

    private final HandleTable handles;
    private final CallRecord any = new CallRecord();
    private final Calls.KernelArgBuffer argBuffer = new Calls.KernelArgBuffer();
    private final Calls.KernelArgValue argValue = new Calls.KernelArgValue();
    private final Calls.KernelArgLocal argLocal = new Calls.KernelArgLocal();
    private final MemoryCalls.KernelArgSampler argSampler = new MemoryCalls.KernelArgSampler();

    KernelArgCalls(HandleTable handles) {
        this.handles = handles;
    }

    /** Serves KERNEL_ARG_* call {@code seq}. */
    void serve(Op op, MemorySegment rec, long seq) throws CallException, BackendException {
        CallRecord c = any.wrap(rec, 0);
        Entry k = handles.get(c.arg(0), Kind.KERNEL, "kernel");
        int index = argIndex(k, c.arg(1));
        KernelArgState state = KernelArgState.of(k);
        try {
            long local = set(op, rec, k, index, state);
            state.set(index, k.argCount, local);
        } catch (CallException e) {
            state.failed(index, k.argCount, new CallFailure(seq, op, e.status(), e.getMessage()));
            throw e;
        } catch (BackendException e) {
            state.failed(index, k.argCount, new CallFailure(seq, op, e.status(), e.getMessage(), e.nativeError()));
            throw e;
        }
    }

    /** Sets the argument; returns its {@code __local} size, or 0. */
    private long set(Op op, MemorySegment rec, Entry k, int index, KernelArgState state)
            throws CallException, BackendException {
        switch (op) {
            case KERNEL_ARG_BUFFER -> {
                long b = argBuffer.wrap(rec, 0).buffer();
                if (b == 0) { // a NULL buffer
                    k.backend.setKernelArgBuffer(k.handle, index, 0);
                    return 0;
                }
                Entry buf = memoryArgument(b);
                ComputeCalls.sameBackend(k, buf);
                k.backend.setKernelArgBuffer(k.handle, index, buf.handle);
                return 0;
            }
            case KERNEL_ARG_SAMPLER -> {
                Entry s = handles.get(argSampler.wrap(rec, 0).sampler(), Kind.SAMPLER, "sampler");
                ComputeCalls.sameBackend(k, s);
                k.backend.memoryObjects().setKernelArgSampler(k.handle, index, s.handle);
                return 0;
            }
            case KERNEL_ARG_VALUE -> {
                var c = argValue.wrap(rec, 0);
                int n = c.blobLength();
                if (n <= 0 || n > MAX_ARG_VALUE) {
                    throw new CallException(Status.INVALID_KERNEL_ARGS, "argument " + index + " value of " + n
                            + " bytes: a by-value argument takes 1.." + MAX_ARG_VALUE + " bytes");
                }
                k.backend.setKernelArgValue(k.handle, index, c.blob());
                return 0;
            }
            case KERNEL_ARG_LOCAL -> {
                long bytes = argLocal.wrap(rec, 0).bytes();
                if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
                    throw new CallException(Status.INVALID_KERNEL_ARGS, "argument " + index + ": local memory size "
                            + bytes + " must be positive");
                }
                Devices.Device d = state.device;
                long has = d == null ? 0 : d.info().localMemoryBytes();
                if (has > 0 && bytes > has) {
                    throw new CallException(Status.INVALID_ARGUMENT, state.describe() + " argument " + index
                            + ": __local size of " + bytes + " bytes exceeds the local memory of device " + d.index()
                            + " '" + d.info().name() + "' (" + has + " bytes, Device.localMemoryBytes()); use a "
                            + "smaller work-group tile");
                }
                k.backend.setKernelArgLocal(k.handle, index, bytes);
                return bytes;
            }
            default -> throw new IllegalStateException("not a kernel argument call: " + op);
        }
    }

    /** A kernel's memory argument: a buffer or an image of this session. */
    private Entry memoryArgument(long handle) throws CallException {
        Entry e = handles.find(handle);
        return e != null && e.kind == Kind.IMAGE ? e : handles.get(handle, Kind.BUFFER, "buffer");
    }

    static int argIndex(Entry kernel, long index) throws CallException {
        if (index < 0 || index >= kernel.argCount) {
            throw new CallException(Status.INVALID_KERNEL_ARGS, "argument index " + index + " is out of range: the "
                    + "kernel has " + kernel.argCount + " argument" + (kernel.argCount == 1 ? "" : "s"));
        }
        return (int) index;
    }
}
