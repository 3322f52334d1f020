package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.ArgumentBindings;
import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The arguments of one CUDA kernel, packed the way {@code cuLaunchKernel} reads them.
 *
 * <pre>
 *   pointers (void*[count], 8 bytes each)        storage (each slot 16-byte aligned, size = parameter's size)
 *   ┌──────────────┐                             ┌────────────────────┬────────────────────┬───
 *   │ &amp;storage[o0] │ ──────────────────────────► │ param 0 (e.g. 8 B)  │ param 1 (e.g. 4 B) │ ...
 *   │ &amp;storage[o1] │ ─────────────────────────────────────────────────►│                    │
 *   │ ...          │                             └────────────────────┴────────────────────┴───
 *   └──────────────┘      o_i = {@link #layout}(sizes)[i]
 * </pre>
 *
 * {@code pointers} is the {@code kernelParams} array: entry i points at parameter i's bytes. The driver copies the
 * values when {@code cuLaunchKernel} is called, so both segments may be rewritten right after a launch.
 *
 * <p>Arguments, checked against the kernel's declared parameters (from its PTX, see {@link Ptx}):
 * <ul>
 * <li>a buffer → its {@code CUdeviceptr} (8 bytes); the parameter must be 8 bytes (a pointer);</li>
 * <li>a value → its bytes; the size must equal the parameter's size, else {@link Status#INVALID_KERNEL_ARGS}
 * naming the parameter;</li>
 * <li>a local memory size → CUDA has no local-memory parameters, so the bytes are carved out of the launch's
 * dynamic shared memory: the local arguments, in index order, each 16-byte aligned, make up
 * {@code sharedMemBytes}, and the parameter (which must be a 4- or 8-byte integer) receives the byte offset of its
 * part. The kernel declares {@code extern __shared__ char smem[]} and uses {@code smem + offset}.</li>
 * </ul>
 * Indices and local sizes arrive checked by the host (an index below {@link #count}, a positive local size that
 * fits an {@code int}).
 */
final class KernelParams {
    enum Kind { UNSET, VALUE, BUFFER, LOCAL }

    static final long SLOT_ALIGN = 16;
    static final long LOCAL_ALIGN = 16;

    final String kernelName;
    final List<Ptx.Param> params;
    final int count;
    final long[] offsets;
    /** The {@code kernelParams} array ({@code void*[count]}); NULL when the kernel has no parameters. */
    final MemorySegment pointers;
    final MemorySegment storage;
    private final Kind[] kinds;
    private final ArgumentBindings bindings;
    private final long[] localBytes;
    private int locals;

    KernelParams(String kernelName, List<Ptx.Param> params, Arena arena) {
        this.kernelName = kernelName;
        this.params = List.copyOf(params);
        this.count = params.size();
        long[] sizes = new long[count];
        for (int i = 0; i < count; i++) {
            sizes[i] = params.get(i).size();
        }
        this.offsets = layout(sizes);
        long total = count == 0 ? 0 : offsets[count - 1] + sizes[count - 1];
        this.storage = arena.allocate(Math.max(total, 1), SLOT_ALIGN);
        this.pointers = count == 0 ? MemorySegment.NULL : arena.allocate(JAVA_LONG, count);
        for (int i = 0; i < count; i++) {
            pointers.setAtIndex(JAVA_LONG, i, storage.address() + offsets[i]);
        }
        this.kinds = new Kind[count];
        java.util.Arrays.fill(kinds, Kind.UNSET);
        this.bindings = new ArgumentBindings(kernelName, "parameter", count);
        this.localBytes = new long[count];
    }

    /** Offsets of each parameter's slot in the storage: consecutive, each aligned to {@link #SLOT_ALIGN}. */
    static long[] layout(long[] sizes) {
        long[] out = new long[sizes.length];
        long at = 0;
        for (int i = 0; i < sizes.length; i++) {
            at = alignUp(at, SLOT_ALIGN);
            out[i] = at;
            at += sizes[i];
        }
        return out;
    }

    static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }

    /** {@code "kernel 'vadd' parameter 3 'vadd_param_3' (.u32, 4 bytes)"}. */
    String describe(int index) {
        Ptx.Param p = params.get(index);
        return "kernel '" + kernelName + "' parameter " + index + " '" + p.name() + "' (" + p.describe() + ")";
    }

    private static BackendException invalid(String message) {
        return new BackendException(Status.INVALID_KERNEL_ARGS, message);
    }

    /** Binds a buffer: writes its device pointer into the parameter's slot. */
    void setBuffer(int index, CuObject.Buffer buffer) throws BackendException {
        if (params.get(index).size() != 8) {
            throw invalid(describe(index) + " is not a pointer, but a buffer was passed: pass a value of "
                    + params.get(index).size() + " bytes");
        }
        storage.set(JAVA_LONG, offsets[index], buffer.dptr);
        mark(index, Kind.BUFFER, buffer);
    }

    /** Copies a by-value argument into the parameter's slot; its size must equal the parameter's. */
    void setValue(int index, MemorySegment value) throws BackendException {
        long size = params.get(index).size();
        if (value.byteSize() != size) {
            throw invalid(describe(index) + " takes " + size + (size == 1 ? " byte" : " bytes") + ", but a value of "
                    + value.byteSize() + " bytes was passed");
        }
        MemorySegment.copy(value, 0, storage, offsets[index], size);
        mark(index, Kind.VALUE, null);
    }

    /** A local memory argument: {@code bytes} of dynamic shared memory; the parameter receives its offset. */
    void setLocal(int index, long bytes) throws BackendException {
        Ptx.Param param = params.get(index);
        long size = param.size();
        if ((size != 4 && size != 8) || param.pointer() || param.type().startsWith("f")) {
            throw invalid(describe(index) + " cannot take a local memory size: on CUDA a local argument is passed as "
                    + "the byte offset of its part of the dynamic shared memory, so the parameter must be a 4- or "
                    + "8-byte integer (e.g. 'unsigned off' with extern __shared__ char smem[])");
        }
        mark(index, Kind.LOCAL, null);
        localBytes[index] = bytes;
    }

    private void mark(int index, Kind kind, CuObject.Buffer buffer) {
        bindings.markSet(index, buffer);
        if (kinds[index] == Kind.LOCAL) {
            locals--;
        }
        if (kind == Kind.LOCAL) {
            locals++;
        }
        kinds[index] = kind;
    }

    Kind kind(int index) {
        return kinds[index];
    }

    /**
     * Checks that every parameter is set and no bound buffer was released, writes each local argument's offset into
     * its slot, and returns the dynamic shared memory the launch needs, in bytes.
     */
    long prepareLaunch() throws BackendException {
        bindings.checkLaunch(this::describeBare);
        if (locals == 0) {
            return 0;
        }
        long shared = 0;
        for (int i = 0; i < count; i++) {
            if (kinds[i] == Kind.LOCAL) {
                shared = alignUp(shared, LOCAL_ALIGN);
                if (params.get(i).size() == 8) {
                    storage.set(JAVA_LONG, offsets[i], shared);
                } else {
                    storage.set(JAVA_INT, offsets[i], (int) shared);
                }
                shared += localBytes[i];
            }
        }
        return shared;
    }

    /** {@code "kernel 'vadd': parameters not set: 1 'b' (.u64, 8 bytes), 3 'n' (.u32, 4 bytes)"}. */
    String notSetMessage() {
        return bindings.notSetMessage(this::describeBare);
    }

    /** {@code "3 'n' (.u32, 4 bytes)"}. */
    private String describeBare(int index) {
        Ptx.Param p = params.get(index);
        return index + " '" + p.name() + "' (" + p.describe() + ")";
    }
}
